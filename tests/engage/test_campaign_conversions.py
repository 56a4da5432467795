"""A campaign's "converted" figure with known answers, against the real server, database and emulators:
a conversion event within the campaign's window after its last message counts for that message's send,
channel and hour, once per profile; one after the window, or without a message, does not."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2

from herald.v1 import campaigns_pb2 as pb
from herald.v1 import common_pb2, messages_pb2, profiles_pb2, stats_pb2, stats_pb2_grpc
from tests.cli_support import herald
from tests.conftest import ProjectKey, field_violations, rpc_error
from tests.delivery.conftest import EMAIL, SMS
from tests.delivery.support import SMS_TEMPLATE, completed, person
from tests.engage.support import TEMPLATE, campaign, release_once

HOUR = duration_pb2.Duration(seconds=3600)


async def age_messages(db: Any, project: ProjectKey, send_id: str, custom_id: str, channel: str) -> None:
    """The profile's message of the send on ``channel`` was sent two hours ago (the message log is the
    only clock the conversion query reads for messages)."""
    await db.execute(
        """UPDATE message_log m SET logged_at = m.logged_at - interval '2 hours'
           FROM profiles p
           WHERE m.project_id = $1 AND m.send_id = $2 AND m.channel = $3
             AND p.project_id = m.project_id AND p.profile_id = m.profile_id AND p.custom_id = $4""",
        project.project_id,
        uuid.UUID(send_id),
        channel,
        custom_id,
    )


async def bought(profiles: Any, project: ProjectKey, *custom_ids: str) -> None:
    events = [
        profiles_pb2.TrackedEvent(profile=common_pb2.ProfileRef(custom_id=custom_id), name="purchase")
        for custom_id in custom_ids
    ]
    await profiles.TrackEvents(profiles_pb2.TrackEventsRequest(events=events), metadata=project.auth)


async def test_converted_counts_the_last_message_within_the_window_per_channel_once_per_profile(
    channel,
    campaigns,
    messages,
    profiles,
    db,
    configured: ProjectKey,
    sparkpost: Any,
    gateway: Any,
    worker: Any,
    server: Any,
    tmp_path: Path,
) -> None:
    await person(profiles, configured, "ann", email="ann@example.com")  # buys within the hour
    await person(profiles, configured, "bob", email="bob@example.com")  # buys two hours after his email
    await person(profiles, configured, "dan", email="dan@example.com", phone="+33611111111")
    created = await campaigns.CreateCampaign(
        pb.CreateCampaignRequest(
            campaign=campaign(
                profiles=messages_pb2.ProfileList(
                    profiles=[common_pb2.ProfileRef(custom_id=c) for c in ("ann", "bob", "dan")]
                ),
                channels=[
                    pb.CampaignChannel(channel=EMAIL, template=TEMPLATE),
                    pb.CampaignChannel(channel=SMS, template=SMS_TEMPLATE),
                ],
                conversion_event="purchase",
                conversion_window=HOUR,
                schedule=pb.CampaignSchedule(now=pb.SendNow()),
            )
        ),
        metadata=configured.auth,
    )
    assert (created.conversion_event, created.conversion_window) == ("purchase", HOUR)
    # Cid got no message: his purchase converts nothing.
    await person(profiles, configured, "cid", email="")
    occurrence = await release_once(campaigns, configured, created.campaign_id)
    send = await completed(messages, configured, occurrence.send_id)
    assert send.sent == 4
    await age_messages(db, configured, occurrence.send_id, "bob", EMAIL)
    # Dan got an email, then an SMS: the SMS is the last message, his purchase is the SMS's.
    await age_messages(db, configured, occurrence.send_id, "dan", EMAIL)
    await bought(profiles, configured, "ann", "bob", "cid", "dan")
    await bought(profiles, configured, "ann", "dan")  # a second purchase converts no one again

    stub = stats_pb2_grpc.StatsServiceStub(channel)
    stats = await stub.GetCampaignStats(
        stats_pb2.GetCampaignStatsRequest(campaign_id=created.campaign_id), metadata=configured.auth
    )
    by_channel = {part.channel: part.figures.converted for part in stats.campaign.channels}
    assert by_channel == {EMAIL: 1, SMS: 1}
    assert stats.campaign.total.figures.converted == 2
    assert stats.campaign.total.rates.conversion == pytest.approx(2 / 4)
    (only,) = stats.occurrences
    assert only.total.figures.converted == 2
    assert {part.channel: part.figures.converted for part in only.channels} == by_channel
    converted_hours = [(b.channel, b.figures.converted) for b in stats.campaign.hours if b.figures.converted]
    assert sorted(converted_hours) == [(EMAIL, 1), (SMS, 1)]

    options = {"HERALD_API_KEY": configured.key, "HERALD_GRPC_ADDRESS": server.address}
    shown = await herald(tmp_path, "campaigns", "stats", created.campaign_id, **options)
    assert shown.status == 0, shown.err
    assert next(line for line in shown.out.splitlines() if line.startswith("converted ")).split()[1:] == [
        "2",
        "1",
        "1",
    ]
    exported = await herald(
        tmp_path, "campaigns", "stats", created.campaign_id, "--csv", "rows.csv", **options
    )
    assert exported.status == 0, exported.err
    with (tmp_path / "rows.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert sum(int(row["converted"]) for row in rows) == 2
    made = await herald(tmp_path, "campaigns", "report", created.campaign_id, "-o", "page.html", **options)
    assert made.status == 0, made.err
    assert "converted" in (tmp_path / "page.html").read_text()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"conversion_window": HOUR}, "campaign.conversion_event"),
        ({"conversion_event": "purchase"}, "campaign.conversion_window"),
        (
            {"conversion_event": "purchase", "conversion_window": duration_pb2.Duration(seconds=31 * 86400)},
            "campaign.conversion_window",
        ),
        ({"conversion_event": "buy\x07", "conversion_window": HOUR}, "campaign.conversion_event"),
        ({"conversion_event": "b" * 129, "conversion_window": HOUR}, "campaign.conversion_event"),
    ],
)
async def test_a_goal_that_cannot_count_is_refused_naming_its_field(
    campaigns, configured: ProjectKey, fields: dict[str, Any], field: str
) -> None:
    request = pb.CreateCampaignRequest(campaign=campaign(**fields))
    error = await rpc_error(campaigns.CreateCampaign(request, metadata=configured.auth))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [violation[0] for violation in field_violations(error)] == [field]
