"""The scheduler's batch handler for tracked events (``automation.event``) and ends of waits
(``automation.wait``): the claim's jobs of distinct profiles take effect in ONE transaction, and their
messages go out together after its commit.

Each job has exactly the effects it has alone (:meth:`AutomationRunner.follow` for an event: exits,
awaited events, entries with their re-entry policy, cap and entry filter; :meth:`AutomationRunner.end_wait`
for a wait; every step of the walks, pressure rules, facts, outgoing webhook events), with the same locks
in the same order: the batch's profiles first, in one statement, then the automations' rows (shared, read
once for the batch), then the entries. What is
shared is what costs: one commit (its WAL flush) for the batch instead of one per event, the jobs marked
done in one statement, the triggers and the automations' states read once, the webhook events queued in
one statement (:mod:`kernel.engage.automations.outgoing`), and the messages attempted per project and
channel in one transmission instead of one per step.

Anything failing rolls the whole batch back, and the scheduler then runs its events one by one
(:mod:`kernel.scheduler.batches`): the one that fails stays pending, the others commit. A job whose
lease went to another scheduler, or whose timer its owner dropped meanwhile, is left to the one-by-one run
too, which finds it so.
"""

from __future__ import annotations

import logging

import asyncpg

from kernel.engage.automations import store
from kernel.engage.automations.event_reads import EventReads
from kernel.engage.automations.outgoing import held_together
from kernel.engage.automations.runner import WAIT, AutomationRunner, event_profile
from kernel.engage.automations.sending import Planned, joined
from kernel.scheduler import Job, finish_together

log = logging.getLogger(__name__)


class WalkBatch:
    def __init__(self, pool: asyncpg.Pool, runner: AutomationRunner) -> None:
        self._pool = pool
        self._runner = runner

    async def __call__(self, jobs: list[Job]) -> list[Job]:
        """Run the jobs (of distinct profiles) together; those left to run one by one."""
        planned: list[Planned] = []
        reads = EventReads()
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                done = await finish_together(conn, jobs)
                mine = [job for job in jobs if job.job_id in done]
                present = await store.lock_profiles(
                    conn, [(job.project_id, event_profile(job)) for job in mine]
                )
                async with held_together(conn):
                    for job in mine:
                        if job.kind == WAIT:
                            planned += await self._runner.end_wait(conn, job, reads, done=True)
                        elif (job.project_id, event_profile(job)) in present:
                            planned += await self._runner.follow(conn, job, reads)
        except Exception:
            log.exception("a batch of %d automation jobs failed; they run one by one", len(jobs))
            return jobs
        await self._runner.attempt(joined(planned))
        return [job for job in jobs if job.job_id not in done]
