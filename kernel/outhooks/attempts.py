"""The log of calls to each endpoint (``outhook_attempts``), trimmed to the last few per endpoint."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True, slots=True)
class Attempt:
    attempted_at: datetime
    event_types: list[str]
    event_ids: list[uuid.UUID]
    #: 0 when no answer came (``error`` says why).
    http_status: int
    error: str
    duration_ms: float
    #: 1 for a first attempt: the highest among the events posted together.
    attempt: int
    next_retry_at: datetime | None
    attempt_id: int = 0


async def record(
    conn: asyncpg.Connection, project_id: uuid.UUID, endpoint_id: uuid.UUID, attempt: Attempt, kept: int
) -> None:
    """Log ``attempt`` and forget those beyond the ``kept`` newest of the endpoint."""
    await conn.execute(
        """INSERT INTO outhook_attempts (project_id, endpoint_id, attempted_at, event_types, event_ids,
               http_status, error, duration_ms, attempt, next_retry_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        project_id,
        endpoint_id,
        attempt.attempted_at,
        attempt.event_types,
        attempt.event_ids,
        attempt.http_status,
        attempt.error,
        attempt.duration_ms,
        attempt.attempt,
        attempt.next_retry_at,
    )
    await conn.execute(
        """DELETE FROM outhook_attempts WHERE project_id = $1 AND endpoint_id = $2 AND attempt_id <= (
               SELECT attempt_id FROM outhook_attempts WHERE project_id = $1 AND endpoint_id = $2
               ORDER BY attempt_id DESC OFFSET $3 LIMIT 1)""",
        project_id,
        endpoint_id,
        kept,
    )


async def latest(
    pool: asyncpg.Pool, project_id: uuid.UUID, endpoint_id: uuid.UUID, limit: int, before: int | None
) -> list[Attempt]:
    """Newest first, from before the attempt id ``before``."""
    rows = await pool.fetch(
        """SELECT * FROM outhook_attempts
           WHERE project_id = $1 AND endpoint_id = $2 AND ($3::bigint IS NULL OR attempt_id < $3)
           ORDER BY attempt_id DESC LIMIT $4""",
        project_id,
        endpoint_id,
        before,
        limit,
    )
    return [
        Attempt(
            r["attempted_at"],
            r["event_types"],
            r["event_ids"],
            r["http_status"],
            r["error"],
            r["duration_ms"],
            r["attempt"],
            r["next_retry_at"],
            r["attempt_id"],
        )
        for r in rows
    ]
