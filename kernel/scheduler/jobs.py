"""Every statement on ``scheduled_jobs``: durable timers, scheduled once, claimed under a lease, finished.

A timer is named by (project, kind, key): scheduling one that exists does nothing, so a handler run twice
(its first run's lease expired, or a crash came between its work and :func:`finish`) schedules the next
timer once. Claims take the due timers with ``FOR UPDATE SKIP LOCKED``: schedulers in several kernels
never wait on each other, and a timer is in one scheduler's hands at a time, until its lease runs out.

A timer whose payload names a profile (``profile_id``) is claimed only once every earlier pending timer of
that profile is the claiming scheduler's: one scheduler holds a profile's due timers, and runs them in due
order (:mod:`kernel.scheduler.lanes`), so an automation's exit event never overtakes the entry before it,
whichever kernels poll. A timer naming several profiles (``profile_ids``: a batch of tracked events) is
claimed only once the earlier pending timers of those profiles are the claiming scheduler's, and while no
earlier batch of its project is another scheduler's; a timer naming a profile waits for every earlier
pending batch of its project, whichever profiles it names (batches are few at a time: looking into each
one's profiles would cost more, and read them all again at each claim behind a backlog). An earlier
batch not claimed yet does not hold it back: the same claim takes both, in due order, and their handler
takes a profile's events in that order (:mod:`kernel.scheduler.batches`). The kernels' claims take turns,
so that each sees the leases of the one before.
A timer left so waits for the next claim; one that failed holds its profile's later timers back in other
schedulers until it is run, or given up (:func:`give_up`).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

Executor = asyncpg.Connection | asyncpg.Pool


@functools.lru_cache(maxsize=4096)
def profile_of(text: str) -> uuid.UUID:
    """A payload's ``profile_id``, parsed once for the several reads of a job's run (its lane, its
    batch's locks, its walk) rather than at each."""
    return uuid.UUID(text)


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed timer."""

    project_id: uuid.UUID
    job_id: uuid.UUID
    kind: str
    key: str
    due_at: datetime
    payload: Mapping[str, Any]
    #: Claims so far, this one included: more than one means an earlier run did not finish.
    attempts: int
    #: The scheduler that holds it.
    owner: str


@dataclass(frozen=True, slots=True)
class PendingJob:
    """A timer not run yet, as listed for a resource's owner."""

    key: str
    due_at: datetime
    payload: Mapping[str, Any]


# Claims of every kernel, one after another: the claim statement reads the leases the others committed,
# while a claim under way in another kernel is invisible to it (the rows it is leasing are skipped as
# locked, not seen as held), so two claims at once could split a project's consecutive batches between two
# kernels, which would then take one profile's events out of order. The lock is the transaction's; a
# claim is one short statement.
_CLAIMS_ONE_AT_A_TIME = "SELECT pg_advisory_xact_lock(hashtextextended('herald.scheduler_claim', 0))"

_CLAIM = """
WITH due AS (
    SELECT project_id, job_id FROM scheduled_jobs j
    WHERE state = 'pending' AND due_at <= now() AND (lease_until IS NULL OR lease_until < now())
      AND kind = any($4::text[])
      AND NOT (payload ? 'profile_id' AND EXISTS (
          SELECT FROM scheduled_jobs earlier
          WHERE earlier.project_id = j.project_id AND earlier.state = 'pending'
            AND earlier.payload ? 'profile_id'
            AND earlier.payload ->> 'profile_id' = j.payload ->> 'profile_id'
            AND earlier.due_at < j.due_at AND earlier.lease_owner IS DISTINCT FROM $1))
      AND NOT (payload ? 'profile_id' AND EXISTS (
          SELECT FROM scheduled_jobs earlier
          WHERE earlier.project_id = j.project_id AND earlier.state = 'pending'
            AND earlier.payload ? 'profile_ids'
            AND earlier.due_at < j.due_at AND earlier.lease_owner IS DISTINCT FROM $1))
      AND NOT (payload ? 'profile_ids' AND EXISTS (
          SELECT FROM scheduled_jobs earlier
          WHERE earlier.project_id = j.project_id AND earlier.state = 'pending'
            AND earlier.payload ? 'profile_ids'
            AND earlier.due_at < j.due_at AND earlier.lease_owner <> $1 AND earlier.lease_until >= now()))
      AND NOT (payload ? 'profile_ids' AND EXISTS (
          SELECT FROM jsonb_array_elements_text(j.payload -> 'profile_ids') AS named(profile_id)
          JOIN scheduled_jobs earlier
            ON earlier.project_id = j.project_id AND earlier.state = 'pending'
               AND earlier.payload ? 'profile_id' AND earlier.payload ->> 'profile_id' = named.profile_id
               AND earlier.due_at < j.due_at AND earlier.lease_owner IS DISTINCT FROM $1))
    ORDER BY due_at
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE scheduled_jobs j
SET lease_owner = $1, lease_until = now() + make_interval(secs => $2), attempts = j.attempts + 1
FROM due WHERE j.project_id = due.project_id AND j.job_id = due.job_id
RETURNING j.project_id, j.job_id, j.kind, j.key, j.due_at, j.payload, j.attempts, j.lease_owner
"""


def _starts_with(key: str, prefix: str) -> str:
    """SQL: ``key`` starts with ``prefix``, as a range in byte order that the pending timers' key index
    serves (migration 0046); ``starts_with`` alone is a filter over every timer of the kind."""
    return (
        f'{key} COLLATE "C" >= {prefix} AND {key} COLLATE "C" < {prefix} || chr(1114111) '
        f"AND starts_with({key}, {prefix})"
    )


#: :func:`drop_pending`'s statement ($1 project, $2 kind, $3 key prefix).
DROP_PENDING = f"""DELETE FROM scheduled_jobs
    WHERE project_id = $1 AND kind = $2 AND state = 'pending' AND {_starts_with("key", "$3")}"""


async def schedule(
    conn: Executor,
    project_id: uuid.UUID,
    kind: str,
    key: str,
    due_at: datetime,
    payload: Mapping[str, Any] | None = None,
) -> bool:
    """Store a timer; False when (project, kind, key) is scheduled already (pending or run)."""
    inserted = await conn.fetchval(
        """INSERT INTO scheduled_jobs (project_id, job_id, kind, key, due_at, payload)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (project_id, kind, key) DO NOTHING
           RETURNING true""",
        project_id,
        uuid.uuid4(),
        kind,
        key,
        due_at,
        dict(payload or {}),
    )
    return bool(inserted)


@dataclass(frozen=True, slots=True)
class Timer:
    """A timer to store (:func:`schedule_together`)."""

    project_id: uuid.UUID
    key: str
    due_at: datetime
    payload: Mapping[str, Any]


async def schedule_together(conn: asyncpg.Connection, kind: str, timers: Sequence[Timer]) -> None:
    """:func:`schedule` for several timers of ``kind`` in one statement (those scheduled already stay)."""
    if not timers:
        return
    await conn.execute(
        """INSERT INTO scheduled_jobs (project_id, job_id, kind, key, due_at, payload)
           SELECT t.project_id, gen_random_uuid(), $1, t.key, t.due_at, t.payload
           FROM unnest($2::uuid[], $3::text[], $4::timestamptz[], $5::jsonb[])
               AS t(project_id, key, due_at, payload)
           ON CONFLICT (project_id, kind, key) DO NOTHING""",
        kind,
        [t.project_id for t in timers],
        [t.key for t in timers],
        [t.due_at for t in timers],
        [dict(t.payload) for t in timers],
    )


async def schedule_now(
    conn: asyncpg.Connection, project_id: uuid.UUID, kind: str, payloads: Sequence[Mapping[str, Any]]
) -> None:
    """Store one timer due at once per payload, each under a key of its own (one statement): work handed
    from a transaction to the schedulers, e.g. the tracked events that automations follow. They are due a
    microsecond apart, in the payloads' order, which the claims keep (an event, then the next one)."""
    await conn.execute(
        """INSERT INTO scheduled_jobs (project_id, job_id, kind, key, due_at, payload)
           SELECT $1, q.id, $2, q.id::text, now() + q.n * interval '1 microsecond', q.payload
           FROM (SELECT gen_random_uuid() AS id, p.payload, p.n
                 FROM unnest($3::jsonb[]) WITH ORDINALITY AS p(payload, n)) AS q""",
        project_id,
        kind,
        [dict(payload) for payload in payloads],
    )


async def claim(
    pool: asyncpg.Pool, owner: str, lease_seconds: float, limit: int, kinds: Sequence[str]
) -> list[Job]:
    """Lease up to ``limit`` due timers of ``kinds`` (those ``owner`` has handlers for) to ``owner``, the
    most overdue first."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(_CLAIMS_ONE_AT_A_TIME)
        rows = await conn.fetch(_CLAIM, owner, lease_seconds, limit, list(kinds))
    return [Job(*row) for row in rows]


async def finish(conn: Executor, job: Job) -> bool:
    """Mark the job done if its scheduler still holds it; False when its lease went to another one.

    A handler calls it in the transaction of its own effects, so that nobody sees them with the job
    still pending; the loop calls it again after the handler, which then only reads (idempotent, and no
    second commit to flush per job).
    """
    done = await conn.fetchval(
        """WITH mine AS (SELECT state FROM scheduled_jobs
                         WHERE project_id = $1 AND job_id = $2 AND lease_owner = $3),
                marked AS (UPDATE scheduled_jobs SET state = 'done', finished_at = now()
                           WHERE project_id = $1 AND job_id = $2 AND lease_owner = $3 AND state = 'pending'
                           RETURNING true)
           SELECT EXISTS (SELECT FROM marked) OR EXISTS (SELECT FROM mine WHERE state = 'done')""",
        job.project_id,
        job.job_id,
        job.owner,
    )
    return bool(done)


async def finish_together(conn: asyncpg.Connection, jobs: Sequence[Job]) -> set[uuid.UUID]:
    """Mark the jobs done in one statement, as :func:`finish` does each (a batch handler, in its
    transaction); the ids of those still their scheduler's."""
    rows = await conn.fetch(
        """UPDATE scheduled_jobs j SET state = 'done', finished_at = now()
           FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS mine(project_id, job_id, owner)
           WHERE j.project_id = mine.project_id AND j.job_id = mine.job_id AND j.lease_owner = mine.owner
             AND j.state = 'pending'
           RETURNING j.job_id""",
        [job.project_id for job in jobs],
        [job.job_id for job in jobs],
        [job.owner for job in jobs],
    )
    return {row["job_id"] for row in rows}


async def give_up(conn: Executor, job: Job, error: str) -> bool:
    """Mark the job failed for good with ``error`` (its handler failed on its last allowed run), if its
    scheduler still holds it: it is claimed no more, nor holds its profile's later timers back."""
    given_up = await conn.fetchval(
        """UPDATE scheduled_jobs SET state = 'failed', finished_at = now(), last_error = $4
           WHERE project_id = $1 AND job_id = $2 AND lease_owner = $3 AND state = 'pending'
           RETURNING true""",
        job.project_id,
        job.job_id,
        job.owner,
        error,
    )
    return bool(given_up)


async def drop_pending(conn: Executor, project_id: uuid.UUID, kind: str, key_prefix: str) -> int:
    """Delete the pending timers of ``kind`` whose key starts with ``key_prefix`` (their owner cancelled
    or planned them anew: a plan made again may reuse a key); how many."""
    result = await conn.execute(DROP_PENDING, project_id, kind, key_prefix)
    return int(result.split()[-1])


async def drop_pending_together(
    conn: asyncpg.Connection, kind: str, prefixes: Sequence[tuple[uuid.UUID, str]]
) -> None:
    """:func:`drop_pending` for several (project, key prefix) pairs in one statement."""
    if not prefixes:
        return
    await conn.execute(
        # Each prefix's range looked up on its own (OFFSET 0 keeps the subquery so): joined as a whole,
        # the planner reads every pending timer of the project and kind once, the queue behind included.
        f"""DELETE FROM scheduled_jobs j
            USING unnest($2::uuid[], $3::text[]) AS p(project_id, prefix),
                  LATERAL (SELECT job_id FROM scheduled_jobs s
                           WHERE s.project_id = p.project_id AND s.kind = $1 AND s.state = 'pending'
                             AND {_starts_with("s.key", "p.prefix")} OFFSET 0) AS found
            WHERE j.project_id = p.project_id AND j.job_id = found.job_id""",
        kind,
        [project_id for project_id, _ in prefixes],
        [prefix for _, prefix in prefixes],
    )


async def is_pending(conn: Executor, job: Job) -> bool:
    """Whether the job still waits to run (its owner dropping it since the claim makes it False)."""
    state = await conn.fetchval(
        "SELECT state FROM scheduled_jobs WHERE project_id = $1 AND job_id = $2", job.project_id, job.job_id
    )
    return state == "pending"


async def pending(
    conn: Executor, project_id: uuid.UUID, kind: str, key_prefixes: Sequence[str]
) -> dict[str, list[PendingJob]]:
    """The pending timers of ``kind`` per key prefix, in due order."""
    rows = await conn.fetch(
        f"""SELECT p.prefix, j.key, j.due_at, j.payload
           FROM unnest($3::text[]) AS p(prefix)
           JOIN scheduled_jobs j ON j.project_id = $1 AND j.kind = $2 AND j.state = 'pending'
                AND {_starts_with("j.key", "p.prefix")}
           ORDER BY j.due_at, j.key""",
        project_id,
        kind,
        list(key_prefixes),
    )
    found: dict[str, list[PendingJob]] = {prefix: [] for prefix in key_prefixes}
    for row in rows:
        found[row["prefix"]].append(PendingJob(row["key"], row["due_at"], row["payload"]))
    return found


async def repoint_pending(
    conn: Executor, project_id: uuid.UUID, kind: str, key_prefix: str, payload: Mapping[str, Any]
) -> None:
    """Set ``payload``'s fields in the pending timers of ``kind`` whose key starts with ``key_prefix`` (what
    they are about changed identity, e.g. a merged profile)."""
    await conn.execute(
        f"""UPDATE scheduled_jobs SET payload = payload || $4::jsonb
           WHERE project_id = $1 AND kind = $2 AND state = 'pending' AND {_starts_with("key", "$3")}""",
        project_id,
        kind,
        key_prefix,
        dict(payload),
    )
