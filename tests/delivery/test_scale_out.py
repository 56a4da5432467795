"""Scale-out and crash safety with real processes: ``herald worker`` processes share one database, and a
worker killed with SIGKILL mid-send loses nothing; only what it had in flight may be sent twice, with the
same message id. The SparkPost emulator runs in the test process, so it outlives the workers and counts."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest

from tests.delivery.conftest import EMAIL
from tests.delivery.support import PATIENCE_SECONDS, completed, rows, seed_people, send_request


@pytest.fixture
def worker_env(database_url: str, data_dir: Path, sparkpost: Any) -> Iterator[dict[str, str]]:
    """The environment of a ``herald worker`` process: the test database and data folder (hence the same
    credentials key), SparkPost pointed at the emulator, quick leases."""
    yield {
        **os.environ,
        "HERALD_DATABASE_URL": database_url,
        "HERALD_DATA_DIR": str(data_dir),
        "HERALD_CHANNEL_ENDPOINTS": orjson.dumps({EMAIL: sparkpost.endpoint}).decode(),
        "HERALD_METRICS_ADDRESS": "127.0.0.1:0",
        "HERALD_LEASE_SECONDS": "2",
        "HERALD_HEARTBEAT_SECONDS": "0.3",
        "HERALD_LOG_LEVEL": "WARNING",
        "HERALD_LOG_FORMAT": "text",
    }


@contextlib.asynccontextmanager
async def herald_worker(
    env: dict[str, str], db: asyncpg.Pool, **settings: Any
) -> AsyncIterator[asyncio.subprocess.Process]:
    """``herald worker`` in its own process, registered (heartbeating) before the block starts."""
    extra = {f"HERALD_{name.upper()}": str(value) for name, value in settings.items()}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kernel.cli", "worker", env={**env, **extra}
    )
    try:
        deadline = asyncio.get_running_loop().time() + PATIENCE_SECONDS
        while not await db.fetchval("SELECT count(*) FROM workers WHERE pid = $1", process.pid):
            assert process.returncode is None, "herald worker exited"
            assert asyncio.get_running_loop().time() < deadline, "herald worker did not start"
            await asyncio.sleep(0.1)
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


async def test_two_worker_processes_share_a_send_and_send_nothing_twice(
    messages, configured, sparkpost, worker_env, db
) -> None:
    await seed_people(db, configured, 3000)
    sparkpost.set_latency(0.05)
    async with (
        herald_worker(worker_env, db, worker_batch_size=100, worker_concurrency=2) as first,
        herald_worker(worker_env, db, worker_batch_size=100, worker_concurrency=2) as second,
    ):
        send = await messages.CreateSend(send_request(), metadata=configured.auth)
        done = await completed(messages, configured, send.send_id)
        workers = {
            row["worker_id"]: row["pid"] for row in await db.fetch("SELECT worker_id, pid FROM workers")
        }
    assert done.sent == 3000
    ids = [record["herald_message_id"] for record in sparkpost.accepted]
    assert len(ids) == len(set(ids)) == 3000
    senders = {row["lease_owner"] for row in await rows(db, configured, send.send_id)}
    assert {workers[owner] for owner in senders} == {first.pid, second.pid}


async def test_a_worker_killed_mid_send_loses_nothing(
    messages, configured, sparkpost, worker_env, db
) -> None:
    batch, concurrency, audience = 500, 2, 20_000
    await seed_people(db, configured, audience)
    sparkpost.set_latency(0.01)
    settings = {"worker_batch_size": batch, "worker_concurrency": concurrency}
    async with herald_worker(worker_env, db, **settings) as doomed:
        send = await messages.CreateSend(send_request(), metadata=configured.auth)
        deadline = asyncio.get_running_loop().time() + PATIENCE_SECONDS
        while len(sparkpost.accepted) < audience // 4:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.01)
        os.kill(doomed.pid, signal.SIGKILL)
        await doomed.wait()
        at_kill = len(sparkpost.accepted)
    assert at_kill < audience, "the worker finished before it could be killed"
    async with herald_worker(worker_env, db, **settings):
        done = await completed(messages, configured, send.send_id)
    assert (done.sent, done.pending) == (audience, 0)

    received: dict[str, list[str]] = defaultdict(list)
    for record in sparkpost.accepted:
        received[record["email"]].append(record["herald_message_id"])
    outbox = {row["address"]: str(row["message_id"]) for row in await rows(db, configured, send.send_id)}
    # None lost: every recipient got its message, with the id fixed in the outbox.
    assert set(received) == set(outbox)
    assert all(set(ids) == {outbox[email]} for email, ids in received.items())
    # Twice only for what was in flight at the kill: at most one claimed batch per slot of the worker.
    twice = [email for email, ids in received.items() if len(ids) > 1]
    assert all(len(received[email]) == 2 for email in twice)
    assert len(twice) <= batch * concurrency
