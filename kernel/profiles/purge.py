"""The inactivity purge: profiles idle for longer than their project's retention are erased.

A profile is inactive when its ``last_activity_at`` (latest event or write) is older than the project's
``inactivity_retention_days``; 0 days means "keep forever". Deletion reuses
:func:`kernel.profiles.gdpr.erase_profiles` (without suppression: an inactive customer who comes back is
welcome), in batches of :data:`BATCH_PROFILES` profiles per transaction, so a purge of millions never holds
one giant transaction or long locks. Rows are claimed with ``FOR UPDATE SKIP LOCKED``: a profile being
written or erased right now is left for the next run.

The scheduled run covers every project. Several kernels may share a database; a session-level advisory
lock makes sure only one of them purges at a time, the others skip their turn.
"""

from __future__ import annotations

import logging
import random
import uuid

import asyncpg

from kernel.periodic import repeat
from kernel.profiles.gdpr import erase_profiles

log = logging.getLogger(__name__)

BATCH_PROFILES = 500
# Names the lock in pg_locks (objid); any kernel of any version computes the same key.
_LOCK_KEY = "SELECT hashtextextended('herald.inactivity_purge', 0)"

_CLAIM = """
SELECT pr.profile_id
FROM projects p
JOIN profiles pr ON pr.project_id = p.project_id
 AND pr.last_activity_at < now() - make_interval(days => p.inactivity_retention_days)
WHERE p.project_id = $1 AND p.inactivity_retention_days > 0
LIMIT $2
FOR UPDATE OF pr SKIP LOCKED
"""


async def purge_project(
    conn: asyncpg.Connection, project_id: uuid.UUID, batch_size: int = BATCH_PROFILES
) -> int:
    """Erase the project's inactive profiles now, one batch per transaction; returns how many."""
    purged = 0
    while True:
        async with conn.transaction():
            batch = [r["profile_id"] for r in await conn.fetch(_CLAIM, project_id, batch_size)]
            await erase_profiles(conn, project_id, batch, suppress=False)
        purged += len(batch)
        if len(batch) < batch_size:
            return purged


async def purge_all_projects(conn: asyncpg.Connection, batch_size: int = BATCH_PROFILES) -> int | None:
    """Purge every project with a retention, unless another kernel is at it (then None)."""
    key = await conn.fetchval(_LOCK_KEY)
    if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
        return None
    try:
        purged = 0
        projects = await conn.fetch("SELECT project_id FROM projects WHERE inactivity_retention_days > 0")
        for row in projects:
            count = await purge_project(conn, row["project_id"], batch_size)
            if count:
                log.info("purged %s inactive profiles of project %s", count, row["project_id"])
            purged += count
        return purged
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", key)


async def purge_periodically(pool: asyncpg.Pool, interval_seconds: float) -> None:
    """Run :func:`purge_all_projects` soon after start, then every ``interval_seconds``, until cancelled.

    The first run comes within a minute (jittered, so kernels started together do not queue on the lock):
    a kernel restarted more often than the interval still purges.
    """

    async def purge() -> None:
        async with pool.acquire() as conn:
            await purge_all_projects(conn)

    await repeat("inactivity purge", purge, interval_seconds, random.uniform(0, min(interval_seconds, 60.0)))
