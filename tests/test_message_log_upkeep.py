"""Upkeep of the message log's daily partitions, on a database of the test's own (dropping days past
retention at an injected time would take the other tests' rows with them in the shared one)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from kernel.delivery.message_log import DAYS_AHEAD, maintain_message_log
from kernel.settings import Settings
from kernel.storage.migrations import apply_migrations

NOW = datetime(2027, 3, 10, 15, 30, tzinfo=UTC)
#: How long the kernel's first upkeep may take to show, on a loaded machine.
PATIENCE_SECONDS = 60.0


@pytest.fixture
async def log_pool(scratch_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a freshly migrated database of this test's own."""
    await apply_migrations(scratch_url)
    async with asyncpg.create_pool(scratch_url, min_size=1, max_size=2) as pool:
        yield pool


def keeping(days: int) -> Settings:
    return Settings(message_log_days=days)


async def log_row(pool: asyncpg.Pool, logged_at: datetime) -> uuid.UUID:
    """One logged message, as a worker appends it after the provider answered."""
    message_id = uuid.uuid4()
    await pool.execute(
        """INSERT INTO message_log (project_id, logged_at, message_id, send_id, profile_id, channel, address,
                                    outcome, attempts)
           VALUES ($1, $2, $3, $4, $5, 'email.sparkpost', 'someone@example.com', 'sent', 1)""",
        uuid.uuid4(),
        logged_at,
        message_id,
        uuid.uuid4(),
        uuid.uuid4(),
    )
    return message_id


async def partitions(pool: asyncpg.Pool) -> dict[str, str]:
    """Each partition of the log and its bounds."""
    rows = await pool.fetch(
        """SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bounds
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'message_log'::regclass"""
    )
    return {row["relname"]: row["bounds"] for row in rows}


async def where_is(pool: asyncpg.Pool, message_id: uuid.UUID) -> str | None:
    return await pool.fetchval(
        "SELECT tableoid::regclass::text FROM message_log WHERE message_id = $1", message_id
    )


async def test_today_and_the_coming_days_get_a_partition(log_pool: asyncpg.Pool) -> None:
    done = await maintain_message_log(log_pool, keeping(90), NOW)

    days = [NOW.date() + timedelta(days=ahead) for ahead in range(DAYS_AHEAD + 1)]
    assert done.created == days
    found = await partitions(log_pool)
    assert set(found) == {"message_log_default", *(f"message_log_{day:%Y%m%d}" for day in days)}
    assert found["message_log_20270310"] == (
        "FOR VALUES FROM ('2027-03-10 00:00:00+00') TO ('2027-03-11 00:00:00+00')"
    )
    # Each day has the log's index, and a message logged now lands in today's table.
    indexed = await log_pool.fetchval(
        "SELECT count(*) FROM pg_indexes WHERE tablename = 'message_log_20270310'"
    )
    assert indexed == 1
    assert await where_is(log_pool, await log_row(log_pool, NOW)) == "message_log_20270310"
    # A second run, by this kernel or another, finds nothing to do.
    again = await maintain_message_log(log_pool, keeping(90), NOW)
    assert (again.created, again.dropped) == ([], [])


async def test_every_day_logs_its_rows_at_the_time_they_are_written(log_pool: asyncpg.Pool) -> None:
    # The writers leave logged_at out (kernel.delivery.slice_outcomes): a volatile default keeps PostgreSQL
    # from buffering their COPY (migration 0058), on the log and on every day the upkeep creates.
    await maintain_message_log(log_pool, keeping(90), NOW)
    defaults = await log_pool.fetch(
        """SELECT c.relname, pg_get_expr(d.adbin, d.adrelid) AS expression
           FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid
           JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
           WHERE a.attname = 'logged_at' AND (c.oid = 'message_log'::regclass OR c.oid IN (
               SELECT inhrelid FROM pg_inherits WHERE inhparent = 'message_log'::regclass))"""
    )
    assert len(defaults) == 1 + 1 + DAYS_AHEAD + 1
    assert {row["expression"] for row in defaults} == {"clock_timestamp()"}


async def test_rows_waiting_in_the_default_partition_move_to_their_day(log_pool: asyncpg.Pool) -> None:
    # Rows logged before any upkeep (the first engine's messages carried over by migration 0018, or a
    # clock far ahead): the default partition takes them.
    carried = await log_row(log_pool, NOW - timedelta(days=20))
    today = await log_row(log_pool, NOW)
    expired = await log_row(log_pool, NOW - timedelta(days=91))
    assert {await where_is(log_pool, m) for m in (carried, today, expired)} == {"message_log_default"}

    done = await maintain_message_log(log_pool, keeping(90), NOW)

    assert (done.rows_moved, done.rows_expired) == (2, 1)
    assert NOW.date() - timedelta(days=20) in done.created
    assert await where_is(log_pool, carried) == "message_log_20270218"
    assert await where_is(log_pool, today) == "message_log_20270310"
    assert await where_is(log_pool, expired) is None
    assert await log_pool.fetchval("SELECT count(*) FROM message_log_default") == 0


async def test_a_day_wholly_past_retention_is_dropped(log_pool: asyncpg.Pool) -> None:
    await maintain_message_log(log_pool, keeping(30), NOW)
    first_day = await log_row(log_pool, NOW)
    second_day = await log_row(log_pool, NOW + timedelta(days=1))

    # 30 days later, the first day is not wholly past retention yet: it ends at midnight.
    later = NOW + timedelta(days=30)
    kept = await maintain_message_log(log_pool, keeping(30), later)
    assert kept.dropped == []
    assert await where_is(log_pool, first_day) == "message_log_20270310"

    done = await maintain_message_log(
        log_pool, keeping(30), later.replace(hour=23, minute=59) + timedelta(minutes=1)
    )

    assert done.dropped == [NOW.date()]
    assert "message_log_20270310" not in await partitions(log_pool)
    assert await where_is(log_pool, first_day) is None
    assert await where_is(log_pool, second_day) == "message_log_20270311"


async def test_a_day_in_use_is_left_to_the_next_run(log_pool: asyncpg.Pool, scratch_url: str) -> None:
    await maintain_message_log(log_pool, keeping(30), NOW)
    later = NOW + timedelta(days=40)
    reader = await asyncpg.connect(scratch_url)
    try:
        # A long read of the log (an export, say): dropping a day waits for it, appends would queue behind.
        async with reader.transaction():
            await reader.fetch("SELECT * FROM message_log")
            busy = await maintain_message_log(log_pool, keeping(30), later)
    finally:
        await reader.close()

    assert busy.dropped == []
    assert "message_log_20270310" in await partitions(log_pool)
    done = await maintain_message_log(log_pool, keeping(30), later)
    assert NOW.date() in done.dropped


async def test_the_kernel_creates_todays_partition_at_start(server, db: asyncpg.Pool) -> None:
    today = f"message_log_{datetime.now(UTC):%Y%m%d}"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PATIENCE_SECONDS
    while today not in await partitions(db):
        assert loop.time() < deadline, "the kernel never created today's partition"
        await asyncio.sleep(0.05)
