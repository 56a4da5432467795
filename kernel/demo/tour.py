"""The demo's steps, each through Herald's public API as a user's own code would call it: a project and
its key, the customers imported (``herald import``'s client), their history tracked (``TrackEvents``),
segments, saved templates, an A/B campaign on email and push, its winner, and its statistics printed and
drawn as ``herald campaigns stats|report`` do."""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

import grpc
from google.protobuf import duration_pb2

from herald.v1 import (
    campaigns_pb2,
    campaigns_pb2_grpc,
    common_pb2,
    messages_pb2,
    messages_pb2_grpc,
    profiles_pb2,
    profiles_pb2_grpc,
    projects_pb2,
    projects_pb2_grpc,
    segments_pb2,
    segments_pb2_grpc,
    templates_pb2,
    templates_pb2_grpc,
)
from kernel.cli_campaign_stats import show_campaign_stats, write_campaign_report
from kernel.client import Connection
from kernel.demo import population
from kernel.demo.content import CAMPAIGN_DATA, SEGMENTS, template
from kernel.importer import run_import
from kernel.key_sources import FoundKey

#: The channels the offer goes out on: (channel, its content's kind in content.OFFERS).
CHANNELS = (("email.sparkpost", "email"), ("push.apns", "push"), ("push.fcm", "push"))
#: The A/B test's parts of the audience: held out (never sent), and split between the variants.
HOLDOUT = 0.05
TEST_FRACTION = 0.3
#: Events per TrackEvents call, and calls in flight at once.
EVENT_BATCH = 1000
EVENT_CALLS = 4
#: How often the demo asks for news while it waits, and how long it goes without printing the same.
POLL_SECONDS = 1.0
QUIET_SECONDS = 10.0


class DemoFailed(Exception):
    """A step could not be done; the message says which and why."""


@dataclass(frozen=True, slots=True)
class TourOptions:
    customers: int
    test_period: timedelta
    #: Where the demo keeps its files (the import file, the project's key).
    folder: Path
    report: Path


