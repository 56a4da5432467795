"""Taking due messages out of ``message_retries``: retries and deferrals of a running send.

A message is leased by pushing its due time to the lease's end (with its worker as ``owner``), so that a
worker that dies with it leaves it to come back by itself; a worker found dead releases its messages at
once (:func:`kernel.delivery.slices.release`). Their outcome is recorded by
:mod:`kernel.delivery.slice_outcomes`.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg

from kernel.delivery.claims import ClaimQueries
from kernel.delivery.send_runtime import SendRuntime
from kernel.delivery.slice_outcomes import Pending

_CLAIM = """
WITH picked AS (
    SELECT ctid FROM message_retries
    WHERE project_id = $1 AND send_id = $2 AND due_at <= now()
    ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED)
UPDATE message_retries r SET owner = $4, due_at = now() + $5::interval
WHERE r.ctid = any(ARRAY(SELECT ctid FROM picked)) AND r.project_id = $1
RETURNING r.message_id, r.profile_id, r.channel, r.address, r.slice_no, r.attempts,
          extract(epoch FROM now() - coalesce(r.first_attempt_at, now()))::float8 AS age,
          r.first_attempt_at"""


async def claim_due(
    conn: asyncpg.Connection, runtime: SendRuntime, limit: int, owner: str, lease: timedelta
) -> list[asyncpg.Record]:
    """Lease up to ``limit`` of the send's due messages, the longest due first."""
    return await conn.fetch(_CLAIM, runtime.project_id, runtime.send_id, limit, owner, lease)


async def renew_claimed(
    conn: asyncpg.Connection, runtime: SendRuntime, message_ids: list[uuid.UUID], owner: str, lease: timedelta
) -> bool:
    """Push the claimed messages' lease on, for those ``owner`` still holds; False when none is left (all
    settled, or taken over)."""
    renewed = await conn.fetchval(
        """WITH held AS (
               UPDATE message_retries SET due_at = now() + $5::interval
               WHERE project_id = $1 AND send_id = $2 AND message_id = any($3::uuid[]) AND owner = $4
               RETURNING 1)
           SELECT count(*) FROM held""",
        runtime.project_id,
        runtime.send_id,
        message_ids,
        owner,
        lease,
    )
    return bool(renewed)


async def pending_of(
    conn: asyncpg.Connection, runtime: SendRuntime, rows: list[asyncpg.Record]
) -> list[Pending]:
    """The claimed messages with their recipients' current values and address details (a recipient
    erased or merged away since has none: its templates see absent values)."""
    queries: ClaimQueries = runtime.queries
    profile_ids = list({row["profile_id"] for row in rows})
    recipients = await queries.recipients(conn, runtime.project_id, profile_ids)
    return [
        Pending(
            str(row["message_id"]),
            row["profile_id"],
            runtime.index[row["channel"]],
            row["address"],
            str(row["message_id"]),
            recipients.details.get((row["profile_id"], row["address"])),
            recipients.profiles.get(row["profile_id"]),
            row["slice_no"],
            row["attempts"],
            row["age"],
            row["first_attempt_at"],
        )
        for row in rows
    ]


#: The details a message waits with when it was held back before any attempt (pipeline): deferrals.
DEFERRALS = ("domain throttle", "channel rate", "channel paused")


async def deferred_messages(conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, int]:
    """Messages of running sends waiting without having been attempted, by why they wait (every
    detail of :data:`DEFERRALS`, zero when none): each counted once however often it was held back."""
    rows = await conn.fetch(
        """SELECT r.detail, count(*) AS messages FROM message_retries r
           JOIN sends s USING (project_id, send_id)
           WHERE s.state = 'running' AND r.attempts = 0 AND r.detail = any($1::text[])
           GROUP BY r.detail""",
        list(DEFERRALS),
    )
    found = {row["detail"]: int(row["messages"]) for row in rows}
    return {detail: found.get(detail, 0) for detail in DEFERRALS}
