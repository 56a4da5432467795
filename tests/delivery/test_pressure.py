"""Marketing pressure rules against the real server, database, workers and SparkPost emulator: caps at
their edges (in total, per label), the grace period, quiet hours in the recipients' zones (dropped, or
delayed in message_retries and sent once they end), transactional messages exempt, and two workers
racing on the same profiles never exceeding a cap."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration

from herald.v1 import common_pb2, messages_pb2, pressure_pb2, pressure_pb2_grpc, profiles_pb2
from kernel.engage.pressure import Cap, Period, PressureRules, Reason
from kernel.engage.pressure.touches import Candidate, judge_batch
from kernel.engage.pressure.upkeep import forget_old_touches
from tests.conftest import ProjectKey, field_violations, rpc_error
from tests.delivery.conftest import EMAIL, SMS, sender_worker
from tests.delivery.support import (
    EMAIL_TEMPLATE,
    SMS_TEMPLATE,
    adds_up,
    completed,
    person,
    send_request,
    wait_for,
)

DAY = pressure_pb2.CAP_PERIOD_DAY


@pytest.fixture
def pressure(channel: grpc.aio.Channel) -> pressure_pb2_grpc.PressureServiceStub:
    """PressureService client."""
    return pressure_pb2_grpc.PressureServiceStub(channel)


async def set_rules(stub: pressure_pb2_grpc.PressureServiceStub, project: ProjectKey, **rules: Any) -> None:
    await stub.UpdatePressureRules(
        pressure_pb2.UpdatePressureRulesRequest(rules=pressure_pb2.PressureRules(**rules)),
        metadata=project.auth,
    )


def cap(max_messages: int, **fields: Any) -> pressure_pb2.FrequencyCap:
    return pressure_pb2.FrequencyCap(max_messages=max_messages, period=fields.pop("period", DAY), **fields)


async def people(profiles, project: ProjectKey, count: int, **values: Any) -> list[str]:
    """``count`` new profiles with an address of their own (``<custom id>@herald.test``)."""
    ids = []
    for _ in range(count):
        custom_id = uuid.uuid4().hex[:12]
        ids.append(await person(profiles, project, custom_id, email=f"{custom_id}@herald.test", **values))
    return ids


async def send_to(messages, project: ProjectKey, ids: list[str], label: str = "", **fields: Any):
    template = messages_pb2.MessageTemplate()
    template.CopyFrom(EMAIL_TEMPLATE)
    template.campaign = label
    refs = [common_pb2.ProfileRef(profile_id=profile_id) for profile_id in ids]
    send = await messages.CreateSend(
        send_request(profiles=messages_pb2.ProfileList(profiles=refs), templates={EMAIL: template}, **fields),
        metadata=project.auth,
    )
    return send.send_id


async def test_rules_are_read_back_and_bad_ones_name_their_field(pressure, project: ProjectKey) -> None:
    assert await pressure.GetPressureRules(pressure_pb2.GetPressureRulesRequest(), metadata=project.auth) == (
        pressure_pb2.PressureRules()
    )
    quiet = pressure_pb2.QuietHours(start="21:00", end="08:00", action=pressure_pb2.QUIET_HOURS_ACTION_DELAY)
    await set_rules(pressure, project, caps=[cap(2, label="promo")], grace_period=Duration(seconds=3600))
    await pressure.UpdatePressureRules(
        pressure_pb2.UpdatePressureRulesRequest(
            rules=pressure_pb2.PressureRules(quiet_hours=quiet), update_mask={"paths": ["quiet_hours"]}
        ),
        metadata=project.auth,
    )
    rules = await pressure.GetPressureRules(pressure_pb2.GetPressureRulesRequest(), metadata=project.auth)
    assert list(rules.caps) == [cap(2, label="promo")]
    assert rules.grace_period.seconds == 3600 and rules.quiet_hours == quiet
    assert rules.HasField("update_time")
    for bad, field in (
        ({"caps": [cap(0)]}, "rules.caps[0].max_messages"),
        ({"caps": [cap(1, period=0)]}, "rules.caps[0].period"),
        ({"caps": [cap(1, channel="pigeon")]}, "rules.caps[0].channel"),
        ({"grace_period": Duration(seconds=-1)}, "rules.grace_period"),
        (
            {"quiet_hours": pressure_pb2.QuietHours(start="9:00", end="10:00", action=1)},
            "rules.quiet_hours.start",
        ),
        (
            {"quiet_hours": pressure_pb2.QuietHours(start="09:00", end="09:00", action=1)},
            "rules.quiet_hours.end",
        ),
        ({"quiet_hours": pressure_pb2.QuietHours(start="09:00", end="10:00")}, "rules.quiet_hours.action"),
    ):
        error = await rpc_error(set_rules(pressure, project, **bad))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_violations(error)[0][0] == field
    unchanged = await pressure.GetPressureRules(pressure_pb2.GetPressureRulesRequest(), metadata=project.auth)
    assert unchanged == rules


async def test_the_nth_message_goes_and_the_next_is_capped(
    messages, profiles, pressure, configured: ProjectKey, sparkpost, worker, db
) -> None:
    ids = await people(profiles, configured, 2)
    await set_rules(pressure, configured, caps=[cap(2)])
    for expected_sent in (2, 2):
        send = await completed(messages, configured, await send_to(messages, configured, ids))
        assert (send.sent, send.capped) == (expected_sent, 0) and adds_up(send)
    third = await completed(messages, configured, await send_to(messages, configured, ids))
    assert (third.sent, third.capped, third.planned) == (0, 2, 2) and adds_up(third)
    assert [(c.channel, c.capped) for c in third.by_channel] == [(EMAIL, 2)]
    logged = await db.fetch(
        "SELECT outcome FROM message_log WHERE project_id = $1 AND send_id = $2",
        configured.project_id,
        uuid.UUID(third.send_id),
    )
    assert [row["outcome"] for row in logged] == ["capped", "capped"]


async def test_a_label_cap_holds_only_its_label(
    messages, profiles, pressure, configured: ProjectKey, sparkpost, worker
) -> None:
    ids = await people(profiles, configured, 1)
    await set_rules(pressure, configured, caps=[cap(1, label="promo")])
    first = await completed(messages, configured, await send_to(messages, configured, ids, "promo"))
    again = await completed(messages, configured, await send_to(messages, configured, ids, "promo"))
    other = await completed(messages, configured, await send_to(messages, configured, ids, "news"))
    assert (first.sent, again.capped, other.sent) == (1, 1, 1)


async def test_a_channel_cap_holds_only_its_channel(
    messages, profiles, pressure, configured: ProjectKey, sparkpost, gateway, worker
) -> None:
    ids = [await person(profiles, configured, "both", email="both@herald.test", phone="+33612345678")]
    await set_rules(pressure, configured, caps=[cap(1, channel=SMS)])
    refs = messages_pb2.ProfileList(profiles=[common_pb2.ProfileRef(profile_id=ids[0])])
    request = send_request(
        profiles=refs, channels=[EMAIL, SMS], templates={EMAIL: EMAIL_TEMPLATE, SMS: SMS_TEMPLATE}
    )
    first = await completed(
        messages, configured, (await messages.CreateSend(request, metadata=configured.auth)).send_id
    )
    second = await completed(
        messages, configured, (await messages.CreateSend(request, metadata=configured.auth)).send_id
    )
    assert (first.sent, first.capped) == (2, 0)
    assert [(c.channel, c.sent, c.capped) for c in second.by_channel] == [(EMAIL, 1, 0), (SMS, 0, 1)]
    assert adds_up(second)


async def test_grace_period_between_two_messages(
    messages, profiles, pressure, configured: ProjectKey, sparkpost, worker
) -> None:
    ids = await people(profiles, configured, 1)
    await set_rules(pressure, configured, grace_period=Duration(seconds=3600))
    first = await completed(messages, configured, await send_to(messages, configured, ids))
    second = await completed(messages, configured, await send_to(messages, configured, ids))
    assert (first.sent, second.sent, second.grace_period) == (1, 0, 1) and adds_up(second)


def quiet_now(action: int) -> pressure_pb2.QuietHours:
    """Quiet hours holding now in UTC (an hour either side) and not in UTC+6 to UTC+9's zones."""
    now = datetime.now(UTC)
    start, end = now - timedelta(hours=1), now + timedelta(hours=1)
    return pressure_pb2.QuietHours(start=f"{start:%H:%M}", end=f"{end:%H:%M}", action=action)


