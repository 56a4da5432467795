"""Transactions aborted by PostgreSQL to break a deadlock run again, a bounded number of times. The
deadlocks are real: two transactions on the test database lock two rows in opposite orders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from kernel.storage.deadlocks import ATTEMPTS, retry_deadlocks


async def crossing(db: asyncpg.Pool, table: str, first: int, second: int, met: asyncio.Barrier) -> None:
    """Lock row ``first`` then row ``second`` in one transaction, the partner doing the reverse."""
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(f"UPDATE {table} SET n = n + 1 WHERE id = $1", first)
        await met.wait()
        await conn.execute(f"UPDATE {table} SET n = n + 1 WHERE id = $1", second)


@pytest.fixture
async def probe_table(db: asyncpg.Pool) -> AsyncIterator[str]:
    """Two rows to cross over; dropped afterwards, since other tests read the whole schema."""
    await db.execute("CREATE TABLE deadlock_probe (id int PRIMARY KEY, n int NOT NULL)")
    await db.execute("INSERT INTO deadlock_probe VALUES (1, 0), (2, 0)")
    yield "deadlock_probe"
    await db.execute("DROP TABLE deadlock_probe")


async def test_a_deadlock_victim_runs_again_and_both_commit(db: asyncpg.Pool, probe_table: str) -> None:
    met = asyncio.Barrier(2)
    runs = []

    async def once(first: int, second: int) -> None:
        runs.append(first)
        await crossing(db, probe_table, first, second, met if len(runs) <= 2 else asyncio.Barrier(1))

    await asyncio.gather(retry_deadlocks(lambda: once(1, 2)), retry_deadlocks(lambda: once(2, 1)))
    assert len(runs) == 3, "one of the two was aborted once and ran again"
    assert [row["n"] for row in await db.fetch(f"SELECT n FROM {probe_table} ORDER BY id")] == [2, 2]


async def test_a_transaction_that_keeps_deadlocking_gives_up(db: asyncpg.Pool) -> None:
    runs = 0

    async def always() -> None:
        nonlocal runs
        runs += 1
        await db.execute("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'deadlock_detected'; END $$")

    with pytest.raises(asyncpg.DeadlockDetectedError):
        await retry_deadlocks(always)
    assert runs == ATTEMPTS
