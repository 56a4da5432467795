"""A campaign's A/B test run: the variants' sends when its occurrence is released, the winner's step
(a durable timer) at the test period's end, and the figures GetCampaign shows.

Each part of the audience is a send of its own, restricted to its hash range
(:mod:`kernel.engage.campaigns.ab_test`), with a request id derived from the occurrence's: a run
repeated after a crash, or a second kernel running a timer whose lease ran out, finds the sends the
first run created. The winner's step holds the campaign's row and the test's row locked while it
decides, and decides only a test without a winner: it is chosen once, and the remainder is sent once
(the choice is committed first, so that a step repeated after a crash sends the winner it recorded).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from herald.v1 import campaigns_pb2 as pb
from kernel.delivery.send_definition import MAX_NAME_LENGTH
from kernel.delivery.send_feedback import feedback_tallies
from kernel.delivery.slices import send_counts
from kernel.engage.campaigns import ab_store, store
from kernel.engage.campaigns.ab_store import AbTestRow
from kernel.engage.campaigns.ab_test import layout, variant_campaign, winner
from kernel.engage.campaigns.content import send_request
from kernel.engage.campaigns.schedule import ONCE
from kernel.engage.campaigns.sending import CampaignSender
from kernel.engage.campaigns.store import CampaignRow
from kernel.engage.campaigns.views import campaign_of, occurrence_key
from kernel.errors import HeraldError
from kernel.scheduler import Job, finish, is_pending, pending, schedule
from kernel.stats.conversions import conversions
from kernel.stats.figures import Figures

log = logging.getLogger(__name__)

#: The scheduler's kind for an A/B test's winner step; its key is its occurrence's timer key.
AB_WINNER = "campaign.ab_winner"


@dataclass(frozen=True, slots=True)
class VariantFigures:
    figures: Figures
    converted: int
    #: The test's metric.
    value: float


def campaign_of_job(job: Job) -> uuid.UUID:
    """A campaign timer's key starts with the campaign id."""
    return uuid.UUID(job.key.split("/", 1)[0])


async def release_test(
    conn: asyncpg.Connection, sender: CampaignSender, job: Job, campaign: pb.Campaign, request_id: str
) -> tuple[uuid.UUID | None, str | None]:
    """The occurrence's variant sends and its winner's timer: the first variant's send id (the
    occurrence's), or why CreateSend refused one."""
    campaign_id = campaign_of_job(job)
    test = campaign.ab_test
    parts = layout(campaign_id, test)
    send_ids = []
    for index, variant in enumerate(test.variants):
        name = f"{campaign.name} [{variant.name}]"[:MAX_NAME_LENGTH]
        request = send_request(variant_campaign(campaign, index), name, f"{request_id}:variant:{index}")
        try:
            answer = await sender.create(job.project_id, request, share=parts.variants[index])
        except HeraldError as error:
            log.error("A/B test %s: variant %d created no send: %s", job.key, index, error)
            return None, f"ab_test.variants[{index}]: {error}"
        send_ids.append(uuid.UUID(answer.message.send_id))
    holdout = await ab_store.holdout_profiles(conn, job.project_id, send_ids[0], parts.holdout)
    decide_at = job.due_at + test.test_period.ToTimedelta()
    await ab_store.insert(
        conn, job.project_id, campaign_id, occurrence_key(job.key), send_ids, holdout, decide_at
    )
    await schedule(
        conn, job.project_id, AB_WINNER, job.key, decide_at, {"request_id": f"{request_id}:winner"}
    )
    return send_ids[0], None


async def deciding(conn: asyncpg.Connection, project_id: uuid.UUID, job_prefix: str) -> bool:
    """Whether a winner's step of the campaign (``job_prefix``: its timers' key prefix) is still to run."""
    return bool((await pending(conn, project_id, AB_WINNER, [job_prefix]))[job_prefix])


