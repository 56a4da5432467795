"""A/B tests: deterministic assignment, the variants' sends, the holdout, the winner chosen once on the
providers' feedback (SparkPost's emulator, its webhooks posted to the kernel), and the remainder sent the
winner only, once, with two kernels deciding at once."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import grpc
import pytest
from google.protobuf import duration_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from herald.v1 import campaigns_pb2 as pb
from herald.v1 import (
    channels_pb2,
    channels_pb2_grpc,
    common_pb2,
    messages_pb2,
    profiles_pb2,
    stats_pb2,
    stats_pb2_grpc,
)
from kernel.delivery.audience_share import SHARE_SQL, share_of
from kernel.engage.campaigns.ab_test import layout
from kernel.server import RunningServer
from tests.conftest import SPARKPOST, ProjectKey, field_violations, rpc_error
from tests.delivery.support import completed, person
from tests.engage.conftest import other_kernel
from tests.engage.support import campaign, emails_of, released, wait_for_campaign

PEOPLE = 60
#: Each id's part: how far its observed share may stray from the range's width, over IDS ids.
IDS = 4000
TOLERANCE = 0.04


def variant(name: str, share: float, subject: str) -> pb.CampaignVariant:
    template = messages_pb2.MessageTemplate(subject=subject, html=f"<p>{subject}</p>")
    return pb.CampaignVariant(
        name=name, share=share, channels=[pb.CampaignChannel(channel=SPARKPOST, template=template)]
    )


def ab_test(**fields: Any) -> pb.AbTest:
    fields.setdefault("variants", [variant("A", 0.5, "Offer A"), variant("B", 0.5, "Offer B")])
    fields.setdefault("holdout_share", 0.2)
    fields.setdefault("test_fraction", 0.4)
    fields.setdefault("test_period", duration_pb2.Duration(seconds=1))
    fields.setdefault("metric", pb.WINNER_METRIC_CLICK_RATE)
    return pb.AbTest(**fields)


def part_of(campaign_id: uuid.UUID, test: pb.AbTest, profile_id: uuid.UUID) -> str:
    """Where the test's layout puts the profile: "holdout", a variant's name, or "remainder"."""
    parts = layout(campaign_id, test)
    place = share_of(parts.holdout.seed, profile_id)
    if place < parts.holdout.hi:
        return "holdout"
    for tested, share in zip(test.variants, parts.variants, strict=True):
        if share.lo <= place < share.hi:
            return tested.name
    return "remainder"


@hypothesis_settings(max_examples=30)
@given(
    weights=st.lists(st.integers(1, 10), min_size=2, max_size=5),
    holdout=st.sampled_from([0.0, 0.1, 0.25]),
    fraction=st.sampled_from([0.2, 0.5, 0.75]),
)
def test_each_profile_lands_in_one_part_always_the_same_and_the_shares_are_respected(
    weights: list[int], holdout: float, fraction: float
) -> None:
    total = sum(weights)
    test = ab_test(
        variants=[variant(f"v{i}", weight / total, "x") for i, weight in enumerate(weights)],
        holdout_share=holdout,
        test_fraction=fraction,
    )
    campaign_id = uuid.uuid4()
    ids = [uuid.uuid4() for _ in range(IDS)]
    parts = [part_of(campaign_id, test, profile_id) for profile_id in ids]
    # A re-run (the layout computed again, the ids in another order) puts each id where it was.
    assert [part_of(campaign_id, test, profile_id) for profile_id in reversed(ids)] == parts[::-1]
    counted = Counter(parts)
    expected = {"holdout": holdout, "remainder": 1.0 - holdout - fraction}
    expected |= {f"v{i}": fraction * weight / total for i, weight in enumerate(weights)}
    for name, share in expected.items():
        assert abs(counted[name] / IDS - share) <= TOLERANCE, (name, counted[name], share)


async def test_the_database_places_a_profile_where_python_does(db: asyncpg.Pool) -> None:
    seed = f"{uuid.uuid4()}:"
    ids = [uuid.uuid4() for _ in range(200)]
    query = f"SELECT {SHARE_SQL.format(seed='$1::text', profile='id')} FROM unnest($2::uuid[]) AS id"
    assert [row[0] for row in await db.fetch(query, seed, ids)] == [share_of(seed, id_) for id_ in ids]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"variants": [variant("A", 0.5, "a"), variant("B", 0.4, "b")]}, "campaign.ab_test.variants"),
        ({"variants": [variant("A", 1.0, "a")]}, "campaign.ab_test.variants"),
        ({"variants": [variant("A", 0.5, "a"), variant("A", 0.5, "b")]}, "campaign.ab_test.variants[1].name"),
        ({"holdout_share": 1.0}, "campaign.ab_test.holdout_share"),
        ({"test_fraction": 0.9}, "campaign.ab_test.test_fraction"),
        ({"test_period": duration_pb2.Duration()}, "campaign.ab_test.test_period"),
        ({"metric": pb.WINNER_METRIC_UNSPECIFIED}, "campaign.ab_test.metric"),
        ({"metric": pb.WINNER_METRIC_CONVERSION_RATE}, "campaign.ab_test.conversion_event"),
        (
            {
                "variants": [
                    variant("A", 0.5, "a"),
                    pb.CampaignVariant(name="B", share=0.5, channels=[pb.CampaignChannel(channel=SPARKPOST)]),
                ]
            },
            "campaign.ab_test.variants[1].channels[0].template",
        ),
    ],
)
async def test_a_test_that_cannot_run_is_refused_naming_its_field(
    campaigns, configured: ProjectKey, change: dict[str, Any], field: str
) -> None:
    request = pb.CreateCampaignRequest(campaign=campaign(channels=[], ab_test=ab_test(**change)))
    error = await rpc_error(campaigns.CreateCampaign(request, metadata=configured.auth))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [path for path, _ in field_violations(error)] == [field]


async def test_a_recurring_campaign_cannot_hold_a_test(campaigns, configured: ProjectKey) -> None:
    recurring = pb.CampaignSchedule(recurring=pb.Recurrence(cron="0 9 * * *"))
    request = pb.CreateCampaignRequest(campaign=campaign(channels=[], ab_test=ab_test(), schedule=recurring))
    error = await rpc_error(campaigns.CreateCampaign(request, metadata=configured.auth))
    assert [path for path, _ in field_violations(error)] == ["campaign.schedule"]


async def post_feedback(
    server: RunningServer, channel: grpc.aio.Channel, project: ProjectKey, sparkpost: Any, events: list[Any]
) -> None:
    """SparkPost's webhook batch, posted to the project's webhook URL with its credentials."""
    config = await channels_pb2_grpc.ChannelServiceStub(channel).GetChannelConfig(
        channels_pb2.GetChannelConfigRequest(channel=SPARKPOST), metadata=project.auth
    )
    credentials = config.webhook.credentials
    url = f"http://127.0.0.1:{server.webhooks.port}{config.webhook.path}"
    auth = (credentials["auth_credentials.username"], credentials["auth_credentials.password"])
    assert await sparkpost.post_events(url, events, auth=auth) == 200
    await server.kernel.webhook_queue.drain(project.project_id)


@dataclass
class Started:
    """An A/B campaign whose variants' sends completed, its winner not chosen yet."""

    campaign_id: str
    found: pb.Campaign
    #: Each person's email -> its part ("holdout", a variant's name or "remainder").
    part: dict[str, str]
    #: Each variant's send id -> the emulator's records of its messages.
    records: dict[str, list[dict[str, Any]]]


