"""A send's counters, summed over its slices, and the queue depth of the whole deployment.

Each slice of a send keeps its own counters (migration 0018), so that workers never contend on one row
of the send; what a send did is their sum. Messages waiting for a retry or a deferral are counted apart
from ``message_retries``: they are part of ``pending``, the planned messages whose outcome is not final.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True, slots=True)
class SendCounts:
    planned: int = 0
    sent: int = 0
    failed: int = 0
    suppressed: int = 0
    expired: int = 0
    cancelled: int = 0
    #: Temporary failures (each retried later), not messages.
    retries: int = 0
    duplicates: int = 0
    not_consented: int = 0
    #: Messages waiting now for a retry or a deferral.
    waiting: int = 0

    @property
    def pending(self) -> int:
        """Planned messages whose outcome is not final yet (in a worker's hands or waiting)."""
        return self.planned - self.sent - self.failed - self.expired - self.cancelled - self.suppressed


_COUNTERS = (
    "planned",
    "sent",
    "failed",
    "suppressed",
    "expired",
    "cancelled",
    "retries",
    "duplicates",
    "not_consented",
)
# SendCounts.pending in SQL, to sum it over every send at once.
_PENDING = "planned - sent - failed - expired - cancelled - suppressed"


async def send_counts(
    conn: asyncpg.Connection | asyncpg.Pool, project_id: uuid.UUID, send_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, SendCounts]:
    """The counters of each of ``send_ids`` (a send without any slice yet counts zeros)."""
    sums = ", ".join(f"coalesce(sum({name}), 0)::bigint AS {name}" for name in _COUNTERS)
    rows = await conn.fetch(
        f"""SELECT s.send_id, c.*,
                   (SELECT count(*) FROM message_retries r
                    WHERE r.project_id = $1 AND r.send_id = s.send_id) AS waiting
            FROM unnest($2::uuid[]) AS s(send_id)
            CROSS JOIN LATERAL (SELECT {sums} FROM send_slices sl
                                WHERE sl.project_id = $1 AND sl.send_id = s.send_id) AS c""",
        project_id,
        list(send_ids),
    )
    return {row["send_id"]: SendCounts(**{k: v for k, v in row.items() if k != "send_id"}) for row in rows}


async def pending_messages(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    """Messages of running and paused sends, in every project, not yet final (the queue depth)."""
    value = await conn.fetchval(
        f"""SELECT coalesce(sum({_PENDING}), 0) FROM send_slices sl
            JOIN sends s USING (project_id, send_id)
            WHERE s.state IN ('running', 'paused')"""
    )
    return int(value)
