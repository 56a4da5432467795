"""Group commit: many small concurrent writes become a few larger transactions.

A single-event call costs a transaction (and a WAL flush) of its own; thousands per second would spend the
database on commits. Callers :meth:`GroupCommitter.submit` their item and await its own result, while
one loop collects what arrives for up to ``max_delay`` seconds (less once ``max_size`` is reached) and
hands each key's items to ``write`` together. While every write slot is busy, items keep collecting, so
batches grow with the load instead of the queue.

Failure semantics: ``write`` returns one outcome per item — a result, or an error meant for that caller
alone. If ``write`` raises, nothing of that group was committed; each item is then written alone, so
that one poisonous item fails only its own caller, and a database outage fails every caller (with the
exception). Nothing is lost silently: every submitted item's caller gets a result or an exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")
R = TypeVar("R")

Writer = Callable[[K, list[T]], Awaitable[list[R | Exception]]]


class ShuttingDown(Exception):
    """The committer is closed: nothing new is accepted."""


@dataclass(slots=True)
class _Waiter(Generic[T, R]):
    item: T
    size: int
    future: asyncio.Future[R]


class GroupCommitter(Generic[K, T, R]):
    """Collects items per key and writes them in groups; see the module documentation."""

    def __init__(self, write: Writer[K, T, R], *, max_delay: float, max_size: int, concurrency: int) -> None:
        self._write = write
        self._max_delay = max_delay
        self._max_size = max_size
        self._slots = asyncio.Semaphore(concurrency)
        self._pending: dict[K, deque[_Waiter[T, R]]] = {}
        self._sizes: dict[K, int] = {}
        self._due: float | None = None
        self._work = asyncio.Event()
        self._full = asyncio.Event()
        self._writing: set[asyncio.Task[None]] = set()
        self._closed = False

    async def submit(self, key: K, item: T, size: int) -> R:
        """Queue ``item`` (``size``: its weight against ``max_size``) and wait until it is written.

        Raises what ``write`` reported for it, or :class:`ShuttingDown`. A cancelled caller's item is
        still written: it may already be part of a transaction.
        """
        if self._closed:
            raise ShuttingDown("the server is shutting down")
        loop = asyncio.get_running_loop()
        waiter: _Waiter[T, R] = _Waiter(item, size, loop.create_future())
        queue = self._pending.get(key)
        if queue is None:
            queue = self._pending[key] = deque()
            self._sizes[key] = 0
        queue.append(waiter)
        self._sizes[key] += size
        if self._due is None:
            self._due = loop.time() + self._max_delay
            self._work.set()
        if self._sizes[key] >= self._max_size:
            self._full.set()
        return await waiter.future

    async def run(self) -> None:
        """The collecting loop; runs until :meth:`close`."""
        while True:
            await self._work.wait()
            await self._slots.acquire()
            if not self._closed and not self._full.is_set() and self._due is not None:
                remaining = self._due - asyncio.get_running_loop().time()
                if remaining > 0:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(remaining):
                            await self._full.wait()
            if self._closed:
                self._slots.release()
                return
            self._start_write()

    async def close(self) -> None:
        """Refuse new items, write everything queued now, and wait for every write to finish."""
        self._closed = True
        self._full.set()
        while self._pending:
            await self._slots.acquire()
            self._start_write()
        await asyncio.gather(*self._writing, return_exceptions=True)

    def _start_write(self) -> None:
        """Take one key's oldest items (up to ``max_size``, at least one) and write them in a task.

        Called holding a write slot, which the task releases.
        """
        if not self._pending:
            self._slots.release()
            return
        key = next(iter(self._pending))
        queue = self._pending.pop(key)
        group = [queue.popleft()]
        size = group[0].size
        while queue and size + queue[0].size <= self._max_size:
            waiter = queue.popleft()
            group.append(waiter)
            size += waiter.size
        if queue:
            # Re-inserted last: other keys' items are written before this key's next group.
            self._pending[key] = queue
            self._sizes[key] -= size
        else:
            del self._sizes[key]
        if not self._pending:
            self._due = None
            self._work.clear()
        if not any(s >= self._max_size for s in self._sizes.values()):
            self._full.clear()
        if self._pending and self._due is not None:
            # What is left has waited long enough: it goes as soon as a slot is free.
            self._due = min(self._due, asyncio.get_running_loop().time())
        task = asyncio.create_task(self._commit(key, group))
        self._writing.add(task)
        task.add_done_callback(self._writing.discard)

    async def _commit(self, key: K, group: list[_Waiter[T, R]]) -> None:
        try:
            outcomes = await self._outcomes(key, group)
        except BaseException as error:  # cancelled at shutdown: nobody may wait forever
            outcomes = [error if isinstance(error, Exception) else ShuttingDown(str(error))] * len(group)
            raise
        finally:
            self._slots.release()
            for waiter, outcome in zip(group, outcomes, strict=True):
                _settle(waiter.future, outcome)

    async def _outcomes(self, key: K, group: list[_Waiter[T, R]]) -> list[R | Exception]:
        try:
            return await self._write(key, [w.item for w in group])
        except Exception as error:
            log.warning("write of %s items failed: %r", len(group), error)
            if len(group) == 1:
                return [error]
        outcomes: list[R | Exception] = []
        for waiter in group:
            try:
                outcomes.extend(await self._write(key, [waiter.item]))
            except Exception as error:
                outcomes.append(error)
        return outcomes


def _settle(future: asyncio.Future[R], outcome: R | Exception) -> None:
    if future.done():  # the caller was cancelled
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
