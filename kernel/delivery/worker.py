"""A sender worker: leases slices of running sends and their due retries, and sends them.

Three loops: the heartbeat (:mod:`kernel.delivery.heartbeat`: throttle share, dead workers, gauges), the
send loop here, and the batches it starts, ``worker_concurrency`` at a time, each in a task of its own
(:mod:`kernel.delivery.pipeline`): those are what a crash can send twice, and only the provider batches
of them still in flight. Per running send the loop takes, in this order, messages due again
(:mod:`kernel.delivery.waiting`), a slice whose worker died, or the send's next slice
(:mod:`kernel.delivery.slices`); a paced send's wave bounds how many.

Transactional messages due again (a temporary failure, or a sender that died holding them) are claimed
beside, across projects (:mod:`kernel.delivery.transactional_retries`). Time for pacing and throttling
comes from ``clock`` (epoch seconds) so that tests can drive it; leases and due times are the database's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg

from kernel.channels.pauses import paused_channels
from kernel.delivery import slices
from kernel.delivery.heartbeat import Heartbeat
from kernel.delivery.pipeline import BatchPipeline
from kernel.delivery.send_runtime import SendRuntime, send_runtime
from kernel.delivery.senders import Delivery, SenderPool
from kernel.delivery.slice_work import slice_messages
from kernel.delivery.throttling import DomainThrottle
from kernel.delivery.transactional_retries import TransactionalRetries
from kernel.delivery.waiting import claim_due, pending_of
from kernel.plugins import ChannelManager
from kernel.settings import Settings

log = logging.getLogger(__name__)

#: How often an idle worker looks for work (new sends, due retries, a wave's next slot).
POLL_SECONDS = 0.2
Work = Callable[[], Awaitable[None]]


class BatchFailed(RuntimeError):
    """A batch could not be finished: the worker restarts; its leases lapse and are taken again."""


class SenderWorker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        channels: ChannelManager,
        senders: SenderPool,
        settings: Settings,
        worker_id: str,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._pool = pool
        self._channels = channels
        self._settings = settings
        self.worker_id = worker_id
        self._clock = clock
        self._lease = timedelta(seconds=settings.lease_seconds)
        self._throttle = DomainThrottle(settings)
        rng = rng or random.Random()
        delivery = Delivery(senders, settings.channel_concurrency, settings.default_channel_concurrency)
        self._pipeline = BatchPipeline(
            pool, delivery, settings, self._throttle, worker_id, clock=clock, rng=rng
        )
        self._heartbeat = Heartbeat(pool, settings, worker_id, self._throttle, clock)
        self._transactional = TransactionalRetries(
            pool, channels, delivery, settings, worker_id, clock=clock, rng=rng
        )
        self._sends: dict[tuple[uuid.UUID, uuid.UUID], SendRuntime] = {}
        self._broken: set[tuple[uuid.UUID, uuid.UUID]] = set()
        self._inflight: set[asyncio.Task[None]] = set()
        self._failed = asyncio.Event()

    @property
    def throttle(self) -> DomainThrottle:
        """This worker's per-domain throttle (its limits, share and slow-downs)."""
        return self._throttle

    async def run(self) -> None:
        """Work until cancelled; then let the batches in flight finish and leave the registry."""
        self._failed.clear()
        try:
            await self._heartbeat.beat()
            await self._heartbeat.take_back()
            async with asyncio.TaskGroup() as group:
                group.create_task(self._heartbeat.forever())
                group.create_task(self._send_loop())
                group.create_task(self._stop_when_failed())
        finally:
            await asyncio.shield(self._drain())

    async def _stop_when_failed(self) -> None:
        await self._failed.wait()
        raise BatchFailed(f"sender worker {self.worker_id}: a batch could not be finished")

    async def _drain(self) -> None:
        """Let the batches in flight finish (for the shutdown grace); leave the registry only if they all
        did: the leases of a batch abandoned here lapse, or are released once this worker is found dead."""
        if self._inflight:
            _, abandoned = await asyncio.wait(self._inflight, timeout=self._settings.shutdown_grace_seconds)
            for task in abandoned:
                task.cancel()
            if abandoned:
                return
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            await self._heartbeat.leave()

    async def _send_loop(self) -> None:
        slots = asyncio.Semaphore(self._settings.worker_concurrency)
        refreshed = 0.0
        while True:
            if time.monotonic() - refreshed > POLL_SECONDS:
                await self._refresh_sends()
                refreshed = time.monotonic()
            busy = False
            for runtime in list(self._sends.values()):
                if runtime.not_before > self._clock() or runtime.held:
                    continue
                busy |= await self._start(slots, lambda runtime=runtime: self._claim(runtime))
            busy |= await self._start(slots, self._transactional.claim)
            if not busy:
                await asyncio.sleep(POLL_SECONDS)

    async def _start(self, slots: asyncio.Semaphore, claim: Callable[[], Awaitable[Work | None]]) -> bool:
        """Claim work when a slot is free and do it in a task of its own; False if there was none."""
        await slots.acquire()
        try:
            work = await claim()
        except BaseException:
            slots.release()
            raise
        if work is None:
            slots.release()
            return False
        task = asyncio.create_task(work())
        self._inflight.add(task)
        task.add_done_callback(lambda done: self._finished(done, slots))
        return True

    def _finished(self, task: asyncio.Task[None], slots: asyncio.Semaphore) -> None:
        slots.release()
        self._inflight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "sender worker %s: a batch failed; restarting", self.worker_id, exc_info=task.exception()
            )
            self._failed.set()

    async def _refresh_sends(self) -> None:
        rows = await self._pool.fetch(
            """SELECT project_id, send_id, definition, audience, pace_count IS NOT NULL AS paced FROM sends
               WHERE state = 'running'"""
        )
        running = {(row["project_id"], row["send_id"]): row for row in rows}
        for key in set(self._sends) - set(running):
            del self._sends[key]
            self._pipeline.suspicion.drop_send(*key)
        for key, row in running.items():
            if key not in self._sends and key not in self._broken:
                runtime = send_runtime(row, self._channels)
                if runtime is None:
                    self._broken.add(key)
                else:
                    self._sends[key] = runtime
        paused = await paused_channels(self._pool)
        for runtime in self._sends.values():
            now = frozenset(spec.name for spec in runtime.specs if (runtime.project_id, spec.name) in paused)
            for channel in now ^ runtime.paused:  # paused or lifted since: judge on fresh answers
                self._pipeline.suspicion.forget(runtime.project_id, channel)
            runtime.paused = now

    async def _claim(self, runtime: SendRuntime) -> Work | None:
        """The send's next work: due messages, a lapsed slice, or a new slice; bounded by its wave."""
        size = self._settings.worker_batch_size
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
        rows = await claim_due(conn, runtime, size, self.worker_id, self._lease)
        if rows:
            return (lambda: self._send_waiting(runtime, rows)), len(rows)
        project_id, send_id = runtime.project_id, runtime.send_id
        part = await slices.take_lapsed(conn, project_id, send_id, self.worker_id, self._lease)
        if part is None:
            part = await slices.cut(conn, project_id, send_id, self.worker_id, self._lease, size)
        if part is None:
            return None, 0
        return (lambda: self._send_slice(runtime, part, size)), size

    async def _send_slice(self, runtime: SendRuntime, part: slices.Slice, reserved: int) -> None:
        """``reserved``: what the wave counted for the slice (its profiles), made good once it is read."""
        async with self._pool.acquire() as conn:
            messages = await slice_messages(conn, runtime, part)
            if runtime.paced and len(messages.pending) != reserved:
                released = len(messages.pending) - reserved
                await slices.pace_released(conn, runtime.project_id, runtime.send_id, None, released)
        repeated = await self._pipeline.run(runtime, messages.pending, from_retries=False)
        messages.audience.planned -= repeated
        messages.audience.duplicates += repeated
        async with self._pool.acquire() as conn:
            if not await slices.finish(conn, part, self.worker_id, messages.audience):
                log.warning(
                    "send %s: slice %s was taken over before it was done", part.send_id, part.slice_no
                )

    async def _send_waiting(self, runtime: SendRuntime, rows: list[asyncpg.Record]) -> None:
        async with self._pool.acquire() as conn:
            messages = await pending_of(conn, runtime, rows)
        await self._pipeline.run(runtime, messages, from_retries=True)
        async with self._pool.acquire() as conn, conn.transaction():
            await slices.complete_if_done(conn, runtime.project_id, runtime.send_id)