async def start_test(
    server: RunningServer,
    campaigns: Any,
    messages: Any,
    project: ProjectKey,
    sparkpost: Any,
    profiles: Any,
    test: pb.AbTest,
) -> Started:
    """PEOPLE people, and the campaign released by one poll of the session kernel's (quiet) scheduler:
    its variants' sends, and the winner's timer, which that poll does not run."""
    people = {
        uuid.UUID(await person(profiles, project, f"p{i}", email=f"p{i}@example.com")): f"p{i}@example.com"
        for i in range(PEOPLE)
    }
    created = await campaigns.CreateCampaign(
        pb.CreateCampaignRequest(
            campaign=campaign(channels=[], ab_test=test, schedule=pb.CampaignSchedule(now=pb.SendNow()))
        ),
        metadata=project.auth,
    )
    await campaigns.ScheduleCampaign(
        pb.ScheduleCampaignRequest(campaign_id=created.campaign_id), metadata=project.auth
    )
    await server.kernel.scheduler.run_due()
    found = await wait_for_campaign(campaigns, project, created.campaign_id, lambda c: bool(released(c)))
    assert found.state == pb.CAMPAIGN_STATE_RUNNING and not found.ab_result.winner
    send_ids = [shown.send_id for shown in found.ab_result.variants]
    assert released(found)[0].send_id == send_ids[0]
    for send_id in send_ids:
        await completed(messages, project, send_id)
    part = {email: part_of(uuid.UUID(created.campaign_id), test, pid) for pid, email in people.items()}
    for shown, send_id in zip(test.variants, send_ids, strict=True):
        assert sorted(emails_of(sparkpost, send_id)) == sorted(e for e, p in part.items() if p == shown.name)
    records = {
        send_id: [r for r in sparkpost.accepted if r["herald_message_id"][:18] == send_id[:18]]
        for send_id in send_ids
    }
    return Started(created.campaign_id, found, part, records)