async def test_quiet_hours_drop_in_the_recipients_zone(
    messages, profiles, pressure, configured: ProjectKey, sparkpost, worker
) -> None:
    inside = await people(profiles, configured, 1, timezone="Europe/London")  # UTC in December
    outside = [await person(profiles, configured, "tokyo", email="tokyo@herald.test", timezone="Asia/Tokyo")]
    await set_rules(pressure, configured, quiet_hours=quiet_now(pressure_pb2.QUIET_HOURS_ACTION_DROP))
    send = await completed(messages, configured, await send_to(messages, configured, inside + outside))
    assert (send.sent, send.quiet_hours_dropped) == (1, 1) and adds_up(send)
    assert [record["email"] for record in sparkpost.accepted] == ["tokyo@herald.test"]


async def test_quiet_hours_delay_until_they_end(
    messages, profiles, pressure, configured: ProjectKey, sparkpost, worker, db
) -> None:
    ids = await people(profiles, configured, 1)  # the project's zone: UTC
    await set_rules(pressure, configured, quiet_hours=quiet_now(pressure_pb2.QUIET_HOURS_ACTION_DELAY))
    send_id = await send_to(messages, configured, ids)
    send = await wait_for(messages, configured, send_id, lambda s: s.quiet_hours_delayed == 1)
    assert send.pending == 1 and send.state == messages_pb2.SEND_STATE_RUNNING
    due = await db.fetchval(
        "SELECT due_at FROM message_retries WHERE project_id = $1 AND send_id = $2",
        configured.project_id,
        uuid.UUID(send_id),
    )
    assert timedelta(minutes=58) < due - datetime.now(UTC) <= timedelta(hours=1)
    # The end comes: the clock is moved to it for this message, and quiet hours are over by then.
    await set_rules(pressure, configured)
    await db.execute(
        "UPDATE message_retries SET due_at = now() WHERE project_id = $1 AND send_id = $2",
        configured.project_id,
        uuid.UUID(send_id),
    )
    send = await completed(messages, configured, send_id)
    assert (send.sent, send.quiet_hours_delayed) == (1, 1) and adds_up(send)


