"""A sender worker's heartbeat: liveness (the throttle share), dead workers' leases, its throttle's gauges,
upkeep."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

import asyncpg

from kernel.delivery import metrics, slices
from kernel.delivery.registry import WorkerRegistry
from kernel.delivery.throttling import DomainThrottle
from kernel.settings import Settings

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: Settings,
        worker_id: str,
        throttle: DomainThrottle,
        clock: Callable[[], float],
    ) -> None:
        self._pool = pool
        self._every = settings.heartbeat_seconds
        self._registry = WorkerRegistry(pool, worker_id, timedelta(seconds=settings.lease_seconds))
        self._throttle = throttle
        self._clock = clock
        self.worker_id = worker_id

    async def forever(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.beat()
            except (OSError, asyncpg.PostgresError):
                log.exception("sender worker: heartbeat failed; trying again")

    async def beat(self) -> None:
        live = await self._registry.beat()
        self._throttle.refresh(self._clock(), live)
        dead, taken = await self._registry.bury_dead()
        if dead:
            log.warning("sender workers %s are dead: released %s of their leases", dead, taken)
        async with self._pool.acquire() as conn:
            if swept := await slices.sweep_cancelled(conn):
                log.info("%s messages of cancelled sends will not be retried", swept)
            await slices.complete_finished(conn)
        for domain, (rate, slowdown) in self._throttle.state(self._clock()).items():
            metrics.DOMAIN_RATE.labels(self.worker_id, domain).set(rate)
            metrics.DOMAIN_SLOWDOWN.labels(self.worker_id, domain).set(slowdown)

    async def take_back(self) -> None:
        """At start: what this worker id still holds from an earlier run (a batch that could not be
        finished, a restart by the supervisor) is released at once."""
        if taken := await self._registry.take_back():
            log.warning("sender worker %s: %s leases of an earlier run are free again", self.worker_id, taken)

    async def leave(self) -> None:
        await self._registry.leave()
        for domain in self._throttle.state(self._clock()):
            metrics.DOMAIN_RATE.remove(self.worker_id, domain)
            metrics.DOMAIN_SLOWDOWN.remove(self.worker_id, domain)