async def test_the_variant_with_more_clicks_wins_and_only_it_reaches_the_rest_once_with_two_kernels(
    server: RunningServer,
    channel: grpc.aio.Channel,
    campaigns,
    messages,
    configured: ProjectKey,
    sparkpost: Any,
    worker: Any,
    profiles: Any,
    settings: Any,
    quiet_session_scheduler: None,
    db: asyncpg.Pool,
) -> None:
    started = await start_test(server, campaigns, messages, configured, sparkpost, profiles, ab_test())
    part, records = started.part, started.records
    sent_a, sent_b = records
    assert started.found.ab_result.holdout_profiles == Counter(part.values())["holdout"] > 0

    # Everyone delivered; each of B's recipients clicks, one of A's does (when A has two or more).
    events = [sparkpost.event("delivery", r) for rs in records.values() for r in rs]
    events += [sparkpost.event("click", r) for r in records[sent_b]]
    events += [sparkpost.event("click", r) for r in records[sent_a][:1] if len(records[sent_a]) > 1]
    await post_feedback(server, channel, configured, sparkpost, events)

    # The test period is over: two kernels poll at once, one decides.
    async with other_kernel(settings), other_kernel(settings):
        decided = await wait_for_campaign(
            campaigns, configured, started.campaign_id, lambda c: c.state == pb.CAMPAIGN_STATE_COMPLETED
        )
    result = decided.ab_result
    assert result.winner == "B"
    a, b = result.variants
    assert (b.clicked, b.chosen_value) == (len(records[sent_b]), 1.0)
    assert a.chosen_value < b.chosen_value and a.delivered == len(records[sent_a])
    remainder = await completed(messages, configured, result.remainder_send_id)
    rest = emails_of(sparkpost, remainder.send_id)
    assert sorted(rest) == sorted(e for e, p in part.items() if p == "remainder")
    assert {r["subject"] for r in sparkpost.accepted if r["email"] in rest} == {"Offer B"}

    # Each profile at most once across the test and the remainder; the holdout never.
    received = Counter(r["email"] for r in sparkpost.accepted)
    assert set(received.values()) == {1}
    assert set(received) == {e for e, p in part.items() if p != "holdout"}
    # A third kernel finds nothing left: one send of the remainder, ever.
    async with other_kernel(settings) as third:
        await third.kernel.scheduler.run_due()
    winner_sends = await db.fetchval(
        "SELECT count(*) FROM sends WHERE project_id = $1 AND client_key LIKE $2",
        configured.project_id,
        f"campaign:{started.campaign_id}:%:winner",
    )
    assert winner_sends == 1

    # The campaign's statistics: per variant, its test send and (the winner) the remainder's.
    stats = await stats_pb2_grpc.StatsServiceStub(channel).GetCampaignStats(
        stats_pb2.GetCampaignStatsRequest(campaign_id=started.campaign_id), metadata=configured.auth
    )
    sent = {variant.variant: variant.total.figures.sent for variant in stats.variants}
    assert sent == {"A": len(records[sent_a]), "B": len(records[sent_b]) + len(rest)}
    assert [(o.variant, o.send_id) for o in stats.occurrences] == [
        ("A", sent_a),
        ("B", sent_b),
        ("B", result.remainder_send_id),
    ]
    assert stats.campaign.total.figures.sent == sum(received.values())


