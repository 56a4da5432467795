"""Temporary failures are retried (the provider's Retry-After first, else backoff), permanent ones never,
old ones expire; messages held by a dead worker are taken over and sent once."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg

from herald.v1 import messages_pb2
from kernel.delivery.slices import cut
from tests.delivery.conftest import SMS, sender_worker
from tests.delivery.support import completed, person, rows, send_request, wait_for

SMS_ONLY = {"channels": [SMS], "templates": {SMS: messages_pb2.MessageTemplate(text="Hi")}}


async def test_429_with_retry_after_is_retried_after_that_delay(
    messages, profiles, configured, sparkpost, worker, db
) -> None:
    await person(profiles, configured, "ann", email="ann@example.com")
    await person(profiles, configured, "bob", email="bob@example.com")
    sparkpost.fail_next(1, 429, retry_after=3)
    send = await messages.CreateSend(send_request(), metadata=configured.auth)
    waiting = await wait_for(messages, configured, send.send_id, lambda s: s.retries == 2)
    assert waiting.pending == 2 and waiting.sent == 0
    outbox = await rows(db, configured, send.send_id)
    assert {row["status"] for row in outbox} == {"waiting"}
    due = await db.fetch(
        "SELECT due_at - first_attempt_at AS wait FROM message_retries WHERE send_id = $1",
        uuid.UUID(send.send_id),
    )
    assert all(row["wait"] >= timedelta(seconds=3) for row in due)
    done = await completed(messages, configured, send.send_id)
    assert (done.sent, done.retries) == (2, 2)
    assert [row["attempts"] for row in await rows(db, configured, send.send_id)] == [2, 2]
    assert sorted(r["email"] for r in sparkpost.accepted) == ["ann@example.com", "bob@example.com"]


async def test_server_errors_are_retried_with_backoff(
    messages, profiles, configured, gateway, worker, db
) -> None:
    await person(profiles, configured, "ann", phone="+33612345678")
    gateway.fail_next(2, 503)
    send = await messages.CreateSend(send_request(**SMS_ONLY), metadata=configured.auth)
    done = await completed(messages, configured, send.send_id)
    assert (done.sent, done.retries) == (1, 2)
    [row] = await rows(db, configured, send.send_id)
    assert (row["status"], row["attempts"]) == ("sent", 3)
    assert [m["message_id"] for m in gateway.accepted] == [str(row["message_id"])]


async def test_permanent_failures_are_not_retried(
    messages, profiles, configured, gateway, worker, db
) -> None:
    await person(profiles, configured, "ann", phone="+33612345678")
    await person(profiles, configured, "bob", phone="+33698765432")
    gateway.invalidate("+33612345678")
    send = await messages.CreateSend(send_request(**SMS_ONLY), metadata=configured.auth)
    done = await completed(messages, configured, send.send_id)
    assert (done.sent, done.failed, done.retries) == (1, 1, 0)
    failed = [row for row in await rows(db, configured, send.send_id) if row["status"] == "failed"]
    assert [(row["address"], row["attempts"]) for row in failed] == [("+33612345678", 1)]
    # A number the gateway does not know is dead for every profile: it was removed from Ann's.
    left = await db.fetchval(
        "SELECT count(*) FROM profile_addresses WHERE project_id = $1 AND value = '+33612345678'",
        configured.project_id,
    )
    assert left == 0


async def test_a_message_failing_past_the_maximum_age_expires(
    messages, profiles, configured, gateway, server, db
) -> None:
    await person(profiles, configured, "ann", phone="+33612345678")
    gateway.fail_next(1, 503)
    async with sender_worker(server, message_max_age_seconds=0.5, retry_base_seconds=5.0):
        send = await messages.CreateSend(send_request(**SMS_ONLY), metadata=configured.auth)
        done = await completed(messages, configured, send.send_id)
    assert (done.expired, done.sent, done.pending) == (1, 0, 0)
    [row] = await rows(db, configured, send.send_id)
    assert (row["status"], row["attempts"]) == ("expired", 1)
    assert gateway.accepted == []


async def test_messages_leased_by_a_dead_worker_are_taken_over(
    messages, profiles, configured, sparkpost, server, db
) -> None:
    for index in range(5):
        await person(profiles, configured, f"p{index}", email=f"p{index}@example.com")
    send = await messages.CreateSend(send_request(start_paused=True), metadata=configured.auth)
    # A worker leases a slice of three profiles and dies before sending them (its heartbeat stops).
    await db.execute(
        """INSERT INTO workers (worker_id, host, pid, heartbeat_at)
           VALUES ('dead', 'gone', 1, now() - interval '1 hour')"""
    )
    await messages.ResumeSend(messages_pb2.ResumeSendRequest(send_id=send.send_id), metadata=configured.auth)
    assert await lease_a_slice(db, configured.project_id, send.send_id, "dead", 3)
    async with sender_worker(server):
        done = await completed(messages, configured, send.send_id)
    assert done.sent == 5
    outbox = await rows(db, configured, send.send_id)
    assert sorted(r["herald_message_id"] for r in sparkpost.accepted) == sorted(
        str(r["message_id"]) for r in outbox
    )
    assert await db.fetchval("SELECT count(*) FROM workers WHERE worker_id = 'dead'") == 0


async def test_a_restarted_worker_takes_back_what_it_held(
    messages, profiles, configured, sparkpost, server
) -> None:
    for index in range(3):
        await person(profiles, configured, f"p{index}", email=f"p{index}@example.com")
    send = await messages.CreateSend(send_request(start_paused=True), metadata=configured.auth)
    await messages.ResumeSend(messages_pb2.ResumeSendRequest(send_id=send.send_id), metadata=configured.auth)
    # The worker leased a slice of two profiles, then could not finish it (its run ended before).
    assert await lease_a_slice(server.kernel.db.pool, configured.project_id, send.send_id, "restarted", 2)
    async with sender_worker(server, worker_id="restarted"):
        done = await completed(messages, configured, send.send_id)
    assert done.sent == 3
    assert len({r["herald_message_id"] for r in sparkpost.accepted}) == len(sparkpost.accepted) == 3


async def lease_a_slice(db: asyncpg.Pool, project_id: uuid.UUID, send_id: str, owner: str, size: int) -> bool:
    """Lease the send's next slice of ``size`` profiles to ``owner`` for ten minutes, as its worker would."""
    async with db.acquire() as conn, conn.transaction():
        part = await cut(conn, project_id, uuid.UUID(send_id), owner, timedelta(minutes=10), size)
    return part is not None
