"""Marketing pressure rules on automation sends, against the real server, database and SparkPost
emulator: a cap counts automation and bulk messages together, the grace period, quiet hours in the
recipient's zone delaying the step (durably, judged again when they end) or dropping its message, each
held message a fact of its step with its reason, and transactional messages exempt."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration

from herald.v1 import automations_pb2 as pb
from herald.v1 import common_pb2, messages_pb2, pressure_pb2, pressure_pb2_grpc
from tests.conftest import SPARKPOST
from tests.delivery.conftest import sender_worker
from tests.delivery.support import completed, person
from tests.delivery.test_pressure import cap, send_to, set_rules
from tests.engage.automation_support import (
    active,
    automation,
    end,
    saved_template,
    send,
    subjects_to,
    track,
    wait,
)
from tests.engage.support import fast_forward

ALWAYS = pb.REENTRY_POLICY_ALWAYS
ANN = "ann@example.com"
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def pressure(channel: grpc.aio.Channel) -> pressure_pb2_grpc.PressureServiceStub:
    return pressure_pb2_grpc.PressureServiceStub(channel)


async def step_facts(db, project, automation_id: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(step, fact) of the automation's facts, in the order recorded."""
    rows = await db.fetch(
        """SELECT step_id, fact FROM automation_step_facts WHERE project_id = $1 AND automation_id = $2
           ORDER BY fact_id""",
        project.project_id,
        uuid.UUID(automation_id),
    )
    return [(row["step_id"], row["fact"]) for row in rows]


async def entry_state(db, project, automation_id: str) -> tuple[str, str, datetime | None]:  # type: ignore[no-untyped-def]
    row = await db.fetchrow(
        """SELECT state, step_id, wait_until FROM automation_entries
           WHERE project_id = $1 AND automation_id = $2""",
        project.project_id,
        uuid.UUID(automation_id),
    )
    return row["state"], row["step_id"], row["wait_until"]


def quiet_around_now_in(zone: ZoneInfo, action: Any) -> tuple[pressure_pb2.QuietHours, datetime]:
    """Quiet hours holding this instant in ``zone`` (from an hour ago to two hours ahead there, to the
    minute) but not in UTC nine hours off, and the instant they end."""
    local = datetime.now(zone).replace(second=0, microsecond=0)
    start, stop = local - timedelta(hours=1), local + timedelta(hours=2)
    quiet = pressure_pb2.QuietHours(start=f"{start:%H:%M}", end=f"{stop:%H:%M}", action=action)
    return quiet, stop.astimezone(UTC)


async def ann_in_tokyo_at_night(  # type: ignore[no-untyped-def]
    automations, templates, profiles, pressure, configured, quiet: pressure_pb2.QuietHours
) -> pb.Automation:
    """``quiet`` set as the project's quiet hours, an active automation emailing "Hello" at once, and ann
    living in Tokyo."""
    await set_rules(pressure, configured, quiet_hours=quiet)
    hello = await saved_template(templates, configured, "Hello")
    made = await active(automations, configured, automation([send("mail", hello, "end"), end()]))
    await person(profiles, configured, "ann", email=ANN, first_name="Ann", timezone="Asia/Tokyo")
    return made


async def test_a_cap_counts_automation_and_bulk_messages_together_and_transactional_ones_go(
    automations,
    templates,
    profiles,
    messages,
    pressure,
    configured,
    sparkpost,
    quiet_session_scheduler,
    server,
    db,
) -> None:
    await set_rules(pressure, configured, caps=[cap(2)])
    hello = await saved_template(templates, configured, "Hello")
    made = await active(
        automations, configured, automation([send("mail", hello, "end"), end()], reentry=ALWAYS)
    )
    ann = await person(profiles, configured, "ann", email=ANN, first_name="Ann")
    async with sender_worker(server):
        bulk = await completed(messages, configured, await send_to(messages, configured, [ann]))
    assert bulk.sent == 1
    for item in ("a", "b"):
        await track(profiles, configured, "ann", "cart_abandoned", item=item)
    assert await server.kernel.scheduler.run_due() == 2
    assert subjects_to(sparkpost, ANN)[1:] == ["Hello Ann a"], "the bulk message counted: one more goes"
    assert await step_facts(db, configured, made.automation_id) == [("mail", "message"), ("mail", "capped")]
    touches = await db.fetchval(
        "SELECT count(*) FROM marketing_touches WHERE project_id = $1", configured.project_id
    )
    assert touches == 2
    async with sender_worker(server):
        again = await completed(messages, configured, await send_to(messages, configured, [ann]))
    assert (again.sent, again.capped) == (0, 1), "the automation's message counted for the bulk send"
    reply = await messages.SendTransactional(
        messages_pb2.SendTransactionalRequest(
            profile=common_pb2.ProfileRef(custom_id="ann"),
            channels=[SPARKPOST],
            template=messages_pb2.MessageTemplate(subject="Your code", html="<p>1234</p>"),
        ),
        metadata=configured.auth,
    )
    assert reply.deliveries[0].status == messages_pb2.DELIVERY_STATUS_ACCEPTED
    assert subjects_to(sparkpost, ANN)[-1] == "Your code", "transactional messages are exempt"


