"""Wave pacing shared by every worker: the send row holds the wave's schedule and what it released.

A paced claim locks the send row, asks sender_ext's :class:`Pacer` how many messages may go now (from
the durable count of messages released so far, whichever worker released them), claims at most that
many, and stores the new count and the schedule's start (a wave that fell behind, after a pause or an
outage, has its schedule moved forward rather than releasing its backlog at once).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from sender_ext import Pacer, Rate


@dataclass(frozen=True, slots=True)
class PacedClaim:
    rows: list[asyncpg.Record]
    #: When the next message of the wave may go (clock seconds): no point asking before.
    next_at: float


async def paced_claim(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    send_id: uuid.UUID,
    now: float,
    limit: int,
    claim: Callable[[int], Awaitable[list[asyncpg.Record]]],
) -> PacedClaim:
    """Claim at most what the wave allows at ``now`` (``claim(n)`` claims n messages on ``conn``)."""
    async with conn.transaction():
        send = await conn.fetchrow(
            """SELECT pace_count, pace_seconds, pace_start, pace_released FROM sends
               WHERE project_id = $1 AND send_id = $2 AND state = 'running' FOR UPDATE""",
            project_id,
            send_id,
        )
        if send is None or send["pace_count"] is None:
            return PacedClaim([], now)
        start = send["pace_start"]
        pacer = Pacer(Rate(send["pace_count"], send["pace_seconds"]), now if start is None else start)
        pace = pacer.plan(now, send["pace_released"])
        if pace.count == 0:
            return PacedClaim([], pace.next_at)
        rows = await claim(min(limit, pace.count))
        await conn.execute(
            """UPDATE sends SET pace_start = $3, pace_released = pace_released + $4
               WHERE project_id = $1 AND send_id = $2""",
            project_id,
            send_id,
            pacer.start,
            len(rows),
        )
        # Fewer rows than allowed: nothing else to send now, ask again at the next poll.
        after = pacer.plan(now, send["pace_released"] + len(rows))
        return PacedClaim(rows, after.next_at if len(rows) == pace.count else now)
