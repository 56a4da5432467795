"""Upkeep of the message log's daily partitions: the coming days created, the days past retention dropped.

``message_log`` (migration 0018) is partitioned by day of ``logged_at`` (UTC), one table per day named
``message_log_YYYYMMDD``, plus a DEFAULT partition for rows whose day has none. An old day goes with a
``DROP TABLE`` once it is wholly older than ``message_log_days``: a history of billions of messages never
costs a vacuum.

A day's partition cannot be created with ``PARTITION OF`` while the default partition holds rows of that
day (PostgreSQL refuses), and such rows are there after migration 0018 (the first engine's messages) or
when every kernel was down at midnight. So a day is created as a plain table, its rows moved over from the
default partition, then attached: one transaction per day, so the default partition is locked only for the
time one day's rows take to move. Rows left in the default partition past retention are deleted.

Several kernels share a database: a session-level advisory lock lets one of them do the upkeep at a time;
the others wait for it and then find nothing left to do.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import asyncpg

from kernel.periodic import repeat
from kernel.settings import Settings

log = logging.getLogger(__name__)

#: Days created ahead of today: a kernel down for that long still finds its day's partition.
DAYS_AHEAD = 7
#: How often a running kernel does the upkeep (and once at start).
INTERVAL_SECONDS = 3600.0
#: How long a change of partitions waits for the log's readers and writers: a detach waiting behind a long
#: read would hold every append up behind itself. A day whose tables are busy is left to the next run.
LOCK_TIMEOUT = "2s"
_LOCK_KEY = "SELECT hashtextextended('herald.message_log_upkeep', 0)"
_DAY_TABLE = re.compile(r"^message_log_(\d{8})$")


@dataclass(frozen=True, slots=True)
class Upkeep:
    """What one run did: the days created (rows moved out of the default partition) and dropped."""

    created: list[date]
    dropped: list[date]
    rows_moved: int
    rows_expired: int


def _table(day: date) -> str:
    return f"message_log_{day:%Y%m%d}"


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


async def _existing_days(conn: asyncpg.Connection) -> set[date]:
    names = await conn.fetch(
        """SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'message_log'::regclass"""
    )
    return {
        datetime.strptime(match[1], "%Y%m%d").date()
        for row in names
        if (match := _DAY_TABLE.match(row["relname"]))
    }


async def _stranded_days(conn: asyncpg.Connection, cutoff: datetime) -> set[date]:
    """The days of the rows in the default partition that are still kept (none, as a rule)."""
    rows = await conn.fetch(
        """SELECT DISTINCT (logged_at AT TIME ZONE 'UTC')::date AS day FROM message_log_default
           WHERE logged_at >= $1""",
        cutoff,
    )
    return {row["day"] for row in rows}


async def _create_day(conn: asyncpg.Connection, day: date) -> int:
    """Create ``day``'s partition with the rows of that day the default partition held; returns how many.

    The CHECK constraint, equal to the partition's bounds, spares the attach a scan of the new table.
    """
    table, lo, hi = _table(day), _start(day), _start(day + timedelta(days=1))
    within = f"logged_at >= '{lo.isoformat()}' AND logged_at < '{hi.isoformat()}'"
    async with conn.transaction():
        await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        await conn.execute(
            f"""CREATE TABLE {table} (LIKE message_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
                                      CONSTRAINT {table}_day CHECK ({within}))"""
        )
        status = await conn.execute(
            f"""WITH moved AS (DELETE FROM message_log_default WHERE {within} RETURNING *)
                INSERT INTO {table} SELECT * FROM moved"""
        )
        await conn.execute(
            f"""ALTER TABLE message_log ATTACH PARTITION {table}
                FOR VALUES FROM ('{lo.isoformat()}') TO ('{hi.isoformat()}')"""
        )
        await conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_day")
    return int(status.rsplit(" ", 1)[1])


async def _drop_day(conn: asyncpg.Connection, day: date) -> int:
    """Drop ``day``'s partition; returns 0 (no row moved)."""
    table = _table(day)
    async with conn.transaction():
        await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        await conn.execute(f"ALTER TABLE message_log DETACH PARTITION {table}")
        await conn.execute(f"DROP TABLE {table}")
    return 0


async def _unless_busy(change: Awaitable[int], what: str, day: date) -> int | None:
    """``change``'s result, or None when it gave up waiting for a lock."""
    try:
        return await change
    except asyncpg.LockNotAvailableError:
        log.warning("message log: %s of %s and later days left to the next run, the log is busy", what, day)
        return None


async def _upkeep(conn: asyncpg.Connection, days_kept: int, now: datetime) -> Upkeep:
    today = now.astimezone(UTC).date()
    cutoff = now - timedelta(days=days_kept)
    existing = await _existing_days(conn)
    coming = [today + timedelta(days=ahead) for ahead in range(DAYS_AHEAD + 1)]
    # The coming days first: until today's table exists, appends go to the default partition, which each
    # creation locks while it moves its day's rows (and scans whole, to attach the day).
    stranded = sorted(await _stranded_days(conn, cutoff) - set(coming))
    created: list[date] = []
    dropped: list[date] = []
    moved = 0
    # What kept one day busy keeps the next ones busy too: the first wait ends the loop.
    for day in [day for day in coming + stranded if day not in existing]:
        rows = await _unless_busy(_create_day(conn, day), "creation", day)
        if rows is None:
            break
        created.append(day)
        moved += rows
    # A day goes once its last instant is older than the retention.
    for day in sorted(day for day in existing if _start(day + timedelta(days=1)) <= cutoff):
        if await _unless_busy(_drop_day(conn, day), "removal", day) is None:
            break
        dropped.append(day)
    status = await conn.execute("DELETE FROM message_log_default WHERE logged_at < $1", cutoff)
    return Upkeep(created, dropped, moved, int(status.rsplit(" ", 1)[1]))


async def maintain_message_log(pool: asyncpg.Pool, settings: Settings, now: datetime) -> Upkeep:
    """Create the partitions of today and the next :data:`DAYS_AHEAD` days (and of any day whose rows
    wait in the default partition), and drop the days wholly older than ``settings.message_log_days``
    before ``now``. Idempotent; waits for another kernel doing the same."""
    async with pool.acquire() as conn:
        key = await conn.fetchval(_LOCK_KEY)
        await conn.execute("SELECT pg_advisory_lock($1)", key)
        try:
            done = await _upkeep(conn, settings.message_log_days, now)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", key)
    if done.created or done.dropped or done.rows_expired:
        log.info(
            "message log: created %s, dropped %s, %s rows moved out of the default partition, "
            "%s expired there",
            [str(day) for day in done.created],
            [str(day) for day in done.dropped],
            done.rows_moved,
            done.rows_expired,
        )
    return done


async def maintain_periodically(pool: asyncpg.Pool, settings: Settings) -> None:
    """Run :func:`maintain_message_log` at start, then every :data:`INTERVAL_SECONDS`, until cancelled."""
    await repeat(
        "message log upkeep",
        lambda: maintain_message_log(pool, settings, datetime.now(UTC)),
        INTERVAL_SECONDS,
    )
