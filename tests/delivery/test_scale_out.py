"""Scale-out and crash safety with real processes: ``herald worker`` processes share one database, and a
worker, or a whole kernel, killed with SIGKILL mid-send loses nothing; only what it had in flight may be
sent twice, with the same message id. The SparkPost emulators run in the test process, so they outlive
the workers and count."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import orjson
import pytest

from herald.v1 import messages_pb2, messages_pb2_grpc
from kernel.delivery import slice_outcomes, slices
from kernel.delivery.slice_outcomes import BatchOutcome, Logged, Pending
from plugins.sparkpost.emulator import SparkPostEmulator
from tests.delivery.conftest import EMAIL, SPARKPOST_KEY, sender_worker
from tests.delivery.support import (
    PATIENCE_SECONDS,
    adds_up,
    completed,
    herald_worker,
    person,
    seed_people,
    seeded_emails,
    send_request,
)


@pytest.fixture
async def worker_env(database_url: str, data_dir: Path, sparkpost: Any, db: Any) -> dict[str, str]:
    """The environment of a ``herald worker`` process: the test database and data folder (hence the same
    credentials key), SparkPost pointed at the emulator, quick retries and leases: a lease long enough
    that a live worker on a loaded machine keeps its slices (renewed every third of it), short enough
    that a killed one's are taken over within seconds.

    The sends that earlier tests left running are paused first: a worker serves every project, and
    theirs would take its slots, some for a whole request timeout at endpoints long gone."""
    await db.execute("UPDATE sends SET state = 'paused', updated_at = now() WHERE state = 'running'")
    return {
        **os.environ,
        "HERALD_DATABASE_URL": database_url,
        "HERALD_DATA_DIR": str(data_dir),
        "HERALD_CHANNEL_ENDPOINTS": orjson.dumps({EMAIL: sparkpost.endpoint}).decode(),
        "HERALD_METRICS_ADDRESS": "127.0.0.1:0",
        "HERALD_LEASE_SECONDS": "4",
        "HERALD_RETRY_BASE_SECONDS": "0.1",
        "HERALD_RETRY_MAX_SECONDS": "1",
        "HERALD_HEARTBEAT_SECONDS": "0.3",
        "HERALD_LOG_LEVEL": "WARNING",
        "HERALD_LOG_FORMAT": "text",
    }


async def test_two_worker_processes_share_a_send_and_send_nothing_twice(
    messages, configured, sparkpost, worker_env, db
) -> None:
    """Two ``herald worker`` processes and the test's kernel (serving the API, sending nothing) on one
    PostgreSQL. Each worker is pointed at a SparkPost emulator of its own, so what each emulator
    received is what that worker sent: judged from the API and the receipts only."""
    audience = 3000
    await seed_people(db, configured, audience)
    async with SparkPostEmulator(SPARKPOST_KEY) as other_sparkpost:
        receivers = (sparkpost, other_sparkpost)
        for receiver in receivers:
            receiver.set_latency(0.05)
        async with (
            herald_worker(worker_env, db, worker_batch_size=100, worker_concurrency=2),
            herald_worker(
                worker_env,
                db,
                worker_batch_size=100,
                worker_concurrency=2,
                channel_endpoints=orjson.dumps({EMAIL: other_sparkpost.endpoint}).decode(),
            ),
        ):
            send = await messages.CreateSend(send_request(), metadata=configured.auth)
            done = await completed(messages, configured, send.send_id)
    assert (done.planned, done.sent, done.pending) == (audience, audience, 0)
    assert adds_up(done)
    assert all(receiver.accepted for receiver in receivers), "a worker sent nothing"
    received = [record for receiver in receivers for record in receiver.accepted]
    emails = [record["email"] for record in received]
    assert len(emails) == len(set(emails)) == audience
    assert set(emails) == seeded_emails(audience)
    ids = [record["herald_message_id"] for record in received]
    assert len(set(ids)) == audience


async def test_a_worker_killed_mid_send_loses_nothing(
    messages, configured, sparkpost, worker_env, db
) -> None:
    batch, concurrency, audience = 500, 2, 20_000
    await seed_people(db, configured, audience)
    sparkpost.set_latency(0.01)
    settings = {"worker_batch_size": batch, "worker_concurrency": concurrency}
    async with herald_worker(worker_env, db, **settings) as doomed:
        send = await messages.CreateSend(send_request(), metadata=configured.auth)
        at_kill = await kill_once_a_quarter_is_sent(doomed, sparkpost, audience)
    assert at_kill < audience, "the worker finished before it could be killed"
    async with herald_worker(worker_env, db, **settings):
        done = await completed(messages, configured, send.send_id)
    assert (done.sent, done.pending) == (audience, 0)

    assert_each_sent_once_but_what_was_in_flight(sparkpost, audience, batch * concurrency)


@contextlib.asynccontextmanager
async def herald_kernel(
    env: dict[str, str], **settings: Any
) -> AsyncIterator[tuple[asyncio.subprocess.Process, messages_pb2_grpc.MessageServiceStub]]:
    """``herald serve`` in its own process (its API and its sender workers), and a stub of its API once it
    answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    extra = {f"HERALD_{name.upper()}": str(value) for name, value in settings.items()}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kernel.cli",
        "serve",
        env={**env, **extra, "HERALD_GRPC_ADDRESS": address, "HERALD_WEBHOOK_ADDRESS": "127.0.0.1:0"},
    )
    try:
        async with grpc.aio.insecure_channel(address) as channel:
            await asyncio.wait_for(channel.channel_ready(), PATIENCE_SECONDS)
            yield process, messages_pb2_grpc.MessageServiceStub(channel)
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


