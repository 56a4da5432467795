"""A sender worker: leases slices of running sends and their due retries, and sends them.

Three loops: the heartbeat (:mod:`kernel.delivery.heartbeat`: throttle share, dead workers, gauges), the
send loop here, and the batches it starts, ``worker_concurrency`` at a time, each in a task of its own
(:mod:`kernel.delivery.pipeline`): those are what a crash can send twice, and only the provider batches
of them still in flight. The loop takes each running send's next work (:mod:`kernel.delivery.send_claims`)
among the sends it knows (:mod:`kernel.delivery.running_sends`).

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
from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg

from kernel.delivery.heartbeat import Heartbeat
from kernel.delivery.pipeline import BatchPipeline
from kernel.delivery.running_sends import RunningSends
from kernel.delivery.send_claims import SendClaims, Work
from kernel.delivery.senders import Delivery, SenderPool
from kernel.delivery.throttling import DomainThrottle
from kernel.delivery.transactional_retries import TransactionalRetries
from kernel.plugins import ChannelManager
from kernel.settings import Settings

log = logging.getLogger(__name__)

#: How often an idle worker looks for work (new sends, due retries, a wave's next slot).
POLL_SECONDS = 0.2


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
        self._settings = settings
        self.worker_id = worker_id
        self._clock = clock
        self._throttle = DomainThrottle(settings)
        rng = rng or random.Random()
        delivery = Delivery(senders, settings.channel_concurrency, settings.default_channel_concurrency)
        pipeline = BatchPipeline(pool, delivery, settings, self._throttle, worker_id, clock=clock, rng=rng)
        self._claims = SendClaims(
            pool,
            pipeline,
            worker_id,
            batch_size=settings.worker_batch_size,
            lease=timedelta(seconds=settings.lease_seconds),
            clock=clock,
        )
        self._heartbeat = Heartbeat(pool, settings, worker_id, self._throttle, clock)
        self._transactional = TransactionalRetries(
            pool, channels, delivery, settings, worker_id, clock=clock, rng=rng
        )
        self._sends = RunningSends(pool, channels, pipeline.suspicion)
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
                await self._sends.refresh()
                refreshed = time.monotonic()
            busy = False
            for runtime in self._sends:
                if runtime.not_before > self._clock() or runtime.held:
                    continue
                busy |= await self._start(slots, lambda runtime=runtime: self._claims.claim(runtime))
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
