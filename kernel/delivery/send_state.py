"""What the outbox, the workers and the API share about a send's rows: the address key that dedups them
and the moment a send is over."""

from __future__ import annotations

import uuid

import asyncpg


def folded(column: str) -> str:
    """The dedup key of an outbox address, as the unique index ``messages_send_address`` computes it from
    ``address``: ASCII-only case folding, whatever the database's locale (sender_ext.dedup_key folds an
    email the same way)."""
    return f'lower({column} COLLATE "C")'


async def complete_if_done(conn: asyncpg.Connection, project_id: uuid.UUID, send_id: uuid.UUID) -> bool:
    """Mark the send completed when its outbox is full and every message in it reached a final status."""
    done = await conn.fetchval(
        """UPDATE sends SET state = 'completed', completed_at = now(), updated_at = now()
           WHERE project_id = $1 AND send_id = $2 AND state IN ('running', 'paused')
             AND planned_at IS NOT NULL AND total = sent + failed + expired + cancelled + suppressed
           RETURNING true""",
        project_id,
        send_id,
    )
    return bool(done)
