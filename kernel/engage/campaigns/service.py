"""Campaigns as the API sees them: drafts written and checked, scheduled, cancelled, read, listed, tested.

Every state change locks the campaign row, and so does an occurrence's run
(:mod:`kernel.engage.campaigns.occurrences`): a cancel or an update never interleaves with a release.
Scheduling stores the first occurrences as timers; the scheduler loop of any kernel runs them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from herald.v1 import campaigns_pb2 as pb
from herald.v1 import messages_pb2
from kernel.delivery.send_definition import MAX_NAME_LENGTH
from kernel.engage.campaigns import store
from kernel.engage.campaigns.ab import AB_WINNER, show_result
from kernel.engage.campaigns.ab_test import check_ab_test, contents
from kernel.engage.campaigns.content import send_request
from kernel.engage.campaigns.schedule import plan
from kernel.engage.campaigns.sending import CampaignSender
from kernel.engage.campaigns.store import CampaignRow
from kernel.engage.campaigns.views import STATES, campaign_of, definition_of, to_message
from kernel.errors import FailedPrecondition, InvalidArgument, NotFound
from kernel.projects import Projects
from kernel.request_ids import Answer, check_request_id
from kernel.scheduler import Scheduler, drop_pending, pending, schedule
from kernel.stats.goals import check_goal

#: The scheduler's kind for a campaign occurrence; its key is "<campaign id>/<occurrence key>".
OCCURRENCE = "campaign.occurrence"
#: The fields UpdateCampaign changes (paths of Campaign).
UPDATABLE = frozenset(
    {
        "name",
        "all_reachable",
        "profiles",
        "segments",
        "channels",
        "purpose",
        "pacing",
        "unpaced",
        "domains",
        "require_opt_in",
        "schedule",
        "channel_priority",
        "campaign_data",
        "ab_test",
        "conversion_event",
        "conversion_window",
    }
)
MAX_TEST_PROFILES = 1000
_STATE_NAMES = {number: name for name, number in STATES.items()}


def campaign_id_of(text: str, field: str = "campaign_id") -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise InvalidArgument("must be a UUID", field) from None


def job_prefix(campaign_id: uuid.UUID) -> str:
    return f"{campaign_id}/"


class Campaigns:
    def __init__(
        self,
        pool: asyncpg.Pool,
        sender: CampaignSender,
        projects: Projects,
        scheduler: Scheduler,
    ) -> None:
        self._pool = pool
        self._sender = sender
        self._projects = projects
        self._scheduler = scheduler

    async def create(self, project_id: uuid.UUID, request: pb.CreateCampaignRequest) -> Answer[pb.Campaign]:
        client_key = check_request_id(request.request_id) or None
        await self._check(project_id, request.campaign)
        definition = definition_of(request.campaign)
        row = await store.insert(
            self._pool, project_id, uuid.uuid4(), client_key, request.campaign.name, definition
        )
        if row is not None:
            return Answer(to_message(row))
        assert client_key is not None
        first = await store.of_request(self._pool, project_id, client_key)
        if first is None:
            raise NotFound("the campaign of this request_id was deleted", "request_id")
        return Answer(await self._read(self._pool, project_id, first), replayed=True)

    async def update(self, project_id: uuid.UUID, request: pb.UpdateCampaignRequest) -> pb.Campaign:
        campaign_id = campaign_id_of(request.campaign.campaign_id, "campaign.campaign_id")
        if not request.update_mask.paths:
            raise InvalidArgument("name the fields to change", "update_mask")
        for index, path in enumerate(request.update_mask.paths):
            if path not in UPDATABLE:
                raise InvalidArgument(
                    f"{path!r} is not a field UpdateCampaign changes", f"update_mask.paths[{index}]"
                )
        async with self._pool.acquire() as conn, conn.transaction():
            row = await self._lock(conn, project_id, campaign_id, "campaign.campaign_id")
            if row.state not in ("draft", "scheduled"):
                raise FailedPrecondition(f"the campaign is {row.state}", "campaign.campaign_id")
            campaign = campaign_of(row)
            request.update_mask.MergeMessage(
                request.campaign, campaign, replace_message_field=True, replace_repeated_field=True
            )
            await self._check(project_id, campaign)
            await store.store_definition(
                conn, project_id, campaign_id, campaign.name, definition_of(campaign)
            )
            if row.state == "scheduled":
                await drop_pending(conn, project_id, OCCURRENCE, job_prefix(campaign_id))
                await self._plan_first(conn, project_id, campaign_id, campaign)
            answer = await self._read(conn, project_id, await self._lock(conn, project_id, campaign_id))
        self._scheduler.wake()
        return answer

    async def schedule(self, project_id: uuid.UUID, campaign_id: str) -> pb.Campaign:
        identifier = campaign_id_of(campaign_id)
        async with self._pool.acquire() as conn, conn.transaction():
            row = await self._lock(conn, project_id, identifier)
            if row.state == "draft":
                await self._plan_first(conn, project_id, identifier, campaign_of(row))
                await store.set_state(conn, project_id, identifier, "scheduled")
            elif row.state != "scheduled":
                raise FailedPrecondition(f"the campaign is {row.state}", "campaign_id")
            answer = await self._read(conn, project_id, await self._lock(conn, project_id, identifier))
        self._scheduler.wake()
        return answer

    async def cancel(self, project_id: uuid.UUID, campaign_id: str) -> pb.Campaign:
        identifier = campaign_id_of(campaign_id)
        async with self._pool.acquire() as conn, conn.transaction():
            row = await self._lock(conn, project_id, identifier)
            if row.state == "completed":
                raise FailedPrecondition("the campaign is completed", "campaign_id")
            if row.state != "cancelled":
                await drop_pending(conn, project_id, OCCURRENCE, job_prefix(identifier))
                await drop_pending(conn, project_id, AB_WINNER, job_prefix(identifier))
                await store.set_state(conn, project_id, identifier, "cancelled")
            return await self._read(conn, project_id, await self._lock(conn, project_id, identifier))

    async def get(self, project_id: uuid.UUID, campaign_id: str) -> pb.Campaign:
        """The campaign, its occurrences and its timers read in one snapshot: read apart, an occurrence
        released between two reads showed beside the state it had before."""
        identifier = campaign_id_of(campaign_id)
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            row = await store.read(conn, project_id, identifier)
            if row is None:
                raise NotFound("no such campaign in this project", "campaign_id")
            return await self._read(conn, project_id, row)

    async def list(
        self, project_id: uuid.UUID, states: list[int], size: int, after: tuple[datetime, uuid.UUID] | None
    ) -> list[CampaignRow]:
        """Rows rather than messages: the caller pages them (one more than ``size``)."""
        names = []
        for index, state in enumerate(states):
            if state not in _STATE_NAMES:
                raise InvalidArgument("not a campaign state", f"states[{index}]")
            names.append(_STATE_NAMES[state])
        return await store.page(self._pool, project_id, size, names, after)

    async def send_test(
        self, project_id: uuid.UUID, request: pb.SendTestCampaignRequest
    ) -> messages_pb2.Send:
        identifier = campaign_id_of(request.campaign_id)
        if not request.profiles.profiles:
            raise InvalidArgument("list at least one profile", "profiles.profiles")
        if len(request.profiles.profiles) > MAX_TEST_PROFILES:
            raise InvalidArgument(f"at most {MAX_TEST_PROFILES} profiles", "profiles.profiles")
        row = await store.read(self._pool, project_id, identifier)
        if row is None:
            raise NotFound("no such campaign in this project", "campaign_id")
        campaign = campaign_of(row)
        name = f"test: {campaign.name}"[:MAX_NAME_LENGTH]
        answer = await self._sender.create(
            project_id, send_request(campaign, name, audience=request.profiles)
        )
        return answer.message

    async def _check(self, project_id: uuid.UUID, campaign: pb.Campaign) -> None:
        try:
            check_ab_test(campaign)
            check_goal(campaign)
            for path, content in contents(campaign):
                try:
                    await self._sender.check(project_id, content)
                except InvalidArgument as error:
                    raise (error.within(path) if path else error) from None
            if campaign.HasField("schedule"):
                zone = (await self._projects.get(project_id)).timezone
                plan(campaign.schedule, zone, datetime.now(UTC), "schedule")
        except InvalidArgument as error:
            raise error.within("campaign") from None

    async def _plan_first(
        self, conn: asyncpg.Connection, project_id: uuid.UUID, campaign_id: uuid.UUID, campaign: pb.Campaign
    ) -> None:
        if not campaign.HasField("schedule"):
            raise FailedPrecondition("the campaign has no schedule", "schedule")
        zone = (await self._projects.get(project_id)).timezone
        occurrences = plan(campaign.schedule, zone, datetime.now(UTC), "schedule").first
        if not occurrences:
            raise FailedPrecondition("the schedule has no occurrence left", "schedule")
        for occurrence in occurrences:
            key = f"{job_prefix(campaign_id)}{occurrence.key}"
            await schedule(conn, project_id, OCCURRENCE, key, occurrence.due_at, occurrence.payload)

    @staticmethod
    async def _lock(
        conn: asyncpg.Connection, project_id: uuid.UUID, campaign_id: uuid.UUID, field: str = "campaign_id"
    ) -> CampaignRow:
        row = await store.lock(conn, project_id, campaign_id)
        if row is None:
            raise NotFound("no such campaign in this project", field)
        return row

    @staticmethod
    async def _read(
        conn: asyncpg.Connection | asyncpg.Pool, project_id: uuid.UUID, row: CampaignRow
    ) -> pb.Campaign:
        released = await store.occurrences(conn, project_id, row.campaign_id)
        planned = await pending(conn, project_id, OCCURRENCE, [job_prefix(row.campaign_id)])
        campaign = to_message(row, released, planned[job_prefix(row.campaign_id)])
        await show_result(conn, project_id, campaign)
        return campaign
