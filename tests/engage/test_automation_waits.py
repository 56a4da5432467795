"""The wait steps beyond a span of time, end to end against the real server, database and SparkPost
emulator: until a wall-clock time of day (and weekdays) in the recipient's zone, and until an event with a
timeout branch; plus the wall-clock rule on DST-change days and the checks when saved."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf import duration_pb2

from herald.v1 import automations_pb2 as pb
from herald.v1 import campaigns_pb2, common_pb2, profiles_pb2, segments_pb2
from kernel.engage.automations.wall_clock import next_wall_time
from tests.conftest import field_violations, rpc_error
from tests.delivery.support import person, until
from tests.engage.automation_support import (
    active,
    automation,
    end,
    more_than,
    saved_template,
    send,
    subjects_to,
    timer_kernel,
    track,
)
from tests.engage.conftest import other_kernel
from tests.engage.support import fast_forward
from tests.engage.test_automations import entries

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
WAIT_KIND = "automation.wait"


def wait_until(step_id: str, at: str, next_step: str, weekdays: list[int] | None = None) -> pb.Step:
    return pb.Step(
        step_id=step_id, next=next_step, wait_until=pb.WaitUntilStep(time_of_day=at, weekdays=weekdays or [])
    )


def wait_for(
    step_id: str,
    name: str,
    timeout_seconds: int,
    next_step: str,
    timeout_next: str,
    properties: list[segments_pb2.AttributeCondition] | None = None,
) -> pb.Step:
    return pb.Step(
        step_id=step_id,
        next=next_step,
        wait_for_event=pb.WaitForEventStep(
            name=name,
            properties=properties or [],
            timeout=duration_pb2.Duration(seconds=timeout_seconds),
            timeout_next=timeout_next,
        ),
    )


def expected_end(after: datetime, zone: ZoneInfo, at: time, weekdays: set[int]) -> datetime:
    """The first local ``at`` on an allowed ISO weekday strictly after ``after``, read with zoneinfo."""
    day = after.astimezone(zone).date()
    while True:
        instant = datetime.combine(day, at, zone).astimezone(UTC)
        if instant > after and (not weekdays or day.isoweekday() in weekdays):
            return instant
        day += timedelta(days=1)


async def waits_of(db, project_id: uuid.UUID, automation_id: str) -> dict[str, tuple[str, datetime | None]]:  # type: ignore[no-untyped-def]
    """Each profile inside: (step, end of its wait)."""
    rows = await db.fetch(
        """SELECT p.custom_id, e.step_id, e.wait_until FROM automation_entries e
           JOIN profiles p USING (project_id, profile_id)
           WHERE e.project_id = $1 AND e.automation_id = $2 AND e.state = 'inside'""",
        project_id,
        uuid.UUID(automation_id),
    )
    return {row["custom_id"]: (row["step_id"], row["wait_until"]) for row in rows}


async def left(db, project, automation_id: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Each profile that left: its exit reason."""
    rows = await entries(db, project, automation_id)
    return {custom_id: reason for custom_id, state, reason, _ in rows if state == "left"}


async def pending_timers(db, project_id: uuid.UUID) -> list[datetime]:  # type: ignore[no-untyped-def]
    rows = await db.fetch(
        """SELECT due_at FROM scheduled_jobs WHERE project_id = $1 AND kind = $2 AND state = 'pending'
           ORDER BY due_at""",
        project_id,
        WAIT_KIND,
    )
    return [row["due_at"] for row in rows]


