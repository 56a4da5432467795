"""Automations entered by what happens to a profile rather than by an event: an attribute change, entering
or leaving a saved segment, a date attribute (a birthday at 9:00 in each recipient's zone), against the
real server, database and SparkPost emulator; the session kernel's scheduler is run by hand."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import grpc
import pytest
from google.protobuf import field_mask_pb2

from herald.v1 import automations_pb2 as pb
from herald.v1 import common_pb2, profiles_pb2, segments_pb2
from kernel.engage.automations.date_triggers import occurrences
from kernel.engage.automations.trigger_kinds import DateAttribute
from tests.delivery.support import person
from tests.engage.automation_support import (
    active,
    automation,
    end,
    saved_template,
    send,
    subjects_to,
    track,
)
from tests.engage.support import fast_forward


async def entered(db, project, automation_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The custom ids of the profiles that entered, in order."""
    rows = await db.fetch(
        """SELECT p.custom_id FROM automation_entries e JOIN profiles p USING (project_id, profile_id)
           WHERE e.project_id = $1 AND e.automation_id = $2 ORDER BY e.entered_at""",
        project.project_id,
        uuid.UUID(automation_id),
    )
    return [row[0] for row in rows]


async def mailing(automations, templates, project, subject: str, trigger: pb.AutomationTrigger, **fields):  # type: ignore[no-untyped-def]
    template = await saved_template(templates, project, subject)
    made = automation([send("mail", template, "end"), end()], trigger=trigger, name=subject, **fields)
    return await active(automations, project, made)


async def test_an_attribute_change_to_a_value_enters_the_profile_once(
    automations, templates, profiles, configured, sparkpost, server, quiet_session_scheduler, db
) -> None:
    trigger = pb.AutomationTrigger(
        attribute_changed=pb.AttributeChangeTrigger(
            key="plan", to_value=common_pb2.AttributeValue(string_value="gold")
        )
    )
    made = await mailing(automations, templates, configured, "Welcome to gold", trigger)
    await person(profiles, configured, "ann", email="ann@example.com", first_name="Ann", plan="silver")
    await person(profiles, configured, "bob", email="bob@example.com", first_name="Bob", plan="gold")
    await server.kernel.scheduler.run_due()
    # Ann's silver is not gold; Bob was created with gold: a change from unset to gold.
    assert await entered(db, configured, made.automation_id) == ["bob"]
    await person(profiles, configured, "ann", plan="gold")
    # The same value written again is no change; another attribute is not followed.
    await person(profiles, configured, "ann", plan="gold", first_name="Annie")
    await server.kernel.scheduler.run_due()
    assert await entered(db, configured, made.automation_id) == ["bob", "ann"]
    assert subjects_to(sparkpost, "ann@example.com") == ["Welcome to gold Annie "]
    queued = await db.fetchval(
        "SELECT count(*) FROM scheduled_jobs WHERE project_id = $1 AND kind = 'automation.attribute'",
        configured.project_id,
    )
    # Ann created with silver, Bob with gold, Ann to gold: the writes of the same value queued nothing.
    assert queued == 3


async def test_an_imported_attribute_removed_enters_the_profile(
    automations, templates, profiles, configured, sparkpost, server, quiet_session_scheduler, db
) -> None:
    trigger = pb.AutomationTrigger(
        attribute_changed=pb.AttributeChangeTrigger(key="trial", change=pb.ATTRIBUTE_CHANGE_UNSET)
    )
    made = await mailing(automations, templates, configured, "Trial over", trigger)
    await person(profiles, configured, "cy", email="cy@example.com", trial="yes")

    async def imported(request: profiles_pb2.UpsertProfileRequest):  # type: ignore[no-untyped-def]
        yield profiles_pb2.ImportProfilesRequest(profiles=[request])

    removal = profiles_pb2.UpsertProfileRequest(
        profile=common_pb2.ProfileRef(custom_id="cy"), remove_attributes=["trial"]
    )
    answer = await profiles.ImportProfiles(imported(removal), metadata=configured.auth)
    assert answer.imported == 1
    await server.kernel.scheduler.run_due()
    assert await entered(db, configured, made.automation_id) == ["cy"]


