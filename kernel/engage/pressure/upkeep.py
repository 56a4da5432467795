"""Touches past every rule's reach, forgotten.

Judging a profile deletes its own old touches; this sweep takes those of profiles no send judges again
(customers no longer targeted, projects whose rules were removed), which would otherwise stay for ever.
It keeps :data:`~kernel.engage.pressure.rules.MAX_LOOKBACK` whatever the project's rules are, so that
rules set again later still see the messages of their window.
"""

from __future__ import annotations

import asyncpg

from kernel.engage.pressure.rules import MAX_LOOKBACK
from kernel.periodic import repeat

INTERVAL_SECONDS = 3600.0
#: Rows deleted per statement: a backlog of millions never holds one long transaction.
BATCH_ROWS = 10_000


async def forget_old_touches(pool: asyncpg.Pool, batch_rows: int = BATCH_ROWS) -> int:
    """Delete the touches older than the longest lookback; how many."""
    forgotten = 0
    while True:
        status = await pool.execute(
            """DELETE FROM marketing_touches WHERE ctid = any(ARRAY(
                   SELECT ctid FROM marketing_touches WHERE touched_at < now() - $1::interval LIMIT $2))""",
            MAX_LOOKBACK,
            batch_rows,
        )
        deleted = int(status.rsplit(" ", 1)[1])
        forgotten += deleted
        if deleted < batch_rows:
            return forgotten


async def forget_periodically(pool: asyncpg.Pool) -> None:
    await repeat("forgetting old marketing touches", lambda: forget_old_touches(pool), INTERVAL_SECONDS)