async def test_a_kernel_killed_mid_send_and_started_again_loses_nothing(
    configured, sparkpost, worker_env, db
) -> None:
    """The whole kernel (API and workers in one process) killed with SIGKILL in the middle of a send, then
    started again on the same database: every recipient gets its message, and only what the dead kernel
    had in flight (at most one provider batch per slot) twice, with the same message id."""
    batch, concurrency, audience = 500, 2, 10_000
    await seed_people(db, configured, audience)
    sparkpost.set_latency(0.01)
    settings = {"worker_batch_size": batch, "worker_concurrency": concurrency, "worker_count": 1}
    async with herald_kernel(worker_env, **settings) as (doomed, api):
        send = await api.CreateSend(send_request(), metadata=configured.auth)
        at_kill = await kill_once_a_quarter_is_sent(doomed, sparkpost, audience)
    assert at_kill < audience, "the kernel finished before it could be killed"
    async with herald_kernel(worker_env, **settings) as (_, api):
        done = await completed(api, configured, send.send_id)
    assert (done.planned, done.sent, done.pending) == (audience, audience, 0)
    assert adds_up(done)

    assert_each_sent_once_but_what_was_in_flight(sparkpost, audience, batch * concurrency)


async def kill_once_a_quarter_is_sent(
    process: asyncio.subprocess.Process, sparkpost: Any, audience: int
) -> int:
    """SIGKILL ``process`` once SparkPost accepted a quarter of the audience; how many it had then."""
    deadline = asyncio.get_running_loop().time() + PATIENCE_SECONDS
    while len(sparkpost.accepted) < audience // 4:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    await process.wait()
    return len(sparkpost.accepted)


def assert_each_sent_once_but_what_was_in_flight(sparkpost: Any, audience: int, in_flight: int) -> None:
    """None lost: every recipient got its message, under one message id; a second copy (never a third)
    only for what was in flight at the kill, at most one batch per slot."""
    received: dict[str, list[str]] = defaultdict(list)
    for record in sparkpost.accepted:
        received[record["email"]].append(record["herald_message_id"])
    assert set(received) == seeded_emails(audience)
    assert all(len(set(ids)) == 1 for ids in received.values())
    assert len({ids[0] for ids in received.values()}) == audience
    twice = [email for email, ids in received.items() if len(ids) > 1]
    assert all(len(received[email]) == 2 for email in twice)
    assert len(twice) <= in_flight


