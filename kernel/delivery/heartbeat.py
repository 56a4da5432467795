"""A sender worker's heartbeat: liveness (the throttle share), dead workers' leases, its throttle's state
(published with the heartbeat for every process, and as this process's gauges), upkeep."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

import asyncpg

from kernel.delivery import metrics, slices
from kernel.delivery.registry import WorkerRegistry
from kernel.delivery.throttle_board import published
from kernel.delivery.throttling import UNLIMITED, DomainState, DomainThrottle
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
        now = self._clock()
        states = self._throttle.state(now)
        live = await self._registry.beat(published(self._throttle.throttle.share, states))
        self._throttle.refresh(now, live)
        dead, taken = await self._registry.bury_dead()
        if dead:
            log.warning("sender workers %s are dead: released %s of their leases", dead, taken)
        async with self._pool.acquire() as conn:
            if swept := await slices.sweep_cancelled(conn):
                log.info("%s messages of cancelled sends will not be retried", swept)
            await slices.complete_finished(conn)
        share = self._throttle.throttle.share
        for state in self._configured(now):
            rate = UNLIMITED.per_second * share * state.slowdown if state.rate is None else state.rate
            metrics.DOMAIN_RATE.labels(self.worker_id, state.domain).set(rate)
            metrics.DOMAIN_SLOWDOWN.labels(self.worker_id, state.domain).set(state.slowdown)

    async def take_back(self) -> None:
        """At start: what this worker id still holds from an earlier run (a batch that could not be
        finished, a restart by the supervisor) is released at once."""
        if taken := await self._registry.take_back():
            log.warning("sender worker %s: %s leases of an earlier run are free again", self.worker_id, taken)

    async def leave(self) -> None:
        await self._registry.leave()
        for state in self._configured(self._clock()):
            metrics.DOMAIN_RATE.remove(self.worker_id, state.domain)
            metrics.DOMAIN_SLOWDOWN.remove(self.worker_id, state.domain)

    def _configured(self, now: float) -> list[DomainState]:
        """The domains named in the settings: the gauges' (a label per domain slowed down would grow
        without bound; the shared state has those)."""
        return [state for state in self._throttle.state(now) if state.configured]
