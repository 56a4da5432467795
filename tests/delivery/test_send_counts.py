"""A send's counters are the sums of its slices', and the queue depth is what running and paused sends
have planned and not finished; batches adding to the same slices never deadlock."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from kernel.delivery.slice_counts import OutcomeCounts, SliceCounts
from kernel.delivery.slices import COUNTERS, add_counts, pending_messages, send_counts
from tests.bulk_rows import sliced, stored_send
from tests.conftest import ProjectKey

#: The channel the counted messages went through.
EMAIL = "email.sparkpost"


async def test_a_sends_counts_add_its_slices_up(db, project: ProjectKey) -> None:
    send_id = await stored_send(db, project, "running")
    await sliced(db, project, send_id, planned=10, sent=6, failed=1, suppressed=1, retries=3, duplicates=2)
    await sliced(db, project, send_id, planned=5, sent=2, expired=1, cancelled=1, not_consented=4)
    idle = await stored_send(db, project)

    counts = await send_counts(db, project.project_id, [send_id, idle])

    assert counts[send_id].counters == {
        "planned": 15,
        "sent": 8,
        "failed": 1,
        "suppressed": 1,
        "expired": 1,
        "cancelled": 1,
        "retries": 3,
        "duplicates": 2,
        "not_consented": 4,
        **dict.fromkeys(("capped", "grace_period", "quiet_hours_dropped", "quiet_hours_delayed"), 0),
    }
    assert counts[send_id].pending == 3
    assert counts[idle].counters == dict.fromkeys(COUNTERS, 0)


async def test_queue_depth_counts_running_and_paused_sends(db, project: ProjectKey) -> None:
    before = await pending_messages(db)
    for state, planned in (("running", 10), ("paused", 5), ("cancelled", 100), ("completed", 1000)):
        await sliced(db, project, await stored_send(db, project, state), planned=planned, sent=1)

    assert await pending_messages(db) - before == 9 + 4


async def test_batches_adding_to_the_same_slices_in_opposite_orders_both_commit(
    db: asyncpg.Pool, project: ProjectKey
) -> None:
    """Two provider batches of one send recorded at once (retries of several slices, taken by two workers)
    add to the same slices: a transaction holding slice 0 and going on to slice 1 meets one adding to
    slices 1 and 0. Both commit, neither is chosen as a deadlock victim."""
    send_id = await stored_send(db, project, "running")
    # Stored in the opposite order: a statement reading the table in its physical order meets 1 first.
    for slice_no in (1, 0):
        await sliced(db, project, send_id, slice_no, planned=2)
    one = SliceCounts(sent=1)
    async with db.acquire() as holder, db.acquire() as crossing:
        # The plan a small send_slices gets (a fresh database's): the table read in its physical order.
        await crossing.execute("SET enable_indexscan = off; SET enable_bitmapscan = off")
        async with holder.transaction():
            await add_counts(holder, project.project_id, send_id, {(0, EMAIL): one})
            crossed = asyncio.ensure_future(
                crossing_batch(crossing, project, send_id, {(1, EMAIL): one, (0, EMAIL): one})
            )
            await until_waiting_for_a_lock(db, crossing)
            await add_counts(holder, project.project_id, send_id, {(1, EMAIL): one})
        await crossed
        await crossing.execute("RESET enable_indexscan; RESET enable_bitmapscan")
    counts = await send_counts(db, project.project_id, [send_id])
    assert counts[send_id].counters["sent"] == 4


async def crossing_batch(
    conn: asyncpg.Connection, project: ProjectKey, send_id: uuid.UUID, counts: OutcomeCounts
) -> None:
    async with conn.transaction():
        await add_counts(conn, project.project_id, send_id, counts)


async def until_waiting_for_a_lock(db: asyncpg.Pool, conn: asyncpg.Connection) -> None:
    """Return once ``conn``'s statement waits for a row another transaction holds."""
    backend = conn.get_server_pid()
    query = "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1"
    while True:
        if await db.fetchval(query, backend) == "Lock":
            return
        await asyncio.sleep(0.01)
