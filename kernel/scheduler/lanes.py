"""Claimed timers run side by side, a bounded number at once, each lane's in the order they were claimed.

A lane is what must not be reordered: the jobs of one profile (an automation's "entered" event must not
be overtaken by its exit event, nor a wait's end by the event that follows it). A job naming several
profiles (a batch of tracked events) is in each of their lanes. Jobs of different lanes
share nothing the scheduler must order; their handlers take their own locks. A job waiting for its lane's
previous one holds no slot, so one busy profile never idles the others.

A batch (jobs of distinct profiles a handler runs in one transaction, see :mod:`kernel.scheduler.batches`)
is in the lanes of all its jobs: it starts once each of them is free, takes one slot, and the jobs added
to those lanes after it wait for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Sequence

from kernel.scheduler.jobs import Job, profile_of

log = logging.getLogger(__name__)

Runner = Callable[[Job], Awaitable[int]]
BatchRunner = Callable[[list[Job]], Awaitable[int]]


def lanes_of(job: Job) -> list[Hashable]:
    """A job naming a profile (``profile_id`` in its payload) is in the profile's lane, one naming several
    (``profile_ids``) in each of theirs; any other job is alone in its own."""
    profile_id = job.payload.get("profile_id")
    profile_ids = [profile_id] if profile_id is not None else job.payload.get("profile_ids")
    if profile_ids is None:
        return [job.job_id]
    return list(dict.fromkeys((job.project_id, profile_of(str(one))) for one in profile_ids))


class Lanes:
    """Runs the jobs added, at most ``width`` at once; ``drain`` waits for them all."""

    def __init__(self, width: int, run: Runner) -> None:
        self._width = width
        self._run = run
        self._slots = asyncio.Semaphore(width)
        self._tails: dict[Hashable, asyncio.Task[int]] = {}
        self._running: set[asyncio.Task[int]] = set()
        self._ran = 0

    def add(self, job: Job) -> None:
        self._add(lanes_of(job), lambda: self._run(job))

    def busy(self, job: Job) -> bool:
        """Whether a job added now would wait for its lane's earlier ones."""
        return any(lane in self._tails for lane in lanes_of(job))

    def add_batch(self, jobs: list[Job], run: BatchRunner) -> None:
        """Run ``jobs`` (of distinct lanes) together through ``run``, after each lane's earlier jobs."""
        self._add([lane for job in jobs for lane in lanes_of(job)], lambda: run(jobs))

    def _add(self, lanes: Sequence[Hashable], run: Callable[[], Awaitable[int]]) -> None:
        previous = [tail for lane in lanes if (tail := self._tails.get(lane)) is not None]
        task = asyncio.create_task(self._after(previous, run))
        for lane in lanes:
            self._tails[lane] = task
        self._running.add(task)
        task.add_done_callback(lambda done: self._done(lanes, done))

    async def room(self) -> None:
        """Wait until fewer than ``width`` jobs are unfinished: claims keep pace with the runs, leaving
        what this kernel cannot start yet to the others."""
        while len(self._running) >= self._width:
            await asyncio.wait(set(self._running), return_when=asyncio.FIRST_COMPLETED)

    async def drain(self) -> int:
        """Wait for every job added; how many ran to the end (their runner's count)."""
        while self._running:
            await asyncio.wait(set(self._running))
        return self._ran

    async def cancel(self) -> None:
        for task in self._running:
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    async def _after(self, previous: list[asyncio.Task[int]], run: Callable[[], Awaitable[int]]) -> int:
        if previous:
            await asyncio.wait(previous)
        async with self._slots:
            return await run()

    def _done(self, lanes: Sequence[Hashable], task: asyncio.Task[int]) -> None:
        self._running.discard(task)
        for lane in lanes:
            if self._tails.get(lane) is task:
                del self._tails[lane]
        if task.cancelled():
            return
        if (error := task.exception()) is not None:
            # The runner logs its handler's failures; this is the database failing under it (the job
            # stays pending, run again when its lease expires).
            log.error("a timer's run failed", exc_info=error)
            return
        self._ran += task.result()
