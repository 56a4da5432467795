"""Campaign occurrences as the scheduler releases them: zone by zone at a local time, and recurring ones
across a kernel restart and with two kernels polling at once."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from google.protobuf import field_mask_pb2

from herald.v1 import campaigns_pb2 as pb
from herald.v1 import projects_pb2
from kernel.engage.campaigns.local_time import release_groups
from tests.conftest import ADMIN
from tests.delivery.support import completed, person
from tests.engage.conftest import other_kernel
from tests.engage.support import campaign, emails_of, fast_forward, released, wait_for_campaign

EVERY_MINUTE = pb.CampaignSchedule(recurring=pb.Recurrence(cron="* * * * *", timezone="America/New_York"))


async def schedule_new(campaigns, project, schedule: pb.CampaignSchedule) -> pb.Campaign:  # type: ignore[no-untyped-def]
    created = await campaigns.CreateCampaign(
        pb.CreateCampaignRequest(campaign=campaign(schedule=schedule)), metadata=project.auth
    )
    return await campaigns.ScheduleCampaign(
        pb.ScheduleCampaignRequest(campaign_id=created.campaign_id), metadata=project.auth
    )


async def test_a_local_time_campaign_is_released_zone_by_zone_each_send_to_its_zones(
    campaigns, messages, profiles, projects, configured, sparkpost, worker, db
) -> None:
    await projects.UpdateProject(
        projects_pb2.UpdateProjectRequest(
            project=projects_pb2.Project(
                project_id=str(configured.project_id),
                settings=projects_pb2.ProjectSettings(timezone="Europe/Paris"),
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["settings.timezone"]),
        ),
        metadata=ADMIN,
    )
    people = {
        "ny": "America/New_York",
        "tokyo": "Asia/Tokyo",
        "paris": "Europe/Paris",
        "berlin": "Europe/Berlin",
        "mars": "Europe/Berlin",
    }
    for name, zone in people.items():
        await person(profiles, configured, name, email=f"{name}@example.com", first_name=name, timezone=zone)
    # A zone that is no IANA name: refused when written today, but stored before Herald checked it.
    await db.execute(
        """UPDATE profiles SET attributes = jsonb_set(attributes, '{timezone,v}', '"Mars/Olympus_Mons"')
           WHERE project_id = $1 AND custom_id = 'mars'""",
        configured.project_id,
    )
    await person(profiles, configured, "nowhere", email="nowhere@example.com", first_name="nowhere")
    # Two days ago: 09:00 has passed in every zone, so every group is due now, at once.
    day = (datetime.now(UTC) - timedelta(days=2)).date()
    local = pb.LocalDateTime(
        date=pb.LocalDate(year=day.year, month=day.month, day=day.day), time=pb.LocalTime(hours=9)
    )
    scheduled = await schedule_new(campaigns, configured, pb.CampaignSchedule(recipient_local=local))
    groups = release_groups(day, time(9), "Europe/Paris")
    assert len(scheduled.occurrences) == len(groups)
    done = await wait_for_campaign(
        campaigns, configured, scheduled.campaign_id, lambda c: c.state == pb.CAMPAIGN_STATE_COMPLETED
    )
    assert len(released(done)) == len(groups) and all(o.send_id for o in done.occurrences)

    def occurrence_of(zone: str) -> pb.CampaignOccurrence:
        (found,) = [o for o in done.occurrences if zone in o.time_zones]
        return found

    reached: dict[str, set[str]] = {}
    for zone in ("America/New_York", "Asia/Tokyo", "Europe/Paris"):
        occurrence = occurrence_of(zone)
        send = await completed(messages, configured, occurrence.send_id)
        reached[zone] = set(emails_of(sparkpost, send.send_id))
    expected_release = {
        "America/New_York": datetime.combine(day, time(9), ZoneInfo("America/New_York")),
        "Asia/Tokyo": datetime.combine(day, time(9), ZoneInfo("Asia/Tokyo")),
        "Europe/Paris": datetime.combine(day, time(9), ZoneInfo("Europe/Paris")),
    }
    for zone, instant in expected_release.items():
        assert occurrence_of(zone).due_time.ToDatetime(tzinfo=UTC) == instant
        assert occurrence_of(zone).occurrence_key.endswith(
            instant.astimezone(UTC).strftime("@%Y-%m-%dT%H:%M:%SZ")
        )
    assert reached["America/New_York"] == {"ny@example.com"}
    assert reached["Asia/Tokyo"] == {"tokyo@example.com"}
    # The project's zone's group: Paris and Berlin (same instant), and profiles without a valid zone.
    assert occurrence_of("Europe/Paris").without_time_zone
    assert reached["Europe/Paris"] == {
        "paris@example.com",
        "berlin@example.com",
        "mars@example.com",
        "nowhere@example.com",
    }
    # Every other group's send exists and reached nobody; nobody got two messages.
    every_email: Counter[str] = Counter()
    for occurrence in done.occurrences:
        await completed(messages, configured, occurrence.send_id)
        every_email.update(emails_of(sparkpost, occurrence.send_id))
    assert every_email == {f"{n}@example.com": 1 for n in [*people, "nowhere"]}


async def until_due(db, project, scheduled: pb.Campaign, past: float = 1.0) -> None:  # type: ignore[no-untyped-def]
    """Bring the campaign's first planned occurrence due ``past`` seconds ago (its minute need not be
    waited for)."""
    due = scheduled.occurrences[0].due_time.ToDatetime(tzinfo=UTC)
    await fast_forward(db, project.project_id, max(0.0, (due - datetime.now(UTC)).total_seconds()) + past)


async def occurrence_sends(db, project) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every send the project's campaigns created, by request id: (occurrence request id, send id)."""
    rows = await db.fetch(
        "SELECT client_key, send_id FROM sends WHERE project_id = $1 AND client_key LIKE 'campaign:%'",
        project.project_id,
    )
    return [(row["client_key"], str(row["send_id"])) for row in rows]