async def test_the_variant_whose_recipients_buy_within_the_window_wins_on_conversions(
    server: RunningServer,
    campaigns,
    messages,
    configured: ProjectKey,
    sparkpost: Any,
    worker: Any,
    profiles: Any,
    settings: Any,
    quiet_session_scheduler: None,
) -> None:
    window = duration_pb2.Duration(seconds=3600)
    test = ab_test(
        metric=pb.WINNER_METRIC_CONVERSION_RATE, conversion_event="purchase", conversion_window=window
    )
    started = await start_test(server, campaigns, messages, configured, sparkpost, profiles, test)
    sent_a, sent_b = started.records
    day_ago = Timestamp()
    day_ago.FromDatetime(datetime.now(UTC) - timedelta(days=1))
    events = [  # A's recipients buy after their message; B's bought before theirs; the holdout buys too.
        profiles_pb2.TrackedEvent(
            profile=common_pb2.ProfileRef(custom_id=r["email"].split("@")[0]), name="purchase"
        )
        for r in started.records[sent_a]
    ]
    events += [
        profiles_pb2.TrackedEvent(
            profile=common_pb2.ProfileRef(custom_id=r["email"].split("@")[0]), name="purchase", time=day_ago
        )
        for r in started.records[sent_b]
    ]
    events += [
        profiles_pb2.TrackedEvent(profile=common_pb2.ProfileRef(custom_id=e.split("@")[0]), name="purchase")
        for e, p in started.part.items()
        if p == "holdout"
    ]
    await profiles.TrackEvents(profiles_pb2.TrackEventsRequest(events=events), metadata=configured.auth)
    async with other_kernel(settings):
        decided = await wait_for_campaign(
            campaigns, configured, started.campaign_id, lambda c: c.state == pb.CAMPAIGN_STATE_COMPLETED
        )
    a, b = decided.ab_result.variants
    assert decided.ab_result.winner == "A"
    assert (a.converted, a.chosen_value) == (len(started.records[sent_a]), 1.0)
    assert (b.converted, b.chosen_value) == (0, 0.0)
    remainder = await completed(messages, configured, decided.ab_result.remainder_send_id)
    subjects = {
        r["subject"] for r in sparkpost.accepted if r["herald_message_id"][:18] == remainder.send_id[:18]
    }
    assert subjects == {"Offer A"}


async def test_a_campaign_cancelled_during_its_test_never_chooses_nor_sends_the_rest(
    server: RunningServer,
    campaigns,
    messages,
    configured: ProjectKey,
    sparkpost: Any,
    worker: Any,
    profiles: Any,
    settings: Any,
    quiet_session_scheduler: None,
) -> None:
    started = await start_test(server, campaigns, messages, configured, sparkpost, profiles, ab_test())
    cancelled = await campaigns.CancelCampaign(
        pb.CancelCampaignRequest(campaign_id=started.campaign_id), metadata=configured.auth
    )
    async with other_kernel(settings) as other:
        await other.kernel.scheduler.run_due()
    found = await campaigns.GetCampaign(
        pb.GetCampaignRequest(campaign_id=started.campaign_id), metadata=configured.auth
    )
    assert cancelled.state == found.state == pb.CAMPAIGN_STATE_CANCELLED
    assert (found.ab_result.winner, found.ab_result.remainder_send_id) == ("", "")
    assert len(sparkpost.accepted) == sum(len(records) for records in started.records.values())