async def test_entering_and_leaving_a_segment_fire_once_per_transition(
    automations, templates, segments, profiles, configured, sparkpost, server, quiet_session_scheduler, db
) -> None:
    vip = await segments.CreateSegment(
        segments_pb2.CreateSegmentRequest(
            segment=segments_pb2.Segment(
                name="vip",
                condition=segments_pb2.Condition(
                    attribute=segments_pb2.AttributeCondition(
                        key="vip", equals=common_pb2.AttributeValue(string_value="yes")
                    )
                ),
            )
        ),
        metadata=configured.auth,
    )
    await person(profiles, configured, "dan", email="dan@example.com", vip="yes")
    joined, left = [
        await mailing(
            automations,
            templates,
            configured,
            subject,
            pb.AutomationTrigger(**{kind: pb.SegmentTrigger(segment_id=vip.segment_id)}),
            reentry=pb.REENTRY_POLICY_ALWAYS,
        )
        for subject, kind in (("Welcome VIP", "segment_entered"), ("We miss you", "segment_left"))
    ]
    # Dan was a member when the automations were activated: he does not "enter".
    await person(profiles, configured, "eve", email="eve@example.com", vip="yes")
    await person(profiles, configured, "eve", vip="yes", first_name="Eve")
    await person(profiles, configured, "dan", vip="no")
    await server.kernel.scheduler.run_due()
    assert await entered(db, configured, joined.automation_id) == ["eve"]
    assert await entered(db, configured, left.automation_id) == ["dan"]
    await person(profiles, configured, "eve", vip="no")
    await server.kernel.scheduler.run_due()
    await person(profiles, configured, "eve", vip="yes")
    await server.kernel.scheduler.run_due()
    assert await entered(db, configured, joined.automation_id) == ["eve", "eve"]
    assert await entered(db, configured, left.automation_id) == ["dan", "eve"]
    # The sweep finds nobody moved, and nothing enters again.
    await fast_forward(db, configured.project_id, 3600)
    await server.kernel.scheduler.run_due()
    await server.kernel.scheduler.run_due()
    assert await entered(db, configured, joined.automation_id) == ["eve", "eve"]
    assert await entered(db, configured, left.automation_id) == ["dan", "eve"]


async def test_a_tracked_event_and_the_sweep_find_profiles_moved_into_a_segment(
    automations, templates, segments, profiles, configured, sparkpost, server, quiet_session_scheduler, db
) -> None:
    """A tracked event moves its profile at once; a segment redefined moves profiles no write touched:
    the periodic sweep finds them."""
    buyers = await segments.CreateSegment(
        segments_pb2.CreateSegmentRequest(
            segment=segments_pb2.Segment(
                name="buyers",
                condition=segments_pb2.Condition(event=segments_pb2.EventCondition(name="purchase")),
            )
        ),
        metadata=configured.auth,
    )
    await person(profiles, configured, "gil", email="gil@example.com")
    await person(profiles, configured, "hal", email="hal@example.com", vip="yes")
    joined = await mailing(
        automations,
        templates,
        configured,
        "Thanks for buying",
        pb.AutomationTrigger(segment_entered=pb.SegmentTrigger(segment_id=buyers.segment_id)),
    )
    await track(profiles, configured, "gil", "purchase")
    await server.kernel.scheduler.run_due()
    assert await entered(db, configured, joined.automation_id) == ["gil"]
    vip = segments_pb2.Condition(
        attribute=segments_pb2.AttributeCondition(
            key="vip", equals=common_pb2.AttributeValue(string_value="yes")
        )
    )
    await segments.UpdateSegment(
        segments_pb2.UpdateSegmentRequest(
            segment=segments_pb2.Segment(segment_id=buyers.segment_id, condition=vip),
            update_mask=field_mask_pb2.FieldMask(paths=["condition"]),
        ),
        metadata=configured.auth,
    )
    await server.kernel.scheduler.run_due()
    assert await entered(db, configured, joined.automation_id) == ["gil"]
    # The sweep's interval passes: it finds Hal in (and Gil out, which enters nobody here).
    await fast_forward(db, configured.project_id, server.kernel.settings.automation_segment_sweep_seconds)
    await server.kernel.scheduler.run_due()  # the sweep, which queues the checks of the moved profiles
    await server.kernel.scheduler.run_due()
    assert await entered(db, configured, joined.automation_id) == ["gil", "hal"]
    assert subjects_to(sparkpost, "hal@example.com") == ["Thanks for buying  "]


def _on(day: str, zone: str) -> dict[str, common_pb2.AttributeValue]:
    return {
        "birthday": common_pb2.AttributeValue(string_value=day),
        "timezone": common_pb2.AttributeValue(string_value=zone),
    }


