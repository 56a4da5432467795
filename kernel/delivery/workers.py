"""The sender workers of one process (a kernel, or ``herald worker``), supervised.

A worker that fails (the database went away, a bug) is logged and started again after a pause; its
leased messages are safe either way (see :mod:`kernel.delivery.registry`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import asyncpg

from kernel.delivery.registry import new_worker_id
from kernel.delivery.senders import SenderPool
from kernel.delivery.worker import SenderWorker
from kernel.plugins import ChannelManager
from kernel.settings import Settings

log = logging.getLogger(__name__)

RESTART_SECONDS = 1.0


class WorkerGroup:
    def __init__(
        self,
        pool: asyncpg.Pool,
        channels: ChannelManager,
        senders: SenderPool,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._pool = pool
        self._channels = channels
        self._senders = senders
        self._settings = settings
        self._clock = clock
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def start(self, count: int | None = None) -> None:
        """Start ``count`` workers (default: the ``worker_count`` setting); nothing if already running."""
        if self._tasks:
            return
        for index in range(self._settings.worker_count if count is None else count):
            worker = SenderWorker(
                self._pool,
                self._channels,
                self._senders,
                self._settings,
                new_worker_id(index),
                clock=self._clock,
            )
            self._tasks.append(asyncio.create_task(self._supervise(worker), name=worker.worker_id))

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @staticmethod
    async def _supervise(worker: SenderWorker) -> None:
        while True:
            try:
                await worker.run()
            except Exception:
                log.exception("sender worker %s stopped; starting it again", worker.worker_id)
                await asyncio.sleep(RESTART_SECONDS)