async def test_transactional_messages_are_exempt_and_not_counted(
    messages, profiles, pressure, configured: ProjectKey, sparkpost, worker
) -> None:
    ids = await people(profiles, configured, 1)
    await set_rules(pressure, configured, caps=[cap(1)], grace_period=Duration(seconds=3600))
    for _ in range(2):
        reply = await messages.SendTransactional(
            messages_pb2.SendTransactionalRequest(
                profile=common_pb2.ProfileRef(profile_id=ids[0]), channels=[EMAIL], template=EMAIL_TEMPLATE
            ),
            metadata=configured.auth,
        )
        assert reply.deliveries[0].status == messages_pb2.DELIVERY_STATUS_ACCEPTED
    transactional = common_pb2.PURPOSE_TRANSACTIONAL
    bulk = await completed(
        messages, configured, await send_to(messages, configured, ids, purpose=transactional)
    )
    marketing = await completed(messages, configured, await send_to(messages, configured, ids))
    again = await completed(messages, configured, await send_to(messages, configured, ids))
    assert (bulk.sent, marketing.sent, again.sent, again.grace_period) == (1, 1, 0, 1)


async def test_two_workers_racing_never_exceed_the_cap(
    server, messages, profiles, pressure, configured: ProjectKey, sparkpost, db
) -> None:
    ids = await people(profiles, configured, 30)
    await set_rules(pressure, configured, caps=[cap(1)])
    sends = [await send_to(messages, configured, ids) for _ in range(3)]
    async with sender_worker(server, worker_batch_size=7), sender_worker(server, worker_batch_size=5):
        done = [await completed(messages, configured, send_id) for send_id in sends]
    assert sum(s.sent for s in done) == 30 and sum(s.capped for s in done) == 60
    per_profile = await db.fetch(
        """SELECT profile_id, count(*) FROM message_log
           WHERE project_id = $1 AND send_id = any($2::uuid[]) AND outcome = 'sent' GROUP BY profile_id""",
        configured.project_id,
        [uuid.UUID(s) for s in sends],
    )
    assert len(per_profile) == 30 and {row["count"] for row in per_profile} == {1}