async def test_birthdays_fall_at_nine_local_across_zones_and_a_dst_change(profiles, project, db) -> None:
    """The instants planned, computed with a given now: 2027-03-14 is the day New York moves to summer
    time (at 02:00), Paris moves on 2027-03-28; Tokyo has none. A 29 February birthday falls on the 28th."""
    people = {
        "ny": _on("1990-03-14", "America/New_York"),
        "paris": _on("1985-03-14", "Europe/Paris"),
        "tokyo": _on("2000-03-14", "Asia/Tokyo"),
        "leap": _on("2004-02-29", "Europe/Paris"),
    }
    ids = {}
    for custom_id, values in people.items():
        reply = await profiles.UpsertProfile(
            profiles_pb2.UpsertProfileRequest(
                profile=common_pb2.ProfileRef(custom_id=custom_id), attributes=values
            ),
            metadata=project.auth,
        )
        ids[reply.profile_id] = custom_id

    async def planned(
        offset_days: int, hour: int, minute: int, since: datetime, until: datetime
    ) -> dict[str, tuple[date, datetime]]:
        """Each profile's occurrence (its local day and instant) in [since, until)."""
        trigger = DateAttribute("birthday", offset_days, every_year=True, hour=hour, minute=minute)
        async with db.acquire() as conn:
            found = await occurrences(conn, project.project_id, trigger, since, until)
        return {ids[str(item.profile_id)]: (item.day, item.instant) for item in found}

    assert await planned(0, 9, 0, datetime(2027, 2, 27, tzinfo=UTC), datetime(2027, 3, 15, tzinfo=UTC)) == {
        "ny": (date(2027, 3, 14), datetime(2027, 3, 14, 13, 0, tzinfo=UTC)),  # 09:00 EDT, -4 h
        "paris": (date(2027, 3, 14), datetime(2027, 3, 14, 8, 0, tzinfo=UTC)),  # 09:00 CET, +1 h
        "tokyo": (date(2027, 3, 14), datetime(2027, 3, 14, 0, 0, tzinfo=UTC)),  # 09:00 JST, +9 h
        "leap": (date(2027, 2, 28), datetime(2027, 2, 28, 8, 0, tzinfo=UTC)),
    }
    # The day before, with an offset of -1: New York is still at -5 h, 09:00 EST.
    eve = await planned(-1, 9, 0, datetime(2027, 3, 13, tzinfo=UTC), datetime(2027, 3, 13, 23, tzinfo=UTC))
    assert eve["ny"] == (date(2027, 3, 13), datetime(2027, 3, 13, 14, 0, tzinfo=UTC))
    # 02:30 does not exist in New York that day (02:00 goes to 03:00): read at -5 h, it is 03:30 EDT.
    gap = await planned(0, 2, 30, datetime(2027, 3, 14, tzinfo=UTC), datetime(2027, 3, 15, tzinfo=UTC))
    assert gap["ny"] == (date(2027, 3, 14), datetime(2027, 3, 14, 7, 30, tzinfo=UTC))
    # 01:30 on 2027-11-07 (238 days on) happens twice: the second one, at -5 h, is taken.
    twice = await planned(238, 1, 30, datetime(2027, 11, 7, tzinfo=UTC), datetime(2027, 11, 8, tzinfo=UTC))
    assert twice["ny"] == (date(2027, 11, 7), datetime(2027, 11, 7, 6, 30, tzinfo=UTC))


