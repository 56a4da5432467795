"""Group commit: many small concurrent writes become a few larger transactions.

A single-event call costs a transaction (and a WAL flush) of its own; thousands per second would spend the
database on commits. Callers :meth:`GroupCommitter.submit` an item under a key (a project) and await its
own result, while one loop hands each key's queued items to ``write`` together:

- a key's items wait at most ``max_delay`` seconds for company, and go at once when they reach
  ``max_size`` (a group never holds more, unless one item alone is larger);
- a key has at most one partial (not full) group being written: what arrives meanwhile waits for it and
  goes in the next group, so that groups grow with the load instead of the number of transactions;
- at most ``concurrency`` groups (full ones, or other keys') are written at once.

Each committer is named (``upsert``, ``events``): its items' waits, its groups' writes and sizes are
Prometheus histograms (:mod:`kernel.profiles.commit_metrics`).

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
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from kernel.profiles.commit_metrics import ITEMS, WAIT, WRITE

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
    submitted: float


@dataclass(slots=True)
class _Queue(Generic[T, R]):
    """One key's waiting items."""

    due: float
    waiters: deque[_Waiter[T, R]] = field(default_factory=deque)
    size: int = 0
    writing_partial: bool = False


class GroupCommitter(Generic[K, T, R]):
    """Collects items per key and writes them in groups; see the module documentation."""

    def __init__(
        self, name: str, write: Writer[K, T, R], *, max_delay: float, max_size: int, concurrency: int
    ) -> None:
        """``name``: the committer's label in the metrics."""
        self._write = write
        self._waits = WAIT.labels(name)
        self._writes = WRITE.labels(name)
        self._sizes = ITEMS.labels(name)
        self._max_delay = max_delay
        self._max_size = max_size
        self._slots = asyncio.Semaphore(concurrency)
        self._queues: dict[K, _Queue[T, R]] = {}
        self._wake = asyncio.Event()
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
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = _Queue(due=loop.time() + self._max_delay)
            self._wake.set()
        waiter: _Waiter[T, R] = _Waiter(item, size, loop.create_future(), loop.time())
        queue.waiters.append(waiter)
        queue.size += size
        if queue.size >= self._max_size:
            self._wake.set()
        return await waiter.future

    async def run(self) -> None:
        """The collecting loop; runs until :meth:`close`."""
        while not self._closed:
            await self._slots.acquire()
            key = await self._next_key()
            if key is None:
                self._slots.release()
                return
            self._start_write(key)

    async def close(self) -> None:
        """Refuse new items, write everything queued now, and wait for every write to finish."""
        self._closed = True
        self._wake.set()
        while any(queue.waiters for queue in self._queues.values()):
            await self._slots.acquire()
            key = next((k for k, queue in self._queues.items() if queue.waiters), None)
            if key is None:
                self._slots.release()
            else:
                self._start_write(key)
        await asyncio.gather(*self._writing, return_exceptions=True)

    async def _next_key(self) -> K | None:
        """Wait until some key's items should be written (None once closed)."""
        loop = asyncio.get_running_loop()
        while not self._closed:
            now = loop.time()
            next_due: float | None = None
            for key, queue in self._queues.items():
                if queue.size >= self._max_size:
                    return key
                if queue.writing_partial:
                    continue
                if queue.due <= now:
                    return key
                next_due = queue.due if next_due is None else min(next_due, queue.due)
            self._wake.clear()
            timeout = None if next_due is None else next_due - now
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
        return None

    def _start_write(self, key: K) -> None:
        """Take ``key``'s oldest items (up to ``max_size``, at least one) and write them in a task that
        releases the write slot the caller holds."""
        queue = self._queues.pop(key)
        group = [queue.waiters.popleft()]
        size = group[0].size
        while queue.waiters and size + queue.waiters[0].size <= self._max_size:
            waiter = queue.waiters.popleft()
            group.append(waiter)
            size += waiter.size
        queue.size -= size
        partial = size < self._max_size
        if partial:
            queue.writing_partial = True
        now = asyncio.get_running_loop().time()
        if queue.waiters or queue.writing_partial:
            # Kept (last, so that other keys go first) while its partial group is written: that holds
            # back its next partial group. What is left has waited long enough.
            queue.due = min(queue.due, now)
            self._queues[key] = queue
        for waiter in group:
            self._waits.observe(now - waiter.submitted)
        self._sizes.observe(len(group))
        task = asyncio.create_task(self._commit(key, queue if partial else None, group))
        self._writing.add(task)
        task.add_done_callback(self._writing.discard)

    async def _commit(self, key: K, partial_of: _Queue[T, R] | None, group: list[_Waiter[T, R]]) -> None:
        try:
            with self._writes.time():
                outcomes = await self._outcomes(key, group)
        except BaseException as error:  # cancelled at shutdown: nobody may wait forever
            outcomes = [error if isinstance(error, Exception) else ShuttingDown(str(error))] * len(group)
            raise
        finally:
            self._slots.release()
            if partial_of is not None:
                partial_of.writing_partial = False
                if not partial_of.waiters and self._queues.get(key) is partial_of:
                    del self._queues[key]
                self._wake.set()
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