class Tour:
    """One run of the demo against the kernel at ``address``; ``say`` prints a progress line and
    ``settled`` returns once the providers' reports about a project's messages so far are applied."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        address: str,
        admin_key: str,
        options: TourOptions,
        say: Callable[[str], None],
        settled: Callable[[uuid.UUID], Awaitable[None]],
    ) -> None:
        self._channel = channel
        self._address = address
        self._admin = (("authorization", f"Bearer {admin_key}"),)
        self._options = options
        self._say = say
        self._settled = settled
        self.project_id = uuid.UUID(int=0)
        self.api_key = ""

    @property
    def _auth(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.api_key}"),)

    async def run(self) -> str:
        """Every step; returns the campaign's id."""
        await self.create_project()
        now = datetime.now(UTC)
        people = population.customers(self._options.customers, now)
        await self.import_customers(people)
        await self.track_history(population.events(people, now))
        audience = await self.define_segments()
        variants = await self.save_templates()
        campaign_id = await self.start_campaign(audience, variants)
        result = await self.wait_for_winner(campaign_id)
        await self.wait_for_sends([*(v.send_id for v in result.variants), result.remainder_send_id])
        await self.show_statistics(campaign_id)
        return campaign_id

    async def create_project(self) -> None:
        name = f"Demo {datetime.now(UTC):%Y-%m-%d %H:%M:%S}"
        settings = projects_pb2.ProjectSettings(timezone="Europe/Paris", default_language="en")
        project = await projects_pb2_grpc.ProjectServiceStub(self._channel).CreateProject(
            projects_pb2.CreateProjectRequest(name=name, settings=settings), metadata=self._admin
        )
        self.project_id = uuid.UUID(project.project_id)
        self.api_key = project.initial_api_key.secret
        key_file = self._options.folder / "demo-api-key"
        key_file.touch(mode=0o600)
        key_file.write_text(self.api_key + "\n")
        self._say(f'project "{name}" created: {self.project_id} (its API key is in {key_file})')

    async def import_customers(self, people: list[population.Customer]) -> None:
        path = self._options.folder / "customers.jsonl"
        population.write_import_file(people, path)
        self._say(f"importing {len(people):,} customers from {path} (herald import):")
        if await run_import(path, self.api_key, self._address, "jsonl") != 0:
            raise DemoFailed(f"the import of {path} did not import every customer (see above)")

    async def track_history(self, events: Iterator[profiles_pb2.TrackedEvent]) -> None:
        stub = profiles_pb2_grpc.ProfileServiceStub(self._channel)
        accepted = 0
        in_flight: set[asyncio.Task[profiles_pb2.TrackEventsResponse]] = set()
        for batch in _batches(events, EVENT_BATCH):
            if len(in_flight) >= EVENT_CALLS:
                done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                accepted += sum(task.result().accepted for task in done)
            request = profiles_pb2.TrackEventsRequest(events=batch)
            in_flight.add(asyncio.ensure_future(stub.TrackEvents(request, metadata=self._auth)))
        accepted += sum(reply.accepted for reply in await asyncio.gather(*in_flight))
        weeks = population.HISTORY / timedelta(weeks=1)
        self._say(f"tracked {accepted:,} events over the last {weeks:g} weeks (TrackEvents)")

    async def define_segments(self) -> segments_pb2.SegmentSelection:
        """The two segments, counted; the campaign's audience is the first without the second."""
        stub = segments_pb2_grpc.SegmentServiceStub(self._channel)
        ids = []
        for name, condition in SEGMENTS.items():
            segment = await stub.CreateSegment(
                segments_pb2.CreateSegmentRequest(
                    segment=segments_pb2.Segment(name=name, condition=condition)
                ),
                metadata=self._auth,
            )
            target = segments_pb2.SegmentTarget(segment_id=segment.segment_id)
            counted = await stub.CountSegment(
                segments_pb2.CountSegmentRequest(target=target), metadata=self._auth
            )
            self._say(f'segment "{name}": {counted.count:,} customers')
            ids.append(segment.segment_id)
        included, excluded = ids
        return segments_pb2.SegmentSelection(include_segment_ids=[included], exclude_segment_ids=[excluded])

    async def save_templates(self) -> dict[str, dict[str, str]]:
        """Each variant's saved templates: variant -> kind ("email", "push") -> template id."""
        stub = templates_pb2_grpc.TemplateServiceStub(self._channel)
        saved: dict[str, dict[str, str]] = {}
        for variant in ("A", "B"):
            for kind in ("email", "push"):
                created = await stub.CreateTemplate(
                    templates_pb2.CreateTemplateRequest(template=template(variant, kind)), metadata=self._auth
                )
                saved.setdefault(variant, {})[kind] = created.template_id
                self._say(f'template "{created.name}" saved, in {", ".join(sorted(created.languages))}')
        return saved

    async def start_campaign(
        self, audience: segments_pb2.SegmentSelection, variants: dict[str, dict[str, str]]
    ) -> str:
        period = duration_pb2.Duration()
        period.FromTimedelta(self._options.test_period)
        test = campaigns_pb2.AbTest(
            variants=[
                campaigns_pb2.CampaignVariant(
                    name=name,
                    share=0.5,
                    channels=[
                        campaigns_pb2.CampaignChannel(
                            channel=channel,
                            saved_template=messages_pb2.TemplateRef(template_id=templates[kind]),
                        )
                        for channel, kind in CHANNELS
                    ],
                )
                for name, templates in variants.items()
            ],
            holdout_share=HOLDOUT,
            test_fraction=TEST_FRACTION,
            test_period=period,
            metric=campaigns_pb2.WINNER_METRIC_OPEN_RATE,
        )
        stub = campaigns_pb2_grpc.CampaignServiceStub(self._channel)
        draft = await stub.CreateCampaign(
            campaigns_pb2.CreateCampaignRequest(
                campaign=campaigns_pb2.Campaign(
                    name="Comeback offer",
                    segments=audience,
                    purpose=common_pb2.PURPOSE_MARKETING,
                    unpaced=True,
                    schedule=campaigns_pb2.CampaignSchedule(now=campaigns_pb2.SendNow()),
                    campaign_data=CAMPAIGN_DATA,
                    ab_test=test,
                )
            ),
            metadata=self._auth,
        )
        await stub.ScheduleCampaign(
            campaigns_pb2.ScheduleCampaignRequest(campaign_id=draft.campaign_id), metadata=self._auth
        )
        seconds = self._options.test_period.total_seconds()
        self._say(
            f"A/B campaign {draft.campaign_id} started on {', '.join(channel for channel, _ in CHANNELS)}:"
            f" variants A and B to {TEST_FRACTION:.0%} of the audience, {HOLDOUT:.0%} held out, the winner on"
            f" open rate after {seconds:g} s"
        )
        return draft.campaign_id

    async def wait_for_winner(self, campaign_id: str) -> campaigns_pb2.AbTestResult:
        """Poll the campaign until its test has a winner and the rest of the audience its send (the
        campaign is then COMPLETED), printing the variants' figures as they come."""
        stub = campaigns_pb2_grpc.CampaignServiceStub(self._channel)
        request = campaigns_pb2.GetCampaignRequest(campaign_id=campaign_id)
        printed, last = 0.0, ""
        campaign = await stub.GetCampaign(request, metadata=self._auth)
        while campaign.state != campaigns_pb2.CAMPAIGN_STATE_COMPLETED:
            if campaign.state == campaigns_pb2.CAMPAIGN_STATE_CANCELLED:
                raise DemoFailed(f"the campaign {campaign_id} was cancelled before its winner was chosen")
            result = campaign.ab_result
            if result.HasField("decision_due_time") and not result.winner:
                news = _variants(result)
                if news != last or time.monotonic() - printed >= QUIET_SECONDS:
                    printed, last = time.monotonic(), news
                    left = max(0.0, result.decision_due_time.ToDatetime(UTC).timestamp() - time.time())
                    self._say(f"waiting for the winner ({left:.0f} s left): {news}")
            await asyncio.sleep(POLL_SECONDS)
            campaign = await stub.GetCampaign(request, metadata=self._auth)
        result = campaign.ab_result
        values = ", ".join(f"{variant.name} {variant.chosen_value:.1%}" for variant in result.variants)
        self._say(
            f"winner: {result.winner} (open rate {values}); the rest of the audience gets {result.winner}"
        )
        return result

    async def wait_for_sends(self, send_ids: Iterable[str]) -> None:
        """Until every send of the campaign ended and the providers' reports about them are applied."""
        stub = messages_pb2_grpc.MessageServiceStub(self._channel)
        for send_id in filter(None, send_ids):
            request = messages_pb2.GetSendRequest(send_id=send_id)
            send = await stub.GetSend(request, metadata=self._auth)
            while send.state == messages_pb2.SEND_STATE_RUNNING:
                await asyncio.sleep(POLL_SECONDS)
                send = await stub.GetSend(request, metadata=self._auth)
        await self._settled(self.project_id)
        self._say("every message sent, and the providers' reports received")

    async def show_statistics(self, campaign_id: str) -> None:
        """The campaign's table and report, by ``herald campaigns stats`` and ``report`` themselves (blocking
        clients: run beside this loop, which serves them)."""
        with grpc.insecure_channel(self._address) as channel:
            connection = Connection(channel, self._address, FoundKey(self.api_key, "the demo project"))
            print(f"\n$ herald campaigns stats {campaign_id}", flush=True)
            stats = argparse.Namespace(campaign_id=campaign_id, csv=None)
            await asyncio.to_thread(show_campaign_stats, connection, stats)
            print(flush=True)
            report = argparse.Namespace(
                campaign_id=campaign_id, output=self._options.report, title="Herald demo"
            )
            await asyncio.to_thread(write_campaign_report, connection, report)


def _variants(result: campaigns_pb2.AbTestResult) -> str:
    return "; ".join(
        f"{v.name}: sent {v.sent:,}, delivered {v.delivered:,}, opened {v.opened:,}" for v in result.variants
    )


def _batches(
    events: Iterator[profiles_pb2.TrackedEvent], size: int
) -> Iterator[list[profiles_pb2.TrackedEvent]]:
    while batch := list(islice(events, size)):
        yield batch