async def test_a_birthday_today_enters_at_its_local_time_once(
    automations, templates, profiles, configured, sparkpost, server, quiet_session_scheduler, db
) -> None:
    now = await db.fetchval("SELECT now()")
    # 09:00 tomorrow in Tokyo is 9 to 33 hours away: within the scan's two days, whatever the hour now.
    zone = "Asia/Tokyo"
    tomorrow = await db.fetchval("SELECT ($1::timestamptz AT TIME ZONE $2)::date + 1", now, zone)
    # Born in a leap year: tomorrow may be 29 February.
    birthday = tomorrow.replace(year=1992).isoformat()
    trigger = pb.AutomationTrigger(
        date_attribute=pb.DateAttributeTrigger(key="birthday", every_year=True, hour=9)
    )
    await profiles.UpsertProfile(
        profiles_pb2.UpsertProfileRequest(
            profile=common_pb2.ProfileRef(custom_id="fay"),
            attributes=_on(birthday, zone),
            add_addresses=[common_pb2.Address(kind="email", value="fay@example.com")],
        ),
        metadata=configured.auth,
    )
    made = await mailing(automations, templates, configured, "Happy birthday", trigger)
    await server.kernel.scheduler.run_due()
    due = await db.fetchval(
        "SELECT due_at FROM scheduled_jobs WHERE project_id = $1 AND kind = 'automation.date'",
        configured.project_id,
    )
    expected = await db.fetchval("SELECT ($1::date + time '09:00') AT TIME ZONE $2", tomorrow, zone)
    assert due == expected
    assert await entered(db, configured, made.automation_id) == []
    await fast_forward(db, configured.project_id, (due - now).total_seconds() + 1)
    await server.kernel.scheduler.run_due()
    assert await entered(db, configured, made.automation_id) == ["fay"]
    # The next scans find the same occurrence: planned once, entered once.
    await fast_forward(db, configured.project_id, 3600)
    await server.kernel.scheduler.run_due()
    assert await entered(db, configured, made.automation_id) == ["fay"]
    assert subjects_to(sparkpost, "fay@example.com") == ["Happy birthday  "]


@pytest.mark.parametrize(
    ("trigger", "field"),
    [
        (pb.AutomationTrigger(), "automation.trigger"),
        (
            pb.AutomationTrigger(attribute_changed=pb.AttributeChangeTrigger(key="1bad")),
            "automation.trigger.attribute_changed.key",
        ),
        (
            pb.AutomationTrigger(
                attribute_changed=pb.AttributeChangeTrigger(
                    key="plan",
                    change=pb.ATTRIBUTE_CHANGE_UNSET,
                    to_value=common_pb2.AttributeValue(string_value="x"),
                )
            ),
            "automation.trigger.attribute_changed.to_value",
        ),
        (
            pb.AutomationTrigger(segment_entered=pb.SegmentTrigger(segment_id="nope")),
            "automation.trigger.segment_entered.segment_id",
        ),
        (
            pb.AutomationTrigger(date_attribute=pb.DateAttributeTrigger(key="birthday", hour=24)),
            "automation.trigger.date_attribute.hour",
        ),
        (
            pb.AutomationTrigger(date_attribute=pb.DateAttributeTrigger(key="birthday", offset_days=400)),
            "automation.trigger.date_attribute.offset_days",
        ),
    ],
)
async def test_a_bad_trigger_is_invalid_argument_naming_its_field(
    automations, templates, configured, trigger: pb.AutomationTrigger, field: str
) -> None:
    template = await saved_template(templates, configured, "x")
    made = automation([send("mail", template, "end"), end()], trigger=trigger)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await automations.CreateAutomation(
            pb.CreateAutomationRequest(automation=made), metadata=configured.auth
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in (error.value.details() or "")


async def test_a_pause_drops_the_planned_birthdays_and_activation_plans_them_again(
    automations, templates, profiles, configured, sparkpost, server, quiet_session_scheduler, db
) -> None:
    tomorrow = await db.fetchval("SELECT (now() AT TIME ZONE 'Asia/Tokyo')::date + 1")
    await profiles.UpsertProfile(
        profiles_pb2.UpsertProfileRequest(
            profile=common_pb2.ProfileRef(custom_id="gus"),
            attributes=_on(tomorrow.isoformat(), "Asia/Tokyo"),
        ),
        metadata=configured.auth,
    )
    trigger = pb.AutomationTrigger(
        date_attribute=pb.DateAttributeTrigger(key="birthday", every_year=False, hour=9)
    )
    made = await mailing(automations, templates, configured, "Renewal day", trigger)

    async def pending() -> list[str]:
        rows = await db.fetch(
            """SELECT kind FROM scheduled_jobs WHERE project_id = $1 AND state = 'pending'
               AND kind IN ('automation.date', 'automation.scan') ORDER BY kind""",
            configured.project_id,
        )
        return [row[0] for row in rows]

    await server.kernel.scheduler.run_due()
    assert await pending() == ["automation.date", "automation.scan"]
    await automations.PauseAutomation(
        pb.PauseAutomationRequest(automation_id=made.automation_id), metadata=configured.auth
    )
    assert await pending() == []
    await automations.ActivateAutomation(
        pb.ActivateAutomationRequest(automation_id=made.automation_id), metadata=configured.auth
    )
    await server.kernel.scheduler.run_due()
    assert await pending() == ["automation.date", "automation.scan"]
