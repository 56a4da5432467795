"""Transactions that PostgreSQL may abort as deadlock victims, tried again.

Two writers that lock the same rows in a different order (profiles grouped into one transaction per
batch, an Identify racing them) deadlock now and then; PostgreSQL aborts one of them, whose transaction
can simply run again. Trying again at once tends to meet the same partner in the same order, so each new
attempt waits a random moment first, growing with the attempts.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

T = TypeVar("T")

ATTEMPTS = 5
#: The most the first retry waits (seconds); each later one may wait twice as long as the one before.
FIRST_WAIT = 0.01


async def retry_deadlocks(attempt: Callable[[], Awaitable[T]], *, attempts: int = ATTEMPTS) -> T:
    """``attempt()`` (a whole transaction), run again when PostgreSQL aborted it to break a deadlock."""
    for tries in range(attempts - 1):
        try:
            return await attempt()
        except asyncpg.DeadlockDetectedError:
            await asyncio.sleep(random.uniform(0, FIRST_WAIT * 2**tries))
    return await attempt()
