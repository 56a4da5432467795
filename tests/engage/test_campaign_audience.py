"""A recurring campaign by segments (a saved segment included, another excluded): each occurrence reaches
the profiles that match when it runs; and the campaign's statistics are the sum of its occurrences'
sends, per channel, a test send not counted; ``herald campaigns stats|report`` show them."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from herald.v1 import campaigns_pb2 as pb
from herald.v1 import segments_pb2, stats_pb2, stats_pb2_grpc
from kernel.stats.figures import FIGURES
from tests.cli_support import herald
from tests.delivery.support import completed, person
from tests.engage.conditions import equals
from tests.engage.conftest import other_kernel
from tests.engage.support import (
    campaign,
    emails_of,
    fast_forward,
    released,
    send_test_to,
    wait_for_campaign,
)

EVERY_MINUTE = pb.CampaignSchedule(recurring=pb.Recurrence(cron="* * * * *", timezone="Europe/Paris"))
#: p0..p11, each with an email: country FR for even numbers, vip for multiples of 4.
PEOPLE = 12


async def saved_segment(segments, project, name: str, condition: segments_pb2.Condition) -> str:  # type: ignore[no-untyped-def]
    created = await segments.CreateSegment(
        segments_pb2.CreateSegmentRequest(segment=segments_pb2.Segment(name=name, condition=condition)),
        metadata=project.auth,
    )
    return created.segment_id


async def next_released(campaigns, db, project, campaign_id: str, count: int) -> pb.CampaignOccurrence:  # type: ignore[no-untyped-def]
    """The campaign's ``count``-th released occurrence, its timer brought due now (the recurrence's next
    minute need not be waited for)."""
    found = await campaigns.GetCampaign(pb.GetCampaignRequest(campaign_id=campaign_id), metadata=project.auth)
    planned = [o for o in found.occurrences if not (o.send_id or o.error)]
    due = planned[0].due_time.ToDatetime(tzinfo=UTC)
    await fast_forward(db, project.project_id, max(0.0, (due - datetime.now(UTC)).total_seconds()) + 1)
    done = await wait_for_campaign(campaigns, project, campaign_id, lambda c: len(released(c)) >= count)
    return released(done)[count - 1]


def matching(country: dict[int, str], vip: set[int]) -> Counter[str]:
    return Counter(f"p{i}@example.com" for i in range(PEOPLE) if country[i] == "FR" and i not in vip)


def figures(part: stats_pb2.StatsFigures) -> dict[str, int]:
    return {name: getattr(part, name) for name in FIGURES}


def summed(parts: list[stats_pb2.StatsFigures]) -> dict[str, int]:
    return {name: sum(getattr(part, name) for part in parts) for name in FIGURES}


async def test_each_occurrence_reaches_the_segment_as_it_is_then_and_the_statistics_add_up(
    channel,
    campaigns,
    segments,
    messages,
    profiles,
    configured,
    sparkpost,
    worker,
    settings,
    quiet_session_scheduler,
    server,
    db,
    tmp_path: Path,
) -> None:
    country = {i: "FR" if i % 2 == 0 else "DE" for i in range(PEOPLE)}
    vip = {i for i in range(PEOPLE) if i % 4 == 0}
    for i in range(PEOPLE):
        await person(
            profiles, configured, f"p{i}", email=f"p{i}@example.com", country=country[i], vip=i in vip
        )
    french = await saved_segment(segments, configured, "fr", equals("country", "FR"))
    vips = await saved_segment(segments, configured, "vip", equals("vip", True))
    selection = segments_pb2.SegmentSelection(include_segment_ids=[french], exclude_segment_ids=[vips])
    created = await campaigns.CreateCampaign(
        pb.CreateCampaignRequest(
            campaign=campaign(all_reachable=None, segments=selection, schedule=EVERY_MINUTE)
        ),
        metadata=configured.auth,
    )
    assert created.segments == selection
    async with other_kernel(settings):
        await campaigns.ScheduleCampaign(
            pb.ScheduleCampaignRequest(campaign_id=created.campaign_id), metadata=configured.auth
        )
        first = await next_released(campaigns, db, configured, created.campaign_id, 1)
        first_send = await completed(messages, configured, first.send_id)
        assert Counter(emails_of(sparkpost, first.send_id)) == matching(country, vip)
        # Between the occurrences: p1 moves to France, p2 becomes a VIP, p6 leaves France.
        country[1], country[6] = "FR", "DE"
        vip.add(2)
        await person(profiles, configured, "p1", country="FR")
        await person(profiles, configured, "p2", vip=True)
        await person(profiles, configured, "p6", country="DE")
        second = await next_released(campaigns, db, configured, created.campaign_id, 2)
        await campaigns.CancelCampaign(
            pb.CancelCampaignRequest(campaign_id=created.campaign_id), metadata=configured.auth
        )
    second_send = await completed(messages, configured, second.send_id)
    assert Counter(emails_of(sparkpost, second.send_id)) == matching(country, vip)
    assert {"p1@example.com"} <= set(emails_of(sparkpost, second.send_id))
    assert not {"p2@example.com", "p6@example.com"} & set(emails_of(sparkpost, second.send_id))

    test_send = await send_test_to(campaigns, configured, created.campaign_id, "p2")
    await completed(messages, configured, test_send.send_id)
    stub = stats_pb2_grpc.StatsServiceStub(channel)
    stats = await stub.GetCampaignStats(
        stats_pb2.GetCampaignStatsRequest(campaign_id=created.campaign_id), metadata=configured.auth
    )
    sends = [first.send_id, second.send_id]
    assert [o.send_id for o in stats.occurrences] == sends and list(stats.campaign.send_ids) == sends
    assert [o.occurrence_key for o in stats.occurrences] == [first.occurrence_key, second.occurrence_key]
    assert [o.total.figures.sent for o in stats.occurrences] == [first_send.sent, second_send.sent]
    assert figures(stats.campaign.total.figures) == summed([o.total.figures for o in stats.occurrences])
    assert stats.campaign.total.figures.sent == first_send.sent + second_send.sent
    for part in stats.campaign.channels:
        of_channel = [c.figures for o in stats.occurrences for c in o.channels if c.channel == part.channel]
        assert figures(part.figures) == summed(of_channel)
    assert not stats.variants

    options = {"HERALD_API_KEY": configured.key, "HERALD_GRPC_ADDRESS": server.address}
    shown = await herald(tmp_path, "campaigns", "stats", created.campaign_id, **options)
    assert shown.status == 0, shown.err
    sent_line = next(line for line in shown.out.splitlines() if line.startswith("sent "))
    assert sent_line.split()[1] == str(first_send.sent + second_send.sent)
    assert first.occurrence_key in shown.out and second.occurrence_key in shown.out
    exported = await herald(
        tmp_path, "campaigns", "stats", created.campaign_id, "--csv", str(tmp_path / "c.csv"), **options
    )
    assert exported.status == 0, exported.err
    with (tmp_path / "c.csv").open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert {row["send_id"] for row in rows} == set(sends)
    for occurrence in stats.occurrences:
        of_occurrence = [row for row in rows if row["occurrence_key"] == occurrence.occurrence_key]
        assert sum(int(row["sent"]) for row in of_occurrence) == occurrence.total.figures.sent
    page = tmp_path / "report.html"
    reported = await herald(tmp_path, "campaigns", "report", created.campaign_id, "-o", str(page), **options)
    assert reported.status == 0, reported.err
    html = page.read_text(encoding="utf-8")
    assert "Funnel by occurrence" in html and second.occurrence_key in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
