"""Workers' heartbeats in the database: who is alive (the throttle share), who died (take-over), and each
live one's throttle state as of its last heartbeat.

A worker is dead when its heartbeat is older than ``lease_seconds``. The live worker that notices deletes
the dead one's row and releases its leases (slices, waiting messages) in the same transaction, so that
exactly one worker does it and a crash in between leaves the row to be found again.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import asyncpg

from kernel.delivery.claims import take_over
from kernel.delivery.slices import release


def new_worker_id(index: int = 0) -> str:
    """Unique and readable in the workers table: host, process, index in the process, a random tail."""
    return f"{socket.gethostname()}:{os.getpid()}:{index}:{uuid.uuid4().hex[:6]}"


class WorkerRegistry:
    def __init__(self, pool: asyncpg.Pool, worker_id: str, lease: timedelta) -> None:
        self._pool = pool
        self.worker_id = worker_id
        self._lease = lease

    async def beat(self, throttle: Mapping[str, Any]) -> int:
        """Record that this worker is alive, with its throttle's state; returns how many workers are (this
        one included)."""
        async with self._pool.acquire() as conn:
            await conn.execute(
                """INSERT INTO workers (worker_id, host, pid, throttle) VALUES ($1, $2, $3, $4)
                   ON CONFLICT (worker_id) DO UPDATE SET heartbeat_at = now(), throttle = $4""",
                self.worker_id,
                socket.gethostname(),
                os.getpid(),
                throttle,
            )
            live = await live_workers(conn, self._lease)
        return max(1, live)

    async def bury_dead(self) -> tuple[list[str], int]:
        """Remove the dead workers and take their messages over: (their ids, messages taken over)."""
        async with self._pool.acquire() as conn, conn.transaction():
            dead = [
                row["worker_id"]
                for row in await conn.fetch(
                    """DELETE FROM workers WHERE worker_id IN (
                           SELECT worker_id FROM workers WHERE heartbeat_at < now() - $1::interval
                           FOR UPDATE SKIP LOCKED)
                       RETURNING worker_id""",
                    self._lease,
                )
            ]
            taken = await _release(conn, dead) if dead else 0
        return dead, taken

    async def take_back(self) -> int:
        """At start: messages this worker id still holds from an earlier run (a batch whose outcome could
        not be recorded, a restart by the supervisor) are made due again."""
        async with self._pool.acquire() as conn, conn.transaction():
            return await _release(conn, [self.worker_id])

    async def leave(self) -> None:
        """A clean stop: nothing is leased any more, so there is nothing to take over."""
        await self._pool.execute("DELETE FROM workers WHERE worker_id = $1", self.worker_id)


async def live_workers(conn: asyncpg.Connection | asyncpg.Pool, lease: timedelta) -> int:
    """Workers of every process whose heartbeat is younger than ``lease``."""
    return int(
        await conn.fetchval("SELECT count(*) FROM workers WHERE heartbeat_at >= now() - $1::interval", lease)
    )


async def live_throttles(
    conn: asyncpg.Connection | asyncpg.Pool, lease: timedelta
) -> list[Mapping[str, Any]]:
    """The throttle state each live worker published with its last heartbeat."""
    rows = await conn.fetch(
        "SELECT throttle FROM workers WHERE heartbeat_at >= now() - $1::interval ORDER BY worker_id", lease
    )
    return [row["throttle"] for row in rows]


async def _release(conn: asyncpg.Connection, owners: list[str]) -> int:
    """Their slices, waiting bulk messages and transactional messages, free again; returns how many."""
    return await release(conn, owners) + await take_over(conn, owners)