async def track_together(profiles, project, custom_id: str, name: str, items: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Events of one profile in one TrackEvents call: they reach the automations together."""
    await profiles.TrackEvents(
        profiles_pb2.TrackEventsRequest(
            events=[
                profiles_pb2.TrackedEvent(
                    profile=common_pb2.ProfileRef(custom_id=custom_id),
                    name=name,
                    attributes={
                        "item": common_pb2.AttributeValue(string_value=item),
                        "total": common_pb2.AttributeValue(number_value=50),
                    },
                )
                for item in items
            ]
        ),
        metadata=project.auth,
    )


# --- wait_until ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "zone", "at", "expected"),
    [
        # Paris springs forward at 02:00 on 28 March 2027: 02:30 does not exist, it is 03:30 new time.
        (
            datetime(2027, 3, 27, 23, 0, tzinfo=UTC),
            PARIS,
            time(2, 30),
            datetime(2027, 3, 28, 3, 30, tzinfo=PARIS),
        ),
        # 09:00 stays 09:00 local on that day (07:00 UTC, the day before 08:00 UTC).
        (datetime(2027, 3, 27, 9, 0, tzinfo=UTC), PARIS, time(9), datetime(2027, 3, 28, 9, 0, tzinfo=PARIS)),
        # Paris falls back at 03:00 on 25 October 2026: 02:30 happens twice, the first (CEST) is taken.
        (
            datetime(2026, 10, 24, 22, 0, tzinfo=UTC),
            PARIS,
            time(2, 30),
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        ),
        # Reached between the two 02:30s: the first is past, the second is not another end: the next day's.
        (
            datetime(2026, 10, 25, 0, 45, tzinfo=UTC),
            PARIS,
            time(2, 30),
            datetime(2026, 10, 26, 2, 30, tzinfo=PARIS),
        ),
        # New York springs forward on 14 March 2027: 09:00 EDT is 13:00 UTC (14:00 UTC the day before).
        (
            datetime(2027, 3, 13, 15, 0, tzinfo=UTC),
            NEW_YORK,
            time(9),
            datetime(2027, 3, 14, 13, 0, tzinfo=UTC),
        ),
        # New York falls back on 1 November 2026: 01:30 happens twice, the first (EDT) is taken.
        (
            datetime(2026, 11, 1, 4, 0, tzinfo=UTC),
            NEW_YORK,
            time(1, 30),
            datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        ),
    ],
    ids=[
        "paris-gap",
        "paris-9h-spring",
        "paris-repeat",
        "paris-between",
        "new-york-spring",
        "new-york-repeat",
    ],
)
def test_wall_clock_times_on_dst_change_days(
    after: datetime, zone: ZoneInfo, at: time, expected: datetime
) -> None:
    assert next_wall_time(after, zone, at, ()) == expected


def test_weekdays_across_a_dst_change() -> None:
    # Friday 26 March 2027, 10:00 in Paris; "Monday at 9:00" is after the change: 07:00 UTC, not 08:00.
    friday = datetime(2027, 3, 26, 10, 0, tzinfo=PARIS)
    assert next_wall_time(friday, PARIS, time(9), {1}) == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)
    # A weekday that is today, but past the time: a week later.
    assert next_wall_time(friday, PARIS, time(9), {5}) == datetime(2027, 4, 2, 7, 0, tzinfo=UTC)
    assert next_wall_time(friday, PARIS, time(11), {5}) == datetime(2027, 3, 26, 10, 0, tzinfo=UTC)


async def test_wait_until_a_time_of_day_in_each_recipients_zone_and_on_weekdays(
    automations, templates, profiles, configured, sparkpost, server, quiet_session_scheduler, db
) -> None:
    morning = await saved_template(templates, configured, "Morning")
    weekend = await saved_template(templates, configured, "Weekend")
    at_nine = await active(
        automations,
        configured,
        automation([wait_until("nine", "09:00", "mail"), send("mail", morning, "end"), end()]),
    )
    saturday, sunday = campaigns_pb2.DAY_OF_WEEK_SATURDAY, campaigns_pb2.DAY_OF_WEEK_SUNDAY
    on_weekends = await active(
        automations,
        configured,
        automation(
            [wait_until("sat", "18:30", "mail", [saturday, sunday]), send("mail", weekend, "end"), end()],
            name="weekend",
            trigger=pb.AutomationTrigger(event=pb.EventTrigger(name="browsed")),
        ),
    )
    zones = {"ann": PARIS, "bob": NEW_YORK, "cyd": TOKYO}
    for custom_id, zone in zones.items():
        await person(
            profiles,
            configured,
            custom_id,
            email=f"{custom_id}@example.com",
            first_name=custom_id,
            timezone=zone.key,
        )
    # dee has no zone of her own: the project's.
    await person(profiles, configured, "dee", email="dee@example.com", first_name="dee")
    zones["dee"] = ZoneInfo(
        await db.fetchval("SELECT timezone FROM projects WHERE project_id = $1", configured.project_id)
    )
    for custom_id in zones:
        await track(profiles, configured, custom_id, "cart_abandoned", item="x")
        await track(profiles, configured, custom_id, "browsed", item="y")
    before = datetime.now(UTC)
    assert await server.kernel.scheduler.run_due() == 2 * len(zones)
    after = datetime.now(UTC)

    for made, at, weekdays in ((at_nine, time(9), set()), (on_weekends, time(18, 30), {6, 7})):
        found = await waits_of(db, configured.project_id, made.automation_id)
        for custom_id, zone in zones.items():
            _, wait_end = found[custom_id]
            assert wait_end in {
                expected_end(before, zone, at, weekdays),
                expected_end(after, zone, at, weekdays),
            }
            local = wait_end.astimezone(zone)
            assert (local.time(), not weekdays or local.isoweekday() in weekdays) == (at, True)
    ends = [
        wait_end
        for made in (at_nine, on_weekends)
        for _, wait_end in (await waits_of(db, configured.project_id, made.automation_id)).values()
    ]
    assert await pending_timers(db, configured.project_id) == sorted(ends), "a timer at each end"
    assert not sparkpost.accepted
    # Time passes up to the latest end: every wait ends, once.
    latest = max(await pending_timers(db, configured.project_id))
    await fast_forward(db, configured.project_id, (latest - datetime.now(UTC)).total_seconds() + 1)
    assert await server.kernel.scheduler.run_due() == 2 * len(zones)
    for custom_id in zones:
        assert sorted(subjects_to(sparkpost, f"{custom_id}@example.com")) == [
            f"Morning {custom_id} x",
            f"Weekend {custom_id} y",
        ]


# --- wait_for_event -----------------------------------------------------------------------------------


async def purchase_flow(automations, templates, configured) -> pb.Automation:  # type: ignore[no-untyped-def]
    """Entered by cart_abandoned: waits an hour for a purchase above 10 ("Thanks", printing the purchase's
    item), else "Nudge" (printing the cart's)."""
    thanks = await saved_template(templates, configured, "Thanks")
    nudge = await saved_template(templates, configured, "Nudge")
    return await active(
        automations,
        configured,
        automation(
            [
                wait_for("w", "purchase", 3600, "thanks", "nudge", [more_than("total", 10)]),
                send("thanks", thanks, "end"),
                send("nudge", nudge, "end"),
                end(),
            ]
        ),
    )


async def test_an_awaited_event_moves_the_profile_on_once_and_drops_its_timeout(
    automations, templates, profiles, configured, sparkpost, server, quiet_session_scheduler, db
) -> None:
    made = await purchase_flow(automations, templates, configured)
    scheduler = server.kernel.scheduler
    for custom_id in ("ann", "bob"):
        await person(profiles, configured, custom_id, email=f"{custom_id}@example.com", first_name=custom_id)
        await track(profiles, configured, custom_id, "cart_abandoned", item="cart")
    await scheduler.run_due()
    assert set(await waits_of(db, configured.project_id, made.automation_id)) == {"ann", "bob"}
    assert len(await pending_timers(db, configured.project_id)) == 2
    # Below the property filter: still waiting.
    await track(profiles, configured, "ann", "purchase", total=5, item="pin")
    await scheduler.run_due()
    assert "ann" in await waits_of(db, configured.project_id, made.automation_id)
    await track(profiles, configured, "ann", "purchase", total=20, item="boots")
    # Two purchases at once: one moves bob on, the other finds him gone.
    await track_together(profiles, configured, "bob", "purchase", ["hat", "coat"])
    await scheduler.run_due()
    assert subjects_to(sparkpost, "ann@example.com") == ["Thanks ann boots"], "the awaited event's item"
    assert subjects_to(sparkpost, "bob@example.com") == ["Thanks bob hat"]
    assert await left(db, configured, made.automation_id) == {
        "ann": "completed",
        "bob": "completed",
    }
    assert await pending_timers(db, configured.project_id) == [], "the timeouts were dropped"
    await track(profiles, configured, "ann", "purchase", total=20, item="again")
    await scheduler.run_due()
    assert len(subjects_to(sparkpost, "ann@example.com")) == 1


async def test_the_entering_event_is_not_also_the_awaited_one(
    automations, templates, profiles, configured, sparkpost, server, quiet_session_scheduler, db
) -> None:
    again = await saved_template(templates, configured, "Again")
    viewed = pb.AutomationTrigger(event=pb.EventTrigger(name="viewed"))
    made = await active(
        automations,
        configured,
        automation(
            [wait_for("w", "viewed", 3600, "again", "end"), send("again", again, "end"), end()],
            trigger=viewed,
        ),
    )
    await person(profiles, configured, "ann", email="ann@example.com", first_name="ann")
    await track(profiles, configured, "ann", "viewed", item="first")
    await server.kernel.scheduler.run_due()
    assert await waits_of(db, configured.project_id, made.automation_id) == {
        "ann": ("w", (await pending_timers(db, configured.project_id))[0])
    }, "the event that entered her does not end her wait"
    await track(profiles, configured, "ann", "viewed", item="second")
    await server.kernel.scheduler.run_due()
    assert subjects_to(sparkpost, "ann@example.com") == ["Again ann second"]


async def test_the_timeout_takes_the_timeout_branch_and_a_later_event_does_nothing(
    automations, templates, profiles, configured, sparkpost, server, quiet_session_scheduler, db
) -> None:
    made = await purchase_flow(automations, templates, configured)
    scheduler = server.kernel.scheduler
    await person(profiles, configured, "cyd", email="cyd@example.com", first_name="cyd")
    await track(profiles, configured, "cyd", "cart_abandoned", item="cart")
    await scheduler.run_due()
    assert await scheduler.run_due() == 0, "an hour to wait"
    await fast_forward(db, configured.project_id, 3600)
    assert await scheduler.run_due() == 1
    assert subjects_to(sparkpost, "cyd@example.com") == ["Nudge cyd cart"]
    await track(profiles, configured, "cyd", "purchase", total=20, item="late")
    await scheduler.run_due()
    assert subjects_to(sparkpost, "cyd@example.com") == ["Nudge cyd cart"]
    assert await left(db, configured, made.automation_id) == {"cyd": "completed"}


async def test_an_event_racing_its_timeout_on_two_kernels_takes_effect_alone(
    automations, templates, profiles, configured, sparkpost, settings, server, quiet_session_scheduler, db
) -> None:
    made = await purchase_flow(automations, templates, configured)
    people = [f"p{index}" for index in range(10)]
    for custom_id in people:
        await person(profiles, configured, custom_id, email=f"{custom_id}@example.com", first_name=custom_id)
        await track(profiles, configured, custom_id, "cart_abandoned", item="cart")
    await server.kernel.scheduler.run_due()
    # Every timeout is due, and two awaited events are tracked for each: three jobs wait to run.
    await fast_forward(db, configured.project_id, 3600)
    for custom_id in people:
        await track_together(profiles, configured, custom_id, "purchase", ["buy", "more"])
    async with timer_kernel(settings, sparkpost), timer_kernel(settings, sparkpost):

        async def all_left() -> bool:
            return len(await left(db, configured, made.automation_id)) == len(people)

        await until(all_left, "every profile went one way")
        await asyncio.sleep(0.3)  # the losing job of each, were it to take effect, would land now
    assert Counter(record["email"] for record in sparkpost.accepted) == {
        f"{p}@example.com": 1 for p in people
    }
    for custom_id in people:
        (subject,) = subjects_to(sparkpost, f"{custom_id}@example.com")
        assert subject in {f"Thanks {custom_id} buy", f"Thanks {custom_id} more", f"Nudge {custom_id} cart"}
    facts = await db.fetch(
        "SELECT entry_id, count(*) FROM automation_step_facts WHERE project_id = $1 GROUP BY entry_id",
        configured.project_id,
    )
    assert [row["count"] for row in facts] == [1] * len(people)
    assert await pending_timers(db, configured.project_id) == []


async def test_a_wait_for_an_event_survives_a_kernel_restart(
    automations, templates, profiles, configured, sparkpost, settings, quiet_session_scheduler, db
) -> None:
    made = await purchase_flow(automations, templates, configured)
    await person(profiles, configured, "ann", email="ann@example.com", first_name="ann")
    async with other_kernel(settings):
        await track(profiles, configured, "ann", "cart_abandoned", item="cart")

        async def waiting() -> bool:
            return "ann" in await waits_of(db, configured.project_id, made.automation_id)

        await until(waiting, "ann waits for her purchase")
    # That kernel is gone; the event is tracked while no kernel runs automations.
    await track(profiles, configured, "ann", "purchase", total=20, item="boots")
    assert not sparkpost.accepted
    async with timer_kernel(settings, sparkpost):

        async def thanked() -> bool:
            return bool(subjects_to(sparkpost, "ann@example.com"))

        await until(thanked, "a new kernel moved ann on")
    assert subjects_to(sparkpost, "ann@example.com") == ["Thanks ann boots"]
    assert await pending_timers(db, configured.project_id) == []


async def test_pausing_keeps_both_waits_and_activating_plans_them_again(
    automations, templates, profiles, configured, sparkpost, server, quiet_session_scheduler, db
) -> None:
    made = await purchase_flow(automations, templates, configured)
    later = await saved_template(templates, configured, "Later")
    at_noon = await active(
        automations,
        configured,
        automation([wait_until("noon", "12:00", "mail"), send("mail", later, "end"), end()], name="noon"),
    )
    scheduler = server.kernel.scheduler
    await person(
        profiles, configured, "ann", email="ann@example.com", first_name="ann", timezone="Asia/Tokyo"
    )
    await track(profiles, configured, "ann", "cart_abandoned", item="cart")
    await scheduler.run_due()
    waits = {
        flow.automation_id: (await waits_of(db, configured.project_id, flow.automation_id))["ann"]
        for flow in (made, at_noon)
    }
    for flow in (made, at_noon):
        await automations.PauseAutomation(
            pb.PauseAutomationRequest(automation_id=flow.automation_id), metadata=configured.auth
        )
    assert await pending_timers(db, configured.project_id) == []
    # Paused, the awaited event is ignored: ann keeps waiting.
    await track(profiles, configured, "ann", "purchase", total=20, item="boots")
    assert await scheduler.run_due() == 1
    assert not sparkpost.accepted
    for flow in (made, at_noon):
        assert (await waits_of(db, configured.project_id, flow.automation_id))["ann"] == waits[
            flow.automation_id
        ]
        await automations.ActivateAutomation(
            pb.ActivateAutomationRequest(automation_id=flow.automation_id), metadata=configured.auth
        )
    assert sorted(await pending_timers(db, configured.project_id)) == sorted(end for _, end in waits.values())
    await track(profiles, configured, "ann", "purchase", total=20, item="boots")
    await scheduler.run_due()
    assert subjects_to(sparkpost, "ann@example.com") == ["Thanks ann boots"]
    noon = waits[at_noon.automation_id][1]
    assert noon.astimezone(TOKYO).time() == time(12)
    assert await pending_timers(db, configured.project_id) == [noon]


# --- checks when saved --------------------------------------------------------------------------------


async def test_the_wait_steps_are_checked_when_saved_naming_the_field(
    automations, templates, project
) -> None:
    hello = await saved_template(templates, project, "Hello")
    step = "automation.steps[0]"
    too_long = wait_for("w", "purchase", 366 * 86_400 + 1, "end", "end")
    repeated = [campaigns_pb2.DAY_OF_WEEK_MONDAY, campaigns_pb2.DAY_OF_WEEK_MONDAY]
    cases = [
        (f"{step}.wait_until.time_of_day", [wait_until("w", "9:00", "end"), end()]),
        (f"{step}.wait_until.time_of_day", [wait_until("w", "24:00", "end"), end()]),
        (f"{step}.wait_until.weekdays[1]", [wait_until("w", "09:00", "end", repeated), end()]),
        (f"{step}.wait_until.weekdays[0]", [wait_until("w", "09:00", "end", [0]), end()]),
        (f"{step}.next", [wait_until("w", "09:00", ""), end()]),
        (f"{step}.wait_for_event.name", [wait_for("w", "9lives", 60, "end", "end"), end()]),
        (f"{step}.wait_for_event.timeout", [wait_for("w", "purchase", 0, "end", "end"), end()]),
        (f"{step}.wait_for_event.timeout", [too_long, end()]),
        (f"{step}.wait_for_event.timeout_next", [wait_for("w", "purchase", 60, "end", ""), end()]),
        (f"{step}.wait_for_event.timeout_next", [wait_for("w", "purchase", 60, "end", "nowhere"), end()]),
        (
            f"{step}.wait_for_event.properties[0].key",
            [wait_for("w", "purchase", 60, "end", "end", [more_than("", 1)]), end()],
        ),
        ("automation.steps[1]", [wait_until("w", "09:00", "end"), send("x", hello, "end"), end()]),
    ]
    for path, steps in cases:
        error = await rpc_error(
            automations.CreateAutomation(
                pb.CreateAutomationRequest(automation=automation(steps)), metadata=project.auth
            )
        )
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, path
        assert [field for field, _ in field_violations(error)] == [path], path
    awaited_exit = automation([wait_for("w", "purchase", 60, "end", "end"), end()], exit_events=["purchase"])
    error = await rpc_error(
        automations.CreateAutomation(
            pb.CreateAutomationRequest(automation=awaited_exit), metadata=project.auth
        )
    )
    assert [field for field, _ in field_violations(error)] == ["automation.exit_events[0]"]
    # Loops through either wait are fine: each turn waits.
    for looped in (
        [wait_until("w", "09:00", "a"), send("a", hello, "w")],
        [wait_for("w", "purchase", 60, "a", "end"), send("a", hello, "w"), end()],
    ):
        created = await automations.CreateAutomation(
            pb.CreateAutomationRequest(automation=automation(looped)), metadata=project.auth
        )
        assert created.steps[0] == looped[0]
