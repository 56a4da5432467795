"""What the kernel's PostgreSQL connections are doing during a run, sampled: where a pipeline waits.

A thread asks ``pg_stat_activity`` every :data:`INTERVAL_SECONDS` what each client backend is doing and
averages, over the run, how many backends were in each state: running, waiting for a lock (by the lock's
kind), waiting for the kernel in the middle of a transaction ("idle in transaction": the kernel has the
next statement to send), and the share of the time none was running. The sampling takes some CPU of its
own (a query each time): use it to see where the time goes, and runs without it for rates.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from types import TracebackType

import asyncpg

INTERVAL_SECONDS = 0.01


class BackendStates:
    """``with BackendStates(dsn) as states: ...`` then ``states.report()``."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._stop = threading.Event()
        self._counts: Counter[str] = Counter()
        self._samples = 0
        self._thread = threading.Thread(target=lambda: asyncio.run(self._sample()), daemon=True)

    def __enter__(self) -> BackendStates:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    async def _sample(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        try:
            while not self._stop.is_set():
                rows = await conn.fetch(
                    """SELECT state, wait_event_type, wait_event FROM pg_stat_activity
                       WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"""
                )
                running = 0
                for row in rows:
                    if row["state"] == "active" and row["wait_event_type"] == "Lock":
                        self._counts[f"waiting for a lock ({row['wait_event']})"] += 1
                    elif row["state"] == "active":
                        running += 1
                    elif row["state"] == "idle in transaction":
                        self._counts["waiting for the kernel in a transaction"] += 1
                self._counts["running (or waiting for I/O)"] += running
                self._counts["none running (share of the time)"] += running == 0
                self._samples += 1
                await asyncio.sleep(INTERVAL_SECONDS)
        finally:
            await conn.close()

    def report(self) -> dict[str, float]:
        """Backends in each state on average over the samples."""
        samples = max(self._samples, 1)
        return {state: round(count / samples, 3) for state, count in sorted(self._counts.items())}
