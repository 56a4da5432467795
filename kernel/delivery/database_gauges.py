"""The gauges every Herald process reads from the database when it is scraped: the queue depth, the live
workers, the deferred messages, the paused channels and each running send's progress.

They describe the whole deployment, not one process: an API-only kernel, a ``herald worker`` and a
kernel with workers of its own all answer the same figures, and a send that is over leaves them (its
series are removed, the queue depth falls back to zero) whichever process finished it.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable
from datetime import timedelta

import asyncpg

from kernel.channels.pauses import paused_channels
from kernel.delivery import metrics
from kernel.delivery.registry import live_workers
from kernel.delivery.slices import pending_messages, running_progress
from kernel.delivery.waiting import deferred_messages


class DatabaseGauges:
    def __init__(self, pool: asyncpg.Pool, lease_seconds: float, channels: Iterable[str]) -> None:
        self._pool = pool
        self._lease = timedelta(seconds=lease_seconds)
        self._channels = tuple(channels)

    async def refresh(self) -> None:
        async with self._pool.acquire() as conn:
            live = await live_workers(conn, self._lease)
            deferred = await deferred_messages(conn)
            sends = await running_progress(conn)
            pending = await pending_messages(conn)
            paused = await paused_channels(conn)
        metrics.LIVE_WORKERS.set(live)
        projects = Tally(channel for _, channel in paused)
        for channel in self._channels:
            metrics.PAUSED_CHANNELS.labels(channel).set(projects[channel])
        for reason, count in deferred.items():
            metrics.DEFERRED.labels(reason).set(count)
        metrics.SEND_MESSAGES.clear()
        metrics.SEND_RATE.clear()
        for send in sends:
            labels = (str(send.project_id), str(send.send_id))
            counters = send.counts.counters
            for status, count in (
                ("sent", counters["sent"]),
                ("failed", counters["failed"]),
                ("pending", send.counts.pending),
            ):
                metrics.SEND_MESSAGES.labels(*labels, status).set(count)
            metrics.SEND_RATE.labels(*labels).set(counters["sent"] / send.age if send.age > 0 else 0.0)
        metrics.QUEUE_DEPTH.set(pending)
