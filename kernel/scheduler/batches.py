"""Which claimed timers run as a batch: jobs of a kind whose handler takes several at once in one
transaction (one commit for all), e.g. the tracked events automations follow.

A claimed job joins its kind's batch when it is the first of its lane (its profile) in the claim and its
lane has nothing under way (or, for a kind whose handler takes a profile's jobs in their order, when its
lane's earlier jobs in the claim are all in that batch): the batch starts without waiting for any other
run (a batch waiting for several lanes would chain the batches one after another), and is added to the
lanes before the claim's other jobs, so each profile's jobs still run in due order.

A batch handler answers with the jobs it did not run (its transaction failed, or one of them needs what
only the one-job handler does): the loop runs those one by one, so one job that fails does not hold back
the others.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Hashable

from kernel.scheduler.jobs import Job
from kernel.scheduler.lanes import lanes_of

#: Runs jobs of one kind together; answers with those left to run one by one.
BatchHandler = Callable[[list[Job]], Awaitable[list[Job]]]


def split(
    claimed: list[Job],
    batched_kinds: Collection[str],
    busy: Callable[[Job], bool],
    in_order: Collection[str] = (),
) -> tuple[list[list[Job]], list[Job]]:
    """The claim's batches (two jobs or more each, one per kind) and the jobs to run alone, in claim
    order; ``busy``: whether a job's lane has a run under way; ``in_order``: the kinds whose batch
    handler takes a profile's several jobs, in their order (a job of such a kind also joins its batch
    when its lanes are only those of its batch's earlier jobs)."""
    batches: dict[str, list[Job]] = {}
    # Each lane seen: the kind of the batch that holds it, None when a job of it runs alone.
    holders: dict[Hashable, str | None] = {}
    for job in claimed:
        lanes = lanes_of(job)
        kind = job.kind
        joins = (
            kind in batched_kinds
            and not busy(job)
            and all(lane not in holders or (kind in in_order and holders[lane] == kind) for lane in lanes)
        )
        if joins:
            batches.setdefault(kind, []).append(job)
        for lane in lanes:
            holders[lane] = kind if joins and holders.get(lane, kind) == kind else None
    together = [jobs for jobs in batches.values() if len(jobs) > 1]
    taken = {job.job_id for jobs in together for job in jobs}
    return together, [job for job in claimed if job.job_id not in taken]