class WinnerStep:
    """The scheduler's handler for :data:`AB_WINNER`: choose the winner, send it to the remainder."""

    def __init__(self, pool: asyncpg.Pool, sender: CampaignSender) -> None:
        self._pool = pool
        self._sender = sender

    async def __call__(self, job: Job) -> None:
        campaign_id = campaign_of_job(job)
        key = occurrence_key(job.key)
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                row = await self._running(conn, job, campaign_id)
                if row is None:
                    return
                tested = await ab_store.read(conn, job.project_id, campaign_id, key, lock=True)
                if tested is None:
                    return
                campaign = campaign_of(row)
                chosen = tested.winner
                if chosen is None:
                    chosen = await self._choose(conn, job, campaign, tested)
            # The choice is committed before the remainder's send exists: a run repeated after a crash
            # sends the winner this run chose (its request id then finds the send already made).
            async with conn.transaction():
                if await self._running(conn, job, campaign_id) is None:
                    return
                remainder = await self._remainder(job, campaign_id, campaign, chosen)
                await ab_store.record_remainder(conn, job.project_id, campaign_id, key, remainder)
                await finish(conn, job)
                await store.set_state(conn, job.project_id, campaign_id, "completed")

    @staticmethod
    async def _running(conn: asyncpg.Connection, job: Job, campaign_id: uuid.UUID) -> CampaignRow | None:
        """The campaign, locked, if its winner's step is still to run (not cancelled, not run)."""
        row = await store.lock(conn, job.project_id, campaign_id)
        if row is None or row.state != "running" or not await is_pending(conn, job):
            log.info("A/B test %s: its winner's step was dropped or run before", job.key)
            return None
        return row

    @staticmethod
    async def _choose(conn: asyncpg.Connection, job: Job, campaign: pb.Campaign, tested: AbTestRow) -> int:
        measured = await variant_figures(conn, job.project_id, campaign.ab_test, tested.variant_send_ids)
        values = [variant.value for variant in measured]
        chosen = winner(values)
        await ab_store.decide(
            conn, job.project_id, campaign_of_job(job), occurrence_key(job.key), chosen, values
        )
        log.info("A/B test %s: %r won on %s", job.key, campaign.ab_test.variants[chosen].name, values)
        return chosen

    async def _remainder(
        self, job: Job, campaign_id: uuid.UUID, campaign: pb.Campaign, chosen: int
    ) -> uuid.UUID | None:
        """The send of the rest of the audience with the winner's content; None when no one is left, or
        when CreateSend refuses it (logged)."""
        share = layout(campaign_id, campaign.ab_test).remainder
        if share.hi <= share.lo:
            return None
        request = send_request(variant_campaign(campaign, chosen), campaign.name, job.payload["request_id"])
        try:
            answer = await self._sender.create(job.project_id, request, share=share)
        except HeraldError as error:
            log.error("A/B test %s: the winner's send was refused: %s", job.key, error)
            return None
        return uuid.UUID(answer.message.send_id)


async def variant_figures(
    conn: asyncpg.Connection | asyncpg.Pool,
    project_id: uuid.UUID,
    test: pb.AbTest,
    send_ids: Sequence[uuid.UUID],
) -> list[VariantFigures]:
    """Each variant's send's figures now, with the test's metric, in the variants' order."""
    figures = {send_id: Figures() for send_id in send_ids}
    for send_id, counts in (await send_counts(conn, project_id, send_ids)).items():
        figures[send_id].add_counters(counts.counters)
    for tally in await feedback_tallies(conn, project_id, send_ids, hourly=False):
        figures[tally.send_id].add_tally(tally)
    converted = dict.fromkeys(send_ids, 0)
    if test.metric == pb.WINNER_METRIC_CONVERSION_RATE:
        window = test.conversion_window.ToTimedelta()
        converted = await conversions(conn, project_id, send_ids, test.conversion_event, window)
    return [
        VariantFigures(
            figures[send_id], converted[send_id], _value(test, figures[send_id], converted[send_id])
        )
        for send_id in send_ids
    ]


def _value(test: pb.AbTest, figures: Figures, converted: int) -> float:
    if test.metric == pb.WINNER_METRIC_OPEN_RATE:
        return figures.open_rate
    if test.metric == pb.WINNER_METRIC_CLICK_RATE:
        return figures.click_rate
    return converted / figures.sent if figures.sent else 0.0


async def show_result(
    conn: asyncpg.Connection | asyncpg.Pool, project_id: uuid.UUID, campaign: pb.Campaign
) -> None:
    """Set ``campaign.ab_result`` (a campaign with a test): its variants' figures, holdout and winner."""
    if not campaign.HasField("ab_test"):
        return
    test = campaign.ab_test
    result = campaign.ab_result
    for variant in test.variants:
        result.variants.add(name=variant.name)
    tested = await ab_store.read(conn, project_id, uuid.UUID(campaign.campaign_id), ONCE)
    if tested is None:
        return
    _show_decision(result, tested)
    measured = await variant_figures(conn, project_id, test, tested.variant_send_ids)
    for shown, send_id, variant in zip(result.variants, tested.variant_send_ids, measured, strict=True):
        figures = variant.figures
        shown.send_id = str(send_id)
        shown.sent, shown.delivered = figures.sent, figures.delivered
        shown.opened, shown.clicked, shown.converted = figures.opened, figures.clicked, variant.converted
        shown.metric_value = variant.value
    for shown, value in zip(result.variants, tested.chosen_values or (), strict=False):
        shown.chosen_value = value


def _show_decision(result: pb.AbTestResult, tested: AbTestRow) -> None:
    result.holdout_profiles = tested.holdout_profiles
    result.decision_due_time.FromDatetime(tested.decide_at)
    if tested.winner is not None and tested.decided_at is not None:
        result.winner = result.variants[tested.winner].name
        result.decision_time.FromDatetime(tested.decided_at)
    if tested.remainder_send_id is not None:
        result.remainder_send_id = str(tested.remainder_send_id)
