"""The tracked events that automations follow, handed from ingestion to the schedulers as ONE durable job
per ingestion transaction (``automation.events``, a batch), rather than one job per event.

A job per event was inserted, claimed, marked done (and later purged) for each event: about a third of
PostgreSQL's work per event taken. A batch is one row whatever its size: the watched events of the
transaction, in their order, as columns (:class:`BatchPayload`). It commits with the events, so an
acknowledged event never loses its entry, and a rolled-back one sets nothing going.

The scheduler claims a batch as any timer, in order with its profiles' other timers
(:mod:`kernel.scheduler.jobs`, :mod:`kernel.scheduler.lanes`). Its handler takes it in one transaction
(with the other batches claimed with it, see :mod:`kernel.scheduler.batches`: a few hundred events per
transaction, one transaction after another): the batch marked done, its profiles locked (in key order,
in one statement), then its events in waves: each profile's first event, then each one's second, ... (a
wave's profiles are distinct, as a claimed batch of jobs', see :meth:`AutomationRunner.take`); the
messages are attempted after the commit. So each event takes effect once: its effects commit with the
batch's done mark or roll back with it, and a kernel dying mid-walk leaves the batch pending, taken again
from its payload once its lease runs out.

A batch whose transaction fails is split, in one transaction, into one ``automation.event`` job per event
(due at the batch's due time, in its order; keys derived from the batch's, so that a split made twice
stores each once) and marked done: the one-by-one path retries each event and gives up the one that keeps
failing, not its whole batch.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg

from kernel.engage.automations import store
from kernel.engage.automations.outgoing import held_together
from kernel.engage.automations.runner import EVENT, AutomationRunner, LeaseLost, TrackedEvent, event_payload
from kernel.engage.automations.sending import Planned, joined
from kernel.scheduler import Job, Timer, finish, finish_together, profile_of, schedule_together

log = logging.getLogger(__name__)

#: The scheduler's kind for a batch of tracked events that automations follow.
BATCH = "automation.events"
_ONE_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class BatchPayload:
    """A batch job's payload: the events as columns (``profile_ids`` is the key the scheduler reads to
    order a batch with its profiles' other timers)."""

    profile_ids: Sequence[str]
    names: Sequence[str]
    #: Each event's stored properties, as JSON text.
    attributes: Sequence[str]

    def as_json(self) -> dict[str, Any]:
        return {
            "profile_ids": list(self.profile_ids),
            "names": list(self.names),
            "attributes": list(self.attributes),
        }

    @classmethod
    def of(cls, payload: Mapping[str, Any]) -> BatchPayload:
        return cls(payload["profile_ids"], payload["names"], payload["attributes"])


def events_of(job: Job) -> list[TrackedEvent]:
    """A batch job's events, in their order."""
    batch = BatchPayload.of(job.payload)
    return [
        TrackedEvent(job.project_id, profile_of(profile_id), name, attributes)
        for profile_id, name, attributes in zip(batch.profile_ids, batch.names, batch.attributes, strict=True)
    ]


def waves(events: Sequence[TrackedEvent]) -> list[list[TrackedEvent]]:
    """Each profile's first event, then each one's second, ...: events of distinct profiles per wave, a
    profile's in their order."""
    found: list[list[TrackedEvent]] = []
    seen: dict[uuid.UUID, int] = {}
    for event in events:
        wave = seen.get(event.profile_id, 0)
        seen[event.profile_id] = wave + 1
        if wave == len(found):
            found.append([])
        found[wave].append(event)
    return found


#: The events of one transaction of batches claimed together: more would save little (one commit and a
#: fixed number of statements per transaction already) and keep the first event's message waiting for the
#: last one's walk.
GROUP_EVENTS = 500


def _groups(jobs: list[Job]) -> list[list[Job]]:
    """The batches in claim order, cut after each run of :data:`GROUP_EVENTS` events or more."""
    groups: list[list[Job]] = [[]]
    events = 0
    for job in jobs:
        if events >= GROUP_EVENTS:
            groups.append([])
            events = 0
        groups[-1].append(job)
        events += len(job.payload["profile_ids"])
    return groups


class EventBatches:
    """The scheduler's handlers for ``automation.events`` jobs: one batch (:meth:`on_batch`), or several
    of distinct profiles claimed together (:meth:`__call__`, in one transaction as one batch)."""

    def __init__(self, pool: asyncpg.Pool, runner: AutomationRunner) -> None:
        self._pool = pool
        self._runner = runner

    async def __call__(self, jobs: list[Job]) -> list[Job]:
        """Take the batches together, in transactions of about :data:`GROUP_EVENTS` events one after
        another; those left to run one by one (from the first group that failed on: a profile's later
        events must not overtake its earlier ones)."""
        groups = _groups(jobs)
        for index, group in enumerate(groups):
            try:
                done, planned = await self._take(group)
            except Exception:
                log.exception("%d batches of tracked events failed together; they run one by one", len(group))
                return [job for later in groups[index:] for job in later]
            await self._runner.attempt(joined(planned))
            if len(done) < len(group):
                return [job for job in group if job.job_id not in done] + [
                    job for later in groups[index + 1 :] for job in later
                ]
        return []

    async def on_batch(self, job: Job) -> None:
        try:
            done, planned = await self._take([job])
        except Exception:
            log.exception("a batch of tracked events failed; split into one job per event")
            await self._split(job, events_of(job))
            return
        if not done:
            raise LeaseLost(f"{job.kind} {job.key}")
        await self._runner.attempt(joined(planned))

    async def _take(self, jobs: list[Job]) -> tuple[set[uuid.UUID], list[Planned]]:
        """The batches still their scheduler's, marked done and taken in one transaction, in claim order;
        their ids and the messages to attempt."""
        reads = self._runner.reads()
        planned: list[Planned] = []
        async with self._pool.acquire() as conn, conn.transaction():
            done = await finish_together(conn, jobs)
            if not done:
                return done, planned
            events = [event for job in jobs if job.job_id in done for event in events_of(job)]
            present = await store.lock_profiles(
                conn, list(dict.fromkeys((event.project_id, event.profile_id) for event in events))
            )
            live = [event for event in events if (event.project_id, event.profile_id) in present]
            async with held_together(conn):
                for wave in waves(live):
                    planned += await self._runner.take(conn, reads, wave)
        return done, planned

    async def _split(self, job: Job, events: list[TrackedEvent]) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            if not await finish(conn, job):
                return  # another scheduler holds the batch now
            await schedule_together(
                conn,
                EVENT,
                [
                    Timer(
                        job.project_id,
                        f"{job.key}/{index}",
                        job.due_at + (index + 1) * _ONE_MICROSECOND,
                        event_payload(event.profile_id, event.name, event.attributes),
                    )
                    for index, event in enumerate(events)
                ],
            )
