"""What the outbox, the workers and the API share about a send's rows: the moment a send is over."""

from __future__ import annotations

import uuid

import asyncpg


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


async def reconcile(conn: asyncpg.Connection, project_id: uuid.UUID, send_id: uuid.UUID) -> int:
    """Take messages that left the outbox (an erased person's) out of the counts; returns how many.

    Run when a full send has nothing to claim: its pending count is then checked against the rows. The
    send row is locked first, so no outcome is being recorded while the rows are counted.
    """
    async with conn.transaction():
        pending = await conn.fetchval(
            """SELECT total - sent - failed - expired - cancelled - suppressed FROM sends
               WHERE project_id = $1 AND send_id = $2 AND planned_at IS NOT NULL FOR UPDATE""",
            project_id,
            send_id,
        )
        if not pending:
            return 0
        present = await conn.fetchval(
            """SELECT count(*) FROM messages WHERE project_id = $1 AND send_id = $2
               AND status IN ('planned', 'leased', 'retry')""",
            project_id,
            send_id,
        )
        gone = pending - present
        if gone > 0:
            await conn.execute(
                "UPDATE sends SET total = total - $3 WHERE project_id = $1 AND send_id = $2",
                project_id,
                send_id,
                gone,
            )
            await complete_if_done(conn, project_id, send_id)
        return max(gone, 0)