async def test_a_slice_slower_than_its_lease_is_neither_taken_over_nor_counted_twice(
    messages, configured, sparkpost, server
) -> None:
    """One slice, whose provider call takes longer than the lease: the worker's idle slot would take the
    slice over (its lease lapsed) while the other still sends it. The lease is kept alive while the slice
    is sent, and a take-over's outcomes would be recorded by the new holder only."""
    audience = 200
    await seed_people(server.kernel.db.pool, configured, audience)
    sparkpost.set_latency(1.5)
    async with sender_worker(server, worker_batch_size=200, worker_concurrency=2, lease_seconds=1.0):
        send = await messages.CreateSend(send_request(), metadata=configured.auth)
        done = await completed(messages, configured, send.send_id)
    assert (done.planned, done.sent, done.pending) == (audience, audience, 0)
    assert adds_up(done)
    assert len(sparkpost.accepted) == audience


async def test_outcomes_of_a_slice_taken_over_are_recorded_by_its_new_holder_only(
    messages, profiles, configured, db
) -> None:
    """Two slots of one worker (one owner name): the first's lease lapsed and the second took the slice
    over. The first's outcomes, arriving late, are neither logged nor counted; the second's are."""
    person_id = await person(profiles, configured, "late", email="late@example.com")
    send = await messages.CreateSend(send_request(start_paused=True), metadata=configured.auth)
    try:
        project_id, send_id = configured.project_id, uuid.UUID(send.send_id)
        lease = timedelta(seconds=60)
        await messages.ResumeSend(
            messages_pb2.ResumeSendRequest(send_id=send.send_id), metadata=configured.auth
        )
        async with db.acquire() as conn, conn.transaction():
            first = await slices.cut(conn, project_id, send_id, "worker", lease, 10)
        assert first is not None
        await db.execute(
            """UPDATE send_slices SET lease_until = now() - interval '1 second'
               WHERE project_id = $1 AND send_id = $2""",
            project_id,
            send_id,
        )
        async with db.acquire() as conn, conn.transaction():
            second = await slices.take_lapsed(conn, project_id, send_id, "worker", lease)
        assert second is not None and second.lease_no == first.lease_no + 1

        def sent_one() -> BatchOutcome:
            message = Pending(
                str(uuid.uuid4()),
                uuid.UUID(person_id),
                0,
                "late@example.com",
                "late@example.com",
                None,
                None,
                first.slice_no,
            )
            return BatchOutcome(logged=[Logged(message, EMAIL, "sent")])

        async with db.acquire() as conn:
            late = await slice_outcomes.record(
                conn,
                project_id,
                send_id,
                [EMAIL],
                sent_one(),
                from_retries=False,
                owner="worker",
                held=(first, lease),
            )
            current = await slice_outcomes.record(
                conn,
                project_id,
                send_id,
                [EMAIL],
                sent_one(),
                from_retries=False,
                owner="worker",
                held=(second, lease),
            )
        assert (late, current) == (False, True)
        logged = await db.fetchval(
            "SELECT count(*) FROM message_log WHERE project_id = $1 AND send_id = $2", project_id, send_id
        )
        counted = await db.fetchval(
            "SELECT sent FROM send_slices WHERE project_id = $1 AND send_id = $2", project_id, send_id
        )
        assert (logged, counted) == (1, 1)
    finally:
        # Nothing left for the next tests' workers to send.
        await messages.CancelSend(
            messages_pb2.CancelSendRequest(send_id=send.send_id), metadata=configured.auth
        )


async def test_retries_slower_than_their_lease_are_not_taken_over(
    messages, configured, sparkpost, server
) -> None:
    """The audience's first attempt is refused (429, Retry-After 1 s) and each provider call takes longer
    than the lease: while one slot sends the retries, the idle one would claim them again (their lease,
    the due time pushed on, lapsed). Their lease is kept alive while they are sent."""
    audience = 100
    await seed_people(server.kernel.db.pool, configured, audience)
    sparkpost.set_latency(1.5)
    sparkpost.fail_next(1, 429, retry_after=1)
    async with sender_worker(server, worker_batch_size=100, worker_concurrency=2, lease_seconds=1.0):
        send = await messages.CreateSend(send_request(), metadata=configured.auth)
        done = await completed(messages, configured, send.send_id)
    assert (done.planned, done.sent, done.pending, done.retries) == (audience, audience, 0, audience)
    assert len(sparkpost.accepted) == audience