async def test_the_grace_period_holds_a_second_message_sent_too_soon(
    automations, templates, profiles, pressure, configured, sparkpost, quiet_session_scheduler, server, db
) -> None:
    await set_rules(pressure, configured, grace_period=Duration(seconds=3600))
    first = await saved_template(templates, configured, "First")
    second = await saved_template(templates, configured, "Second")
    made = await active(
        automations,
        configured,
        automation(
            [
                send("one", first, "soon"),
                wait("soon", 3599, "two"),
                send("two", second, "later"),
                wait("later", 3600, "three"),
                send("three", first, "end"),
                end(),
            ]
        ),
    )
    await person(profiles, configured, "ann", email=ANN, first_name="Ann")
    await track(profiles, configured, "ann", "cart_abandoned", item="x")
    assert await server.kernel.scheduler.run_due() == 1
    # The touch is moved back as the timers are: the database's clock cannot be.
    await db.execute(
        "UPDATE marketing_touches SET touched_at = touched_at - interval '3599 s' WHERE project_id = $1",
        configured.project_id,
    )
    await fast_forward(db, configured.project_id, 3599)
    assert await server.kernel.scheduler.run_due() == 1
    await db.execute(
        "UPDATE marketing_touches SET touched_at = touched_at - interval '3600 s' WHERE project_id = $1",
        configured.project_id,
    )
    await fast_forward(db, configured.project_id, 3600)
    assert await server.kernel.scheduler.run_due() == 1
    assert subjects_to(sparkpost, ANN) == ["First Ann x", "First Ann x"]
    assert await step_facts(db, configured, made.automation_id) == [
        ("one", "message"),
        ("two", "grace_period"),
        ("three", "message"),
    ]


async def test_quiet_hours_in_the_recipients_zone_delay_the_step_until_they_end(
    automations, templates, profiles, pressure, configured, sparkpost, quiet_session_scheduler, server, db
) -> None:
    quiet, ends = quiet_around_now_in(TOKYO, pressure_pb2.QUIET_HOURS_ACTION_DELAY)
    made = await ann_in_tokyo_at_night(automations, templates, profiles, pressure, configured, quiet)
    await person(profiles, configured, "bob", email="bob@example.com", first_name="Bob")
    await track(profiles, configured, "ann", "cart_abandoned", item="x")
    await track(profiles, configured, "bob", "cart_abandoned", item="y")
    assert await server.kernel.scheduler.run_due() == 2
    assert subjects_to(sparkpost, "bob@example.com") == ["Hello Bob y"], "UTC is not in quiet hours"
    assert subjects_to(sparkpost, ANN) == []
    rows = await db.fetch(
        """SELECT p.custom_id, e.state, e.step_id, e.wait_until FROM automation_entries e
           JOIN profiles p USING (project_id, profile_id) WHERE e.project_id = $1 ORDER BY p.custom_id""",
        configured.project_id,
    )
    assert [tuple(row) for row in rows] == [("ann", "inside", "mail", ends), ("bob", "left", "end", None)]
    assert ("mail", "quiet_hours_delayed") in await step_facts(db, configured, made.automation_id)
    # Nothing runs before they end: the delay is the entry's durable timer.
    assert await server.kernel.scheduler.run_due() == 0
    # The quiet hours end: ann's step is judged again (the rules, as time moved, no longer hold it).
    shifted = pressure_pb2.QuietHours(
        start=f"{ends.astimezone(TOKYO) + timedelta(hours=1):%H:%M}",
        end=f"{ends.astimezone(TOKYO) + timedelta(hours=2):%H:%M}",
        action=quiet.action,
    )
    await set_rules(pressure, configured, quiet_hours=shifted)
    await fast_forward(db, configured.project_id, (ends - datetime.now(UTC)).total_seconds() + 1)
    assert await server.kernel.scheduler.run_due() == 1
    assert subjects_to(sparkpost, ANN) == ["Hello Ann x"]
    facts = [fact for step, fact in await step_facts(db, configured, made.automation_id)]
    assert facts.count("quiet_hours_delayed") == 1 and facts.count("message") == 2


async def test_quiet_hours_set_to_drop_drop_the_message_and_the_profile_walks_on(
    automations, templates, profiles, pressure, configured, sparkpost, quiet_session_scheduler, server, db
) -> None:
    quiet, _ = quiet_around_now_in(TOKYO, pressure_pb2.QUIET_HOURS_ACTION_DROP)
    made = await ann_in_tokyo_at_night(automations, templates, profiles, pressure, configured, quiet)
    await track(profiles, configured, "ann", "cart_abandoned", item="x")
    assert await server.kernel.scheduler.run_due() == 1
    assert subjects_to(sparkpost, ANN) == []
    assert await step_facts(db, configured, made.automation_id) == [("mail", "quiet_hours_dropped")]
    assert (await entry_state(db, configured, made.automation_id))[:2] == ("left", "end")
    touches = await db.fetchval(
        "SELECT count(*) FROM marketing_touches WHERE project_id = $1", configured.project_id
    )
    assert touches == 0
