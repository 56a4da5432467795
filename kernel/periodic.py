"""Upkeep that every kernel runs on its own clock: partitions to create, rows past their retention.

Each such job takes a lock or deletes what is due, so that kernels running it together do no harm; the
interval is jittered so that kernels started together do not queue on that lock at every turn.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

import asyncpg

log = logging.getLogger(__name__)


async def repeat(
    name: str, run: Callable[[], Awaitable[object]], interval_seconds: float, first_delay: float = 0.0
) -> None:
    """Run ``run`` after ``first_delay`` seconds, then about every ``interval_seconds``, until cancelled.
    A failed run (the database away) is logged and the next one happens as planned."""
    delay = first_delay
    while True:
        await asyncio.sleep(delay)
        try:
            await run()
        except (asyncpg.PostgresError, OSError):
            log.exception("%s failed; trying again in %.0f s", name, interval_seconds)
        delay = interval_seconds * random.uniform(0.9, 1.1)
