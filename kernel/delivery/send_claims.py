"""A running send's next work for a sender worker, and the doing of it.

In this order: messages of the send due again (:mod:`kernel.delivery.waiting`), a slice whose worker died,
or the send's next slice (:mod:`kernel.delivery.slices`); a paced send's wave bounds how many. The claim is
one transaction (the wave's count with it); the work it returns runs in a task of its own, through the
worker's batch pipeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import asyncpg

from kernel.delivery import slices
from kernel.delivery.pipeline import BatchPipeline
from kernel.delivery.send_runtime import SendRuntime
from kernel.delivery.slice_work import slice_messages
from kernel.delivery.waiting import claim_due, pending_of, renew_claimed

log = logging.getLogger(__name__)

Work = Callable[[], Awaitable[None]]


class SendClaims:
    def __init__(
        self,
        pool: asyncpg.Pool,
        pipeline: BatchPipeline,
        owner: str,
        *,
        batch_size: int,
        lease: timedelta,
        clock: Callable[[], float],
    ) -> None:
        self._pool = pool
        self._pipeline = pipeline
        self._owner = owner
        self._batch_size = batch_size
        self._lease = lease
        self._clock = clock

    async def claim(self, runtime: SendRuntime) -> Work | None:
        """The send's next work: due messages, a lapsed slice, or a new slice; bounded by its wave."""
        size = self._batch_size
        async with self._pool.acquire() as conn, conn.transaction():
            budget = None
            if runtime.paced:
                budget = await slices.pace_budget(
                    conn, runtime.project_id, runtime.send_id, self._clock(), size
                )
                runtime.not_before = budget.next_at
                if budget.count == 0:
                    return None
                size = budget.count
            work, released = await self._claim_some(conn, runtime, size)
            if budget is not None and released:
                await slices.pace_released(conn, runtime.project_id, runtime.send_id, budget.start, released)
        return work

    async def _claim_some(
        self, conn: asyncpg.Connection, runtime: SendRuntime, size: int
    ) -> tuple[Work | None, int]:
        rows = await claim_due(conn, runtime, size, self._owner, self._lease)
        if rows:
            return (lambda: self._send_waiting(runtime, rows)), len(rows)
        project_id, send_id = runtime.project_id, runtime.send_id
        part = await slices.take_lapsed(conn, project_id, send_id, self._owner, self._lease)
        if part is None:
            part = await slices.cut(conn, project_id, send_id, self._owner, self._lease, size)
        if part is None:
            return None, 0
        return (lambda: self._send_slice(runtime, part, size)), size

    async def _send_slice(self, runtime: SendRuntime, part: slices.Slice, reserved: int) -> None:
        """``reserved``: what the wave counted for the slice (its profiles), made good once it is read."""
        async with kept_leased(
            self._pool,
            f"send {part.send_id} slice {part.slice_no}",
            lambda conn: slices.renew(conn, part, self._owner, self._lease),
            self._lease,
        ):
            async with self._pool.acquire() as conn:
                messages = await slice_messages(conn, runtime, part)
                await slices.read_out(conn, part, self._owner, runtime.names, messages.audience)
                if runtime.paced and len(messages.pending) != reserved:
                    released = len(messages.pending) - reserved
                    await slices.pace_released(conn, runtime.project_id, runtime.send_id, None, released)
            repeated = await self._pipeline.run(runtime, messages.pending, from_retries=False, part=part)
            for channel, count in repeated.items():
                messages.audience.count(channel, "planned", by=-count)
                messages.audience.count(channel, "duplicates", by=count)
            async with self._pool.acquire() as conn:
                if not await slices.finish(conn, part, self._owner, runtime.names, messages.audience):
                    log.warning(
                        "send %s: slice %s was taken over before it was done", part.send_id, part.slice_no
                    )

    async def _send_waiting(self, runtime: SendRuntime, rows: list[asyncpg.Record]) -> None:
        ids = [row["message_id"] for row in rows]
        async with kept_leased(
            self._pool,
            f"send {runtime.send_id} retries",
            lambda conn: renew_claimed(conn, runtime, ids, self._owner, self._lease),
            self._lease,
        ):
            async with self._pool.acquire() as conn:
                messages = await pending_of(conn, runtime, rows)
            await self._pipeline.run(runtime, messages, from_retries=True)
        async with self._pool.acquire() as conn, conn.transaction():
            await slices.complete_if_done(conn, runtime.project_id, runtime.send_id)


@contextlib.asynccontextmanager
async def kept_leased(
    pool: asyncpg.Pool, what: str, renew: Callable[[asyncpg.Connection], Awaitable[bool]], lease: timedelta
) -> AsyncIterator[None]:
    """Renew a lease (``renew``: False once it is no longer ours) every third of it while the block runs:
    a live worker's claim lapses only when the worker stops renewing it (it died, or its loop is stuck),
    never for a slow provider. ``what`` names the claim in the log."""

    async def renew_periodically() -> None:
        while True:
            await asyncio.sleep(lease.total_seconds() / 3)
            try:
                async with pool.acquire() as conn:
                    if not await renew(conn):
                        return
            except (asyncpg.PostgresError, OSError):
                log.warning("%s: lease not renewed; trying again", what)

    task = asyncio.create_task(renew_periodically(), name=f"{what} lease")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
