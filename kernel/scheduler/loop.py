"""The scheduler loop each kernel runs: claim the due timers, run each kind's handler, mark them done.

Claimed timers run concurrently, up to the scheduler's width, one profile's in due order
(:mod:`kernel.scheduler.lanes`); the next claim waits for room, so a kernel holds no more than it runs.

Several kernels run it against one database: claims skip what another holds, so a due timer is run by one
of them. A kernel that stops (or dies) with timers due finds them still pending when it, or any other,
polls again: they run late, once each, and the delay is logged. A handler that fails leaves its timer
pending; it is tried again when its lease expires, until its ``max_attempts``-th run fails: then it is
given up (state ``failed``, with its last error; counted in ``herald_timers_given_up_total``), so that one
broken timer is not tried forever, nor holds its profile's later timers back in other kernels.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
from prometheus_client import Counter

from kernel.scheduler.batches import BatchHandler, split
from kernel.scheduler.jobs import Job, claim, finish, give_up
from kernel.scheduler.lanes import Lanes

log = logging.getLogger(__name__)

Handler = Callable[[Job], Awaitable[None]]

#: How long a claimed timer stays with its scheduler: far longer than any handler takes, so that only a
#: scheduler that died lets another run it again.
LEASE_SECONDS = 300.0

GIVEN_UP = Counter(
    "herald_timers_given_up",
    "Timers failed for good: their handler failed on each of their HERALD_SCHEDULER_MAX_ATTEMPTS runs.",
    ["kind"],
)


class Scheduler:
    """Runs due timers until stopped; ``wake`` makes it poll now (a timer due at once was stored)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        poll_seconds: float,
        width: int = 1,
        claim_size: int = 20,
        max_attempts: int = 10,
    ) -> None:
        """``width``: timers (or batches) run at once (each holds a database connection while it runs);
        ``claim_size``: timers claimed at once (a poll claims again until it finds none due), the most a
        batch holds; ``max_attempts``: runs of a timer whose handler fails before it is given up."""
        self._pool = pool
        self._poll_seconds = poll_seconds
        self._width = width
        self._claim_size = claim_size
        self._max_attempts = max_attempts
        self._handlers: dict[str, Handler] = {}
        self._batch_handlers: dict[str, BatchHandler] = {}
        self._in_order: set[str] = set()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def register(
        self, kind: str, handler: Handler, batch: BatchHandler | None = None, *, in_order: bool = False
    ) -> None:
        """``batch``: runs several of the kind's jobs at once (of distinct profiles, unless ``in_order``:
        it takes a profile's several jobs in their order); ``handler`` runs those it leaves."""
        self._handlers[kind] = handler
        if batch is not None:
            self._batch_handlers[kind] = batch
        if in_order:
            self._in_order.add(kind)

    def wake(self) -> None:
        self._wakeup.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_due(self) -> int:
        """One poll: run every due timer this scheduler can claim; how many it ran."""
        lanes = Lanes(self._width, self._run_one)
        try:
            while True:
                await lanes.room()
                claimed = await claim(
                    self._pool, self.owner, LEASE_SECONDS, self._claim_size, list(self._handlers)
                )
                together, alone = split(claimed, self._batch_handlers, lanes.busy, self._in_order)
                for jobs in together:
                    lanes.add_batch(jobs, self._run_batch)
                for job in alone:
                    lanes.add(job)
                # Until a claim finds nothing: the one before may have left a profile's later timers
                # behind its earlier ones (see kernel.scheduler.jobs), which are this scheduler's now.
                if not claimed:
                    return await lanes.drain()
        except asyncio.CancelledError:
            await lanes.cancel()
            raise
        except (asyncpg.PostgresError, OSError):
            await lanes.drain()  # the timers under way finish; the poll's failure is the loop's to log
            raise

    async def _run(self) -> None:
        while True:
            try:
                await self.run_due()
            except (asyncpg.PostgresError, OSError):
                log.exception("scheduler poll failed; polling again in %s s", self._poll_seconds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._poll_seconds)
            self._wakeup.clear()

    async def _run_batch(self, jobs: list[Job]) -> int:
        """The batch's jobs run together, then those it left one by one; how many ran to the end."""
        try:
            left = await self._batch_handlers[jobs[0].kind](jobs)
        except Exception:
            log.exception("a batch of %d timers %s failed; running them one by one", len(jobs), jobs[0].kind)
            left = jobs
        alone = {job.job_id for job in left}
        self._note_batch_lateness([job for job in jobs if job.job_id not in alone])
        ran = len(jobs) - len(left)
        for job in left:
            ran += await self._run_one(job)
        return ran

    def _note_lateness(self, job: Job) -> None:
        lateness = (datetime.now(UTC) - job.due_at).total_seconds()
        if lateness > 2 * self._poll_seconds:
            log.warning(
                "timer %s %s runs %.0f s late (attempt %d): it came due while no scheduler ran it",
                job.kind,
                job.key,
                lateness,
                job.attempts,
            )

    def _note_batch_lateness(self, jobs: list[Job]) -> None:
        """One warning for the late timers of a batch, naming the most overdue: behind a backlog every
        timer is late, and a line for each would cost the kernel more than running it."""
        now = datetime.now(UTC)
        late = [job for job in jobs if (now - job.due_at).total_seconds() > 2 * self._poll_seconds]
        if not late:
            return
        first = min(late, key=lambda job: job.due_at)
        log.warning(
            "%d timers %s run up to %.0f s late (%s, attempt %d, the most overdue): they came due while "
            "no scheduler ran them",
            len(late),
            first.kind,
            (now - first.due_at).total_seconds(),
            first.key,
            first.attempts,
        )

    async def _run_one(self, job: Job) -> int:
        handler = self._handlers[job.kind]
        self._note_lateness(job)
        try:
            await handler(job)
        except Exception as error:
            if job.attempts < self._max_attempts:
                log.exception("timer %s %s failed; tried again in %s s", job.kind, job.key, LEASE_SECONDS)
            elif await give_up(self._pool, job, repr(error)):
                GIVEN_UP.labels(job.kind).inc()
                log.exception(
                    "timer %s %s failed on each of its %d runs: given up",
                    job.kind,
                    job.key,
                    job.attempts,
                )
            return 0
        if not await finish(self._pool, job):
            log.warning(
                "timer %s %s was no longer this scheduler's when it finished (dropped by its owner, or "
                "its lease went to another scheduler)",
                job.kind,
                job.key,
            )
        return 1