async def test_a_recurring_occurrence_due_while_the_kernel_was_down_runs_once_on_the_next_kernel(
    campaigns,
    messages,
    configured,
    sparkpost,
    profiles,
    settings,
    quiet_session_scheduler,
    db,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await person(profiles, configured, "ann", email="ann@example.com", first_name="Ann")
    async with other_kernel(settings):
        scheduled = await schedule_new(campaigns, configured, EVERY_MINUTE)
        (planned,) = scheduled.occurrences
        due = planned.due_time.ToDatetime(tzinfo=UTC)
    # Nobody runs timers now: the occurrence comes due while every kernel is down (long enough ago for
    # the next kernel to find it late).
    await until_due(db, configured, scheduled, past=60)
    assert (
        released(
            await campaigns.GetCampaign(
                pb.GetCampaignRequest(campaign_id=scheduled.campaign_id), metadata=configured.auth
            )
        )
        == []
    )
    with caplog.at_level(logging.WARNING, logger="kernel.scheduler.loop"):
        async with other_kernel(settings):
            found = await wait_for_campaign(
                campaigns, configured, scheduled.campaign_id, lambda c: bool(released(c))
            )
    assert any(
        "late" in record.getMessage() and scheduled.campaign_id in record.getMessage()
        for record in caplog.records
    )
    (occurrence,) = released(found)
    assert occurrence.due_time == planned.due_time and occurrence.send_id
    assert found.state == pb.CAMPAIGN_STATE_RUNNING
    # Only the next one is planned: a minute after the one that ran, not one per minute missed.
    (following,) = [o for o in found.occurrences if not o.send_id]
    assert following.due_time.ToDatetime(tzinfo=UTC) == due + timedelta(minutes=1)
    # A third kernel finds nothing left to run for it: still one send for that occurrence.
    async with other_kernel(settings) as third:
        await third.kernel.scheduler.run_due()
    await campaigns.CancelCampaign(
        pb.CancelCampaignRequest(campaign_id=scheduled.campaign_id), metadata=configured.auth
    )
    sends = await occurrence_sends(db, configured)
    assert [send_id for key, send_id in sends if key.endswith(occurrence.occurrence_key)] == [
        occurrence.send_id
    ]


async def test_two_kernels_polling_at_once_release_each_recurring_occurrence_once(
    campaigns, messages, configured, sparkpost, worker, profiles, settings, quiet_session_scheduler, db
) -> None:
    await person(profiles, configured, "ann", email="ann@example.com", first_name="Ann")
    async with other_kernel(settings), other_kernel(settings):
        scheduled = await schedule_new(campaigns, configured, EVERY_MINUTE)
        await until_due(db, configured, scheduled)
        found = await wait_for_campaign(
            campaigns, configured, scheduled.campaign_id, lambda c: bool(released(c))
        )
        # Both keep polling a while past the due time: neither runs it again.
        await asyncio.sleep(0.5)
        final = await campaigns.CancelCampaign(
            pb.CancelCampaignRequest(campaign_id=scheduled.campaign_id), metadata=configured.auth
        )
    (occurrence,) = released(found)
    assert [o.send_id for o in released(final)] == [occurrence.send_id]
    assert [send_id for _, send_id in await occurrence_sends(db, configured)] == [occurrence.send_id]
    send = await completed(messages, configured, occurrence.send_id)
    assert send.sent == 1
    assert emails_of(sparkpost, send.send_id) == ["ann@example.com"]
