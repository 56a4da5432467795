"""An emulator's outgoing webhook calls (sandbox feedback), posted the way providers post them: from
the background, after the API call that caused them was answered, in batches per target, and again
when the target does not answer 2xx."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Generic, TypeVar

from plugins._http import TRANSPORT_ERRORS

log = logging.getLogger(__name__)

Target = TypeVar("Target", bound=Hashable)
Item = TypeVar("Item")


class WebhookPoster(Generic[Target, Item]):
    """Items queue per target; every ``interval`` seconds each target gets its queue in order, at most
    ``batch_size`` items per call to ``post`` (which returns the target's HTTP status). A batch the
    target does not take is tried again on a later round, the pause doubling after each failure, up to
    ``attempts`` rounds in a row; then that target's queue is dropped with a warning (a provider gives
    up too, after hours)."""

    def __init__(
        self,
        post: Callable[[Target, list[Item]], Awaitable[int]],
        *,
        batch_size: int,
        interval: float,
        attempts: int = 8,
    ) -> None:
        self._post = post
        self._batch_size = batch_size
        self._interval = interval
        self._attempts = attempts
        self._queues: dict[Target, deque[Item]] = {}
        self._failures: dict[Target, int] = {}
        self._wake = asyncio.Event()
        self._settled = asyncio.Event()
        self._settled.set()
        self._task: asyncio.Task[None] | None = None

    def add(self, target: Target, items: Iterable[Item]) -> None:
        """Queue ``items`` for ``target`` (call from the running loop)."""
        new = list(items)
        if not new:
            return
        self._queues.setdefault(target, deque()).extend(new)
        self._settled.clear()
        self._wake.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="emulator webhook poster")

    async def settled(self) -> None:
        """Return once every queued item was posted or given up."""
        await self._settled.wait()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            # Reports gather for a while before they go, as at the provider; a failing target waits longer.
            await asyncio.sleep(self._interval * 2 ** max(self._failures.values(), default=0))
            for target in list(self._queues):
                await self._drain(target)
            if self._queues:
                self._wake.set()
            else:
                self._settled.set()

    async def _drain(self, target: Target) -> None:
        queue = self._queues[target]
        while queue:
            batch = [queue.popleft() for _ in range(min(len(queue), self._batch_size))]
            try:
                status = await self._post(target, batch)
            except TRANSPORT_ERRORS as exc:
                status, reason = 0, repr(exc)
            else:
                reason = f"HTTP {status}"
            if 200 <= status < 300:
                self._failures.pop(target, None)
                continue
            queue.extendleft(reversed(batch))
            failures = self._failures[target] = self._failures.get(target, 0) + 1
            if failures < self._attempts:
                return
            log.warning(
                "webhook target %s: %d reports dropped after %d attempts (%s)",
                target,
                len(queue),
                failures,
                reason,
            )
            queue.clear()
        del self._queues[target]
        self._failures.pop(target, None)