async def test_a_message_judged_again_after_a_crash_is_counted_once(
    db, project: ProjectKey, profiles
) -> None:
    """A worker that judged a batch and died before sending it: its messages come back with the same ids
    (a slice read again, a lease lapsed) and go, counted once; the cap still holds for any other."""
    (profile_id,) = [uuid.UUID(i) for i in await people(profiles, project, 1)]
    rules = PressureRules(caps=(Cap(2, Period.DAY),))
    first, second, third = (Candidate(str(uuid.uuid4()), profile_id, EMAIL, "") for _ in range(3))
    utc = ZoneInfo("UTC")
    async with db.acquire() as conn:
        _, judged = await judge_batch(conn, project.project_id, rules, utc, [first, second])
        _, again = await judge_batch(conn, project.project_id, rules, utc, [second, first, third])
    assert [v.reason for v in judged] == [None, None]
    assert [v.reason for v in again] == [None, None, Reason.CAPPED]
    touches = await db.fetchval(
        "SELECT count(*) FROM marketing_touches WHERE project_id = $1 AND profile_id = $2",
        project.project_id,
        profile_id,
    )
    assert touches == 2


async def test_a_merged_profiles_messages_count_against_the_persons_cap(
    db, project: ProjectKey, profiles
) -> None:
    """A marketing message to the visitor's profile, then the visitor is merged into the customer's: the
    customer already had the day's one message."""
    visitor, customer = (uuid.UUID(i) for i in await people(profiles, project, 2))
    rules = PressureRules(caps=(Cap(1, Period.DAY),))
    utc = ZoneInfo("UTC")
    async with db.acquire() as conn:
        _, judged = await judge_batch(
            conn, project.project_id, rules, utc, [Candidate(str(uuid.uuid4()), visitor, EMAIL, "")]
        )
    assert [v.reason for v in judged] == [None]
    await profiles.MergeProfiles(
        profiles_pb2.MergeProfilesRequest(
            source=common_pb2.ProfileRef(profile_id=str(visitor)),
            target=common_pb2.ProfileRef(profile_id=str(customer)),
        ),
        metadata=project.auth,
    )
    async with db.acquire() as conn:
        _, judged = await judge_batch(
            conn, project.project_id, rules, utc, [Candidate(str(uuid.uuid4()), customer, EMAIL, "")]
        )
    assert [v.reason for v in judged] == [Reason.CAPPED]


async def test_touches_past_every_rules_reach_are_forgotten(db, project: ProjectKey, profiles) -> None:
    """A profile no send judges again keeps its touches only as long as some rules could look back."""
    (profile_id,) = [uuid.UUID(i) for i in await people(profiles, project, 1)]
    rules = PressureRules(caps=(Cap(5, Period.DAY),))
    candidates = [Candidate(str(uuid.uuid4()), profile_id, EMAIL, "") for _ in range(2)]
    async with db.acquire() as conn:
        await judge_batch(conn, project.project_id, rules, ZoneInfo("UTC"), candidates)
    for candidate, days_ago in zip(candidates, (6.9, 7.1), strict=True):
        await db.execute(
            """UPDATE marketing_touches SET touched_at = now() - $3::float8 * interval '1 day'
               WHERE project_id = $1 AND message_id = $2""",
            project.project_id,
            uuid.UUID(candidate.message_id),
            days_ago,
        )
    assert await forget_old_touches(db, batch_rows=1) >= 1
    kept = await db.fetch(
        "SELECT message_id::text FROM marketing_touches WHERE project_id = $1", project.project_id
    )
    assert [row["message_id"] for row in kept] == [candidates[0].message_id]
