"""Automations end to end, against the real server, database and SparkPost emulator: a tracked event
enters a profile and its first email goes out; waits are durable timers; exit events, re-entry policies,
versions, pause, restarts and two kernels."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from google.protobuf import duration_pb2, field_mask_pb2

from herald.v1 import automations_pb2 as pb
from herald.v1 import common_pb2, profiles_pb2, segments_pb2, webhooks_pb2
from tests.delivery.support import person, until
from tests.engage.automation_support import (
    active,
    automation,
    end,
    more_than,
    saved_template,
    send,
    sent_once_by_two_kernels,
    subjects_to,
    timer_kernel,
    track,
    wait,
)
from tests.engage.conftest import other_kernel
from tests.engage.support import fast_forward
from tests.outhook_receiver import Receiver
from tests.test_outgoing_webhooks import subscribe


async def entries(db, project, automation_id: str) -> list[tuple[str, str, str | None, int]]:  # type: ignore[no-untyped-def]
    """(custom id, state, exit reason, version) of each entry, oldest first."""
    rows = await db.fetch(
        """SELECT p.custom_id, e.state, e.exit_reason, e.version FROM automation_entries e
           JOIN profiles p USING (project_id, profile_id)
           WHERE e.project_id = $1 AND e.automation_id = $2 ORDER BY e.entered_at""",
        project.project_id,
        uuid.UUID(automation_id),
    )
    return [tuple(row) for row in rows]


async def ann_waiting(automations, templates, profiles, configured, server, subject: str) -> pb.Automation:  # type: ignore[no-untyped-def]
    """An active automation (a 1-second wait, then an email whose subject starts with ``subject``) that
    ann entered: she waits (the session kernel's scheduler, stopped, ran her event once)."""
    hello = await saved_template(templates, configured, subject)
    made = await active(
        automations, configured, automation([wait("w", 1, "mail"), send("mail", hello, "end"), end()])
    )
    await person(profiles, configured, "ann", email="ann@example.com", first_name="Ann")
    await track(profiles, configured, "ann", "cart_abandoned", item="x")
    assert await server.kernel.scheduler.run_due() == 1
    return made


async def test_a_matching_event_enters_the_profile_and_its_email_goes_out_with_webhook_events(
    automations, templates, profiles, configured, sparkpost, hooks, receiver: Receiver, db
) -> None:
    await subscribe(
        hooks,
        configured,
        receiver.url,
        [
            webhooks_pb2.WEBHOOK_EVENT_TYPE_AUTOMATION_ENTERED,
            webhooks_pb2.WEBHOOK_EVENT_TYPE_AUTOMATION_EXITED,
        ],
    )
    reminder = await saved_template(templates, configured, "Still thinking")
    trigger = pb.AutomationTrigger(
        event=pb.EventTrigger(name="cart_abandoned", properties=[more_than("total", 50)])
    )
    made = await active(
        automations, configured, automation([send("remind", reminder, "end"), end()], trigger=trigger)
    )
    await person(profiles, configured, "ann", email="ann@example.com", first_name="Ann")
    # Below the property filter: no entry.
    await track(profiles, configured, "ann", "cart_abandoned", total=20, item="socks")
    await track(profiles, configured, "ann", "cart_abandoned", total=80, item="boots")

    async def sent() -> bool:
        return bool(subjects_to(sparkpost, "ann@example.com"))

    await until(sent, "the automation's email reached SparkPost")
    assert subjects_to(sparkpost, "ann@example.com") == ["Still thinking Ann boots"]
    assert await entries(db, configured, made.automation_id) == [("ann", "left", "completed", 1)]
    await receiver.until(lambda: len(receiver.delivered()) == 2)
    entered, exited = sorted(receiver.delivered(), key=lambda event: event["created_at"])
    assert (entered["type"], exited["type"]) == ("automation.entered", "automation.exited")
    assert (
        entered["data"]["automation_id"] == made.automation_id
        and entered["data"]["event"] == "cart_abandoned"
    )
    assert exited["data"]["reason"] == "completed"
    assert entered["data"]["entry_id"] == exited["data"]["entry_id"]
    # The send step's message is recorded as the step's: its feedback is the step's.
    facts = await db.fetch(
        """SELECT f.step_id, f.fact, m.address FROM automation_step_facts f
           JOIN messages m ON m.project_id = f.project_id AND m.message_id = f.message_id
           WHERE f.project_id = $1 AND f.automation_id = $2""",
        configured.project_id,
        uuid.UUID(made.automation_id),
    )
    assert [tuple(row) for row in facts] == [("remind", "message", "ann@example.com")]


async def cart_reminder_after_an_hour(automations, templates, configured) -> pb.Automation:  # type: ignore[no-untyped-def]
    """Active: an hour's wait, then a "Your cart" email; "order_completed" takes the profile out."""
    reminder = await saved_template(templates, configured, "Your cart")
    return await active(
        automations,
        configured,
        automation(
            [wait("hour", 3600, "remind"), send("remind", reminder, "end"), end()],
            exit_events=["order_completed"],
        ),
    )


async def test_a_wait_then_a_send_and_an_exit_event_removes_a_waiting_profile(
    automations, templates, profiles, configured, sparkpost, settings, quiet_session_scheduler, db
) -> None:
    made = await cart_reminder_after_an_hour(automations, templates, configured)
    await person(profiles, configured, "ann", email="ann@example.com", first_name="Ann")
    await person(profiles, configured, "bob", email="bob@example.com", first_name="Bob")
    async with timer_kernel(settings, sparkpost):
        await track(profiles, configured, "ann", "cart_abandoned", item="hat")
        await track(profiles, configured, "bob", "cart_abandoned", item="scarf")

        async def both_waiting() -> bool:
            return len(await entries(db, configured, made.automation_id)) == 2

        await until(both_waiting, "both profiles entered")
        await track(profiles, configured, "bob", "order_completed")

        async def bob_left() -> bool:
            return ("bob", "left", "exit_event", 1) in await entries(db, configured, made.automation_id)

        await until(bob_left, "bob's exit event took him out")
        assert subjects_to(sparkpost, "ann@example.com") == [], "ann waits her hour"
        await fast_forward(db, configured.project_id, 3600)

        async def ann_reminded() -> bool:
            return bool(subjects_to(sparkpost, "ann@example.com"))

        await until(ann_reminded, "ann's wait ended and her email went out")
    assert subjects_to(sparkpost, "ann@example.com") == ["Your cart Ann hat"]
    assert subjects_to(sparkpost, "bob@example.com") == []
    assert sorted(await entries(db, configured, made.automation_id)) == [
        ("ann", "left", "completed", 1),
        ("bob", "left", "exit_event", 1),
    ]
    pending = await db.fetchval(
        """SELECT count(*) FROM scheduled_jobs
           WHERE project_id = $1 AND kind = 'automation.wait' AND state = 'pending'""",
        configured.project_id,
    )
    assert pending == 0, "bob's wait was dropped with him"


@pytest.mark.parametrize(
    ("reentry", "period_seconds", "expected"),
    [
        (pb.REENTRY_POLICY_ONCE, 0, 1),
        (pb.REENTRY_POLICY_ONCE_PER_PERIOD, 3600, 1),
        (pb.REENTRY_POLICY_ALWAYS, 0, 3),
    ],
    ids=["once", "once-per-hour", "always"],
)
async def test_reentry_policies(
    automations,
    templates,
    profiles,
    configured,
    sparkpost,
    db,
    reentry: int,
    period_seconds: int,
    expected: int,
) -> None:
    hello = await saved_template(templates, configured, "Hello")
    fields = {"reentry": reentry}
    if period_seconds:
        fields["reentry_period"] = duration_pb2.Duration(seconds=period_seconds)
    made = await active(automations, configured, automation([send("hi", hello, "end"), end()], **fields))
    await person(profiles, configured, "ann", email="ann@example.com", first_name="Ann")
    for item in ("a", "b", "c"):
        await track(profiles, configured, "ann", "cart_abandoned", item=item)

        async def handled() -> bool:
            return (
                await db.fetchval(
                    """SELECT count(*) FROM scheduled_jobs WHERE project_id = $1
                       AND kind IN ('automation.event', 'automation.events') AND state = 'pending'""",
                    configured.project_id,
                )
                == 0
            )

        await until(handled, "the event was handled")
    assert len(await entries(db, configured, made.automation_id)) == expected
    assert len(subjects_to(sparkpost, "ann@example.com")) == expected


async def test_a_profile_inside_finishes_on_its_version(
    automations, templates, profiles, configured, sparkpost, settings, quiet_session_scheduler, db
) -> None:
    first = await saved_template(templates, configured, "First")
    second = await saved_template(templates, configured, "Second")
    made = await active(
        automations, configured, automation([wait("pause", 1, "mail"), send("mail", first, "end"), end()])
    )
    await person(profiles, configured, "ann", email="ann@example.com", first_name="Ann")
    await person(profiles, configured, "bob", email="bob@example.com", first_name="Bob")
    async with timer_kernel(settings, sparkpost):
        await track(profiles, configured, "ann", "cart_abandoned", item="v1")

        async def ann_inside() -> bool:
            return bool(await entries(db, configured, made.automation_id))

        await until(ann_inside, "ann entered")
        updated = await automations.UpdateAutomation(
            pb.UpdateAutomationRequest(
                automation=pb.Automation(
                    automation_id=made.automation_id, steps=[send("mail", second, "end"), end()]
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["steps"]),
            ),
            metadata=configured.auth,
        )
        assert updated.version == 2 and updated.state == pb.AUTOMATION_STATE_ACTIVE
        await track(profiles, configured, "bob", "cart_abandoned", item="v2")

        async def both_sent() -> bool:
            return bool(
                subjects_to(sparkpost, "ann@example.com") and subjects_to(sparkpost, "bob@example.com")
            )

        await until(both_sent, "both emails went out")
    assert subjects_to(sparkpost, "ann@example.com") == ["First Ann v1"]
    assert subjects_to(sparkpost, "bob@example.com") == ["Second Bob v2"]
    assert sorted(await entries(db, configured, made.automation_id)) == [
        ("ann", "left", "completed", 1),
        ("bob", "left", "completed", 2),
    ]


async def test_pausing_stops_the_waits_and_activating_runs_them_once(
    automations, templates, profiles, configured, sparkpost, server, quiet_session_scheduler, db
) -> None:
    made = await ann_waiting(automations, templates, profiles, configured, server, "Later")
    scheduler = server.kernel.scheduler
    await automations.PauseAutomation(
        pb.PauseAutomationRequest(automation_id=made.automation_id), metadata=configured.auth
    )
    (wait_until,) = [
        row["wait_until"]
        for row in await db.fetch(
            "SELECT wait_until FROM automation_entries WHERE project_id = $1", configured.project_id
        )
    ]
    await asyncio.sleep(max(0.0, (wait_until - datetime.now(UTC)).total_seconds()) + 0.1)
    assert await scheduler.run_due() == 0, "no timer of a paused automation runs"
    assert subjects_to(sparkpost, "ann@example.com") == []
    # Paused, an event enters nobody.
    await person(profiles, configured, "bob", email="bob@example.com", first_name="Bob")
    await track(profiles, configured, "bob", "cart_abandoned", item="y")
    await scheduler.run_due()
    await automations.ActivateAutomation(
        pb.ActivateAutomationRequest(automation_id=made.automation_id), metadata=configured.auth
    )
    assert await scheduler.run_due() == 1
    assert subjects_to(sparkpost, "ann@example.com") == ["Later Ann x"]
    assert await scheduler.run_due() == 0
    assert subjects_to(sparkpost, "bob@example.com") == []
    assert [custom_id for custom_id, *_ in await entries(db, configured, made.automation_id)] == ["ann"]


async def test_waits_survive_a_restart_and_two_kernels_fire_each_once(
    automations, templates, profiles, configured, sparkpost, settings, quiet_session_scheduler, db
) -> None:
    hello = await saved_template(templates, configured, "Back")
    made = await active(
        automations, configured, automation([wait("w", 1, "mail"), send("mail", hello, "end"), end()])
    )
    people = [f"p{index}" for index in range(12)]
    for custom_id in people:
        await person(profiles, configured, custom_id, email=f"{custom_id}@example.com", first_name=custom_id)
    async with other_kernel(settings) as first:
        first.kernel.senders.endpoints["email.sparkpost"] = sparkpost.endpoint
        for custom_id in people:
            await track(profiles, configured, custom_id, "cart_abandoned", item="i")

        async def all_inside() -> bool:
            return len(await entries(db, configured, made.automation_id)) == len(people)

        await until(all_inside, "everyone entered")
    # That kernel is gone; the waits come due while no kernel runs them.
    latest = await db.fetchval(
        "SELECT max(wait_until) FROM automation_entries WHERE project_id = $1", configured.project_id
    )
    await asyncio.sleep(max(0.0, (latest - datetime.now(UTC)).total_seconds()) + 0.1)
    assert not sparkpost.accepted
    await sent_once_by_two_kernels(
        settings, sparkpost, [f"{custom_id}@example.com" for custom_id in people], "every wait fired"
    )
    assert {state for _, state, _, _ in await entries(db, configured, made.automation_id)} == {"left"}


async def test_archiving_removes_the_waiting_profiles_and_drops_their_waits(
    automations, templates, profiles, configured, sparkpost, server, quiet_session_scheduler, db
) -> None:
    made = await ann_waiting(automations, templates, profiles, configured, server, "Never")
    scheduler = server.kernel.scheduler
    archived = await automations.ArchiveAutomation(
        pb.ArchiveAutomationRequest(automation_id=made.automation_id), metadata=configured.auth
    )
    assert archived.state == pb.AUTOMATION_STATE_ARCHIVED and archived.profiles_inside == 0
    assert await entries(db, configured, made.automation_id) == [("ann", "left", "archived", 1)]
    assert not await db.fetchval(
        """SELECT count(*) FROM scheduled_jobs
           WHERE project_id = $1 AND kind = 'automation.wait' AND state = 'pending'""",
        configured.project_id,
    )
    # Archived, its trigger enters nobody.
    await track(profiles, configured, "ann", "cart_abandoned", item="y")
    await scheduler.run_due()
    assert len(await entries(db, configured, made.automation_id)) == 1
    assert subjects_to(sparkpost, "ann@example.com") == []


async def test_an_event_of_a_profile_erased_before_its_job_ran_enters_nobody(
    automations, templates, profiles, configured, sparkpost, server, quiet_session_scheduler, db
) -> None:
    hello = await saved_template(templates, configured, "Gone")
    made = await active(automations, configured, automation([send("mail", hello, "end"), end()]))
    await person(profiles, configured, "ann", email="ann@example.com", first_name="Ann")
    await track(profiles, configured, "ann", "cart_abandoned", item="x")
    await profiles.EraseProfile(
        profiles_pb2.EraseProfileRequest(profile=common_pb2.ProfileRef(custom_id="ann")),
        metadata=configured.auth,
    )
    assert await server.kernel.scheduler.run_due() == 1, "the event's job ran, and is done"
    assert await entries(db, configured, made.automation_id) == []
    assert subjects_to(sparkpost, "ann@example.com") == []


async def test_the_entry_filter_and_the_cap_turn_profiles_away(
    automations, templates, profiles, configured, sparkpost, server, quiet_session_scheduler, db
) -> None:
    hello = await saved_template(templates, configured, "Bonjour")
    in_france = segments_pb2.Condition(
        attribute=segments_pb2.AttributeCondition(
            key="country", equals=common_pb2.AttributeValue(string_value="FR")
        )
    )
    made = await active(
        automations,
        configured,
        automation(
            [wait("w", 3600, "mail"), send("mail", hello, "end"), end()],
            entry_filter=in_france,
            max_profiles_inside=1,
        ),
    )
    for custom_id, country in (("ann", "DE"), ("bea", "FR"), ("cyd", "FR")):
        await person(profiles, configured, custom_id, email=f"{custom_id}@example.com", country=country)
        await track(profiles, configured, custom_id, "cart_abandoned", item="x")
        # One at a time: events of different profiles run side by side, in no set order.
        await server.kernel.scheduler.run_due()
    # ann is not in France; cyd found bea inside, at the cap.
    assert await entries(db, configured, made.automation_id) == [("bea", "inside", None, 1)]
    found = await automations.GetAutomation(
        pb.GetAutomationRequest(automation_id=made.automation_id), metadata=configured.auth
    )
    assert found.profiles_inside == 1


async def test_an_exit_event_tracked_right_after_the_entering_one_never_overtakes_it(
    automations, templates, profiles, configured, sparkpost, server, quiet_session_scheduler, db
) -> None:
    """Each profile's two events are queued together and the scheduler runs several profiles' at once:
    the exit event still runs after the entry it removes (a profile's timers keep their order)."""
    made = await cart_reminder_after_an_hour(automations, templates, configured)
    people = [f"p{index}" for index in range(8)]
    for custom_id in people:
        await person(profiles, configured, custom_id, email=f"{custom_id}@example.com")
    for custom_id in people:
        await track(profiles, configured, custom_id, "cart_abandoned", item="x")
        await track(profiles, configured, custom_id, "order_completed")
    assert await server.kernel.scheduler.run_due() == 16
    assert sorted(await entries(db, configured, made.automation_id)) == [
        (custom_id, "left", "exit_event", 1) for custom_id in people
    ]
