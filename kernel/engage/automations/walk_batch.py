"""The scheduler's batch handler for tracked events (``automation.event``) and ends of waits
(``automation.wait``): the claim's jobs of distinct profiles take effect in ONE transaction, and their
messages go out together after its commit.

Each job has exactly the effects it has alone, with the same locks in the same order: the batch's
profiles first, in one statement, then the automations' rows (shared, read once for the batch), then the
entries. The work is set-based, so that a batch costs a fixed number of statements rather than a dozen
per job: the jobs marked done in one statement; the entries whose waits ended locked in one and walked
together (:mod:`kernel.engage.automations.walking`); the events that only enter profiles admitted together
(:mod:`kernel.engage.automations.admission`: the advisory locks, re-entry reads and entries in one statement
each) and walked together, a profile's second automation after its first's walk (as alone); the webhook
events queued in one statement (:mod:`kernel.engage.automations.outgoing`); one commit; then the messages
attempted per project and channel in one transmission. An event that also exits or resumes entries (an
exit event, an awaited event) takes its own walk (:meth:`AutomationRunner.follow`) in the same transaction.

Anything failing rolls the whole batch back, and the scheduler then runs its events one by one
(:mod:`kernel.scheduler.batches`): the one that fails stays pending, the others commit. A job whose
lease went to another scheduler, or whose timer its owner dropped meanwhile, is left to the one-by-one run
too, which finds it so.
"""

from __future__ import annotations

import logging
import uuid

import asyncpg

from kernel.engage.automations import store
from kernel.engage.automations.entry_timers import WAIT
from kernel.engage.automations.event_reads import EventReads
from kernel.engage.automations.outgoing import held_together
from kernel.engage.automations.runner import AutomationRunner, event_of, event_profile
from kernel.engage.automations.sending import Planned, joined
from kernel.engage.automations.walking import Cursor
from kernel.scheduler import Job, finish_together

log = logging.getLogger(__name__)


class WalkBatch:
    def __init__(self, pool: asyncpg.Pool, runner: AutomationRunner) -> None:
        self._pool = pool
        self._runner = runner

    async def __call__(self, jobs: list[Job]) -> list[Job]:
        """Run the jobs (of distinct profiles) together; those left to run one by one."""
        planned: list[Planned] = []
        reads = self._runner.reads()
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                done = await finish_together(conn, jobs)
                mine = [job for job in jobs if job.job_id in done]
                present = await store.lock_profiles(
                    conn, [(job.project_id, event_profile(job)) for job in mine]
                )
                events = [
                    event_of(job)
                    for job in mine
                    if job.kind != WAIT and (job.project_id, event_profile(job)) in present
                ]
                async with held_together(conn):
                    planned += await self._ends_of_waits(
                        conn, reads, [job for job in mine if job.kind == WAIT]
                    )
                    planned += await self._runner.take(conn, reads, events)
        except Exception:
            log.exception("a batch of %d automation jobs failed; they run one by one", len(jobs))
            return jobs
        await self._runner.attempt(joined(planned))
        return [job for job in jobs if job.job_id not in done]

    async def _ends_of_waits(
        self, conn: asyncpg.Connection, reads: EventReads, jobs: list[Job]
    ) -> list[Planned]:
        """The entries whose waits ended, locked in one statement once their automations' shares are
        held, walk on together."""
        keys = [(job, *job.key.split("/")) for job in jobs]
        for job, automation_id, _, _ in keys:
            await reads.share_state(conn, job.project_id, uuid.UUID(automation_id))
        entries = await store.lock_entries(
            conn,
            [
                (job.project_id, uuid.UUID(automation_id), uuid.UUID(entry_id))
                for job, automation_id, entry_id, _ in keys
            ],
        )
        cursors: list[Cursor] = []
        for job, _, entry_id, _ in keys:
            cursor = await self._runner.wait_ended(
                conn, job, reads, entries.get((job.project_id, uuid.UUID(entry_id)))
            )
            if cursor is not None:
                cursors.append(cursor)
        return await self._runner.walker.walk(conn, reads, cursors)
