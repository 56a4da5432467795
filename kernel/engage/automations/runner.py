"""The scheduler's handlers for automations: a tracked event that enters or removes profiles, and the end
of a wait.

Each runs in one transaction with the effects it has: the entries moved, the next wait's timer stored,
the send steps' messages stored (attempted after the commit, see :mod:`kernel.engage.automations.sending`),
the outgoing webhook events queued, and the job marked done. A run whose lease went to another scheduler
meanwhile rolls back, so each event and each wait takes effect once.

Locks, always in this order: the profile's row (key share: an erasure or a merge waits), the automation's
row (shared; a pause or an archive takes it exclusively and waits), then the profile's entries; a redirect
step, once its entry left, takes its target automation's row and entries the same way. A wait's timer
(:mod:`kernel.engage.automations.entry_timers`) for a step the entry has left (it exited meanwhile) finds
nothing to do.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from kernel.engage.automations import store
from kernel.engage.automations.admission import Wanted
from kernel.engage.automations.awaited import awaits
from kernel.engage.automations.entry_timers import WAIT, entry_prefix, exit_entry
from kernel.engage.automations.event_reads import EventReads
from kernel.engage.automations.graph import WAIT_STEPS
from kernel.engage.automations.graphs import Graphs
from kernel.engage.automations.matching import event_matches
from kernel.engage.automations.sending import Planned, StepSender
from kernel.engage.automations.wait_ends import after_timer
from kernel.engage.automations.wait_kinds import WaitForEvent
from kernel.engage.automations.walking import Cursor, Walker
from kernel.projects import Projects
from kernel.scheduler import Job, drop_pending, finish, profile_of

#: The scheduler's kind for a tracked event that automations follow; its payload: profile_id, name,
#: attributes (the event's stored properties, as JSON text).
EVENT = "automation.event"


@dataclass(frozen=True, slots=True)
class TrackedEvent:
    """A stored event that automations follow, as their walks read it (from an EVENT job, or one of a
    batch's, see :mod:`kernel.engage.automations.event_batches`)."""

    project_id: uuid.UUID
    profile_id: uuid.UUID
    name: str
    #: The event's stored properties, as JSON text.
    attributes: str


class LeaseLost(Exception):
    """Another scheduler holds the job now: this run's effects are rolled back."""


class AutomationRunner:
    def __init__(
        self, pool: asyncpg.Pool, projects: Projects, graphs: Graphs, sender: StepSender, walker: Walker
    ) -> None:
        self._pool = pool
        self._projects = projects
        self._graphs = graphs
        self._sender = sender
        self.walker = walker

    def reads(self) -> EventReads:
        """The reads of a new transaction."""
        return EventReads(self._projects)

    async def on_event(self, job: Job) -> None:
        planned: list[Planned] = []
        async with self._pool.acquire() as conn, conn.transaction():
            await _finish(conn, job)
            event = event_of(job)
            if await store.lock_profile(conn, event.project_id, event.profile_id):
                planned = await self.follow(conn, event, self.reads())
        await self.attempt(planned)

    async def entering(
        self, conn: asyncpg.Connection, event: TrackedEvent, reads: EventReads
    ) -> list[tuple[uuid.UUID, str]] | None:
        """The (automation, role) pairs the event concerns, if it only enters profiles (each active
        automation's trigger matched it): those entries are all it does. None when it also exits or
        resumes entries (then :meth:`follow` takes it)."""
        triggered = await reads.triggered_by(conn, event.project_id, event.name)
        if any(role != "enter" for _, role in triggered):
            return None
        return triggered

    async def wanted(
        self, conn: asyncpg.Connection, event: TrackedEvent, reads: EventReads, automation_id: uuid.UUID
    ) -> Wanted | None:
        """The event's profile about to enter the automation, if it is active and its trigger's properties
        match the event."""
        current = await reads.share_state(conn, event.project_id, automation_id)
        if current is None or current[0] != "active":
            return None
        graph = await self._graphs.get(conn, event.project_id, automation_id, current[1])
        if not await event_matches(conn, graph.trigger_properties, event.attributes):
            return None
        return Wanted(event.project_id, automation_id, current[1], graph, event.profile_id, event.attributes)

    async def follow(self, conn: asyncpg.Connection, event: TrackedEvent, reads: EventReads) -> list[Planned]:
        """The event's effects on its profile (exits, awaited events, entries and their walks); the
        messages to attempt after the commit. The caller locked the profile and marked the event's job
        done; ``reads``: the transaction's (:class:`EventReads`)."""
        project_id, profile_id, name = event.project_id, event.profile_id, event.name
        planned: list[Planned] = []
        for automation_id, role in await reads.triggered_by(conn, project_id, name):
            if role == "enter":
                wanted = await self.wanted(conn, event, reads, automation_id)
                if wanted is not None:
                    planned += await self.walker.admit(conn, reads, [wanted])
                continue
            current = await reads.share_state(conn, project_id, automation_id)
            if current is None:
                continue
            if role == "exit":
                await self._exit(conn, project_id, automation_id, profile_id, name)
            elif role == "await" and current[0] == "active":
                planned += await self._resume(
                    conn, reads, project_id, automation_id, profile_id, name, event.attributes
                )
        return planned

    async def take(
        self, conn: asyncpg.Connection, reads: EventReads, events: Sequence[TrackedEvent]
    ) -> list[Planned]:
        """The events' effects (of distinct profiles, locked by the caller); the messages to attempt after
        the commit. Those that only enter profiles are admitted and walked in waves: each event's first
        automation entered, then each one's second, ...; the others each take their own walk."""
        planned: list[Planned] = []
        waves: list[list[Wanted]] = []
        for event in events:
            triggered = await self.entering(conn, event, reads)
            if triggered is None:
                planned += await self.follow(conn, event, reads)
                continue
            entered = 0
            for automation_id, _ in triggered:
                wanted = await self.wanted(conn, event, reads, automation_id)
                if wanted is None:
                    continue
                if entered == len(waves):
                    waves.append([])
                waves[entered].append(wanted)
                entered += 1
        for wave in waves:
            planned += await self.walker.admit(conn, reads, wave)
        return planned

    async def attempt(self, planned: list[Planned]) -> None:
        """Attempt the messages of committed send steps."""
        for message in planned:
            await self._sender.attempt(message)

    async def on_wait(self, job: Job) -> None:
        planned: list[Planned] = []
        async with self._pool.acquire() as conn, conn.transaction():
            await store.lock_profile(conn, job.project_id, event_profile(job))
            automation_id, entry_id, _ = job.key.split("/")
            reads = self.reads()
            await reads.share_state(conn, job.project_id, uuid.UUID(automation_id))
            entry = await store.lock_entry(
                conn, job.project_id, uuid.UUID(automation_id), uuid.UUID(entry_id)
            )
            cursor = await self.wait_ended(conn, job, reads, entry)
            if cursor is not None:
                # Done first: the walk may drop the entry's pending timers (it ends), this one not among them.
                await _finish(conn, job)
                planned = await self.walker.walk(conn, reads, [cursor])
        await self.attempt(planned)

    async def wait_ended(
        self, conn: asyncpg.Connection, job: Job, reads: EventReads, entry: store.Entry | None
    ) -> Cursor | None:
        """Where the entry whose wait ended walks on from; None when it has nothing to do. The caller
        locked the profile, took the automation's share (``reads``), then locked the entry (None: it
        left)."""
        automation_id, _, step_count = job.key.split("/")
        current = await reads.share_state(conn, job.project_id, uuid.UUID(automation_id))
        if current is None or current[0] != "active" or not entry or entry.step_count != int(step_count):
            # Paused, archived, exited or erased since the claim: whoever did it dropped the timer (a
            # pause plans it again on activation); the loop's finish finds it gone.
            return None
        graph = await self._graphs.get(conn, job.project_id, entry.automation_id, entry.version)
        step = graph.steps[entry.step_id]
        # A send step waits when the pressure rules delayed its message: it is taken again.
        resume = after_timer(step) if isinstance(step, WAIT_STEPS) else entry.step_id
        return Cursor(job.project_id, graph, entry, resume)

    async def enter(
        self,
        conn: asyncpg.Connection,
        project_id: uuid.UUID,
        automation_id: uuid.UUID,
        version: int,
        profile_id: uuid.UUID,
        attributes: str,
    ) -> list[Planned]:
        """Enter the profile into the automation's ``version`` (its trigger matched), as its re-entry
        policy, cap and entry filter allow, and take its first steps; the messages to attempt after the
        commit. ``attributes``: what templates print as ``{{ event.x }}``, as JSON text. The caller holds
        the profile's lock and the automation's shared lock (:func:`store.share_state`)."""
        graph = await self._graphs.get(conn, project_id, automation_id, version)
        wanted = Wanted(project_id, automation_id, version, graph, profile_id, attributes)
        return await self.walker.admit(conn, self.reads(), [wanted])

    async def _exit(
        self,
        conn: asyncpg.Connection,
        project_id: uuid.UUID,
        automation_id: uuid.UUID,
        profile_id: uuid.UUID,
        name: str,
    ) -> None:
        for entry in await store.inside_for_profile(conn, project_id, automation_id, profile_id):
            graph = await self._graphs.get(conn, project_id, automation_id, entry.version)
            if name in graph.exit_events:
                await exit_entry(conn, project_id, entry, "exit_event")

    async def _resume(
        self,
        conn: asyncpg.Connection,
        reads: EventReads,
        project_id: uuid.UUID,
        automation_id: uuid.UUID,
        profile_id: uuid.UUID,
        name: str,
        attributes: str,
    ) -> list[Planned]:
        """The profile's entries that wait for this event go on to their step's ``next``, with the event's
        properties as theirs, their timeout dropped. The entry's lock orders this against its timeout:
        whichever runs second finds the entry moved on (its step count changed) and does nothing."""
        planned: list[Planned] = []
        for entry in await store.inside_for_profile(conn, project_id, automation_id, profile_id):
            graph = await self._graphs.get(conn, project_id, automation_id, entry.version)
            step = graph.steps[entry.step_id]
            if not isinstance(step, WaitForEvent) or not await awaits(conn, step, name, attributes):
                continue
            await drop_pending(conn, project_id, WAIT, entry_prefix(entry))
            entry = await store.replace_event(conn, project_id, entry, attributes)
            planned += await self.walker.walk(conn, reads, [Cursor(project_id, graph, entry, step.next)])
        return planned


async def _finish(conn: asyncpg.Connection, job: Job) -> None:
    if not await finish(conn, job):
        raise LeaseLost(f"{job.kind} {job.key}")


def event_profile(job: Job) -> uuid.UUID:
    """The profile an EVENT or WAIT job is about."""
    return profile_of(job.payload["profile_id"])


def event_of(job: Job) -> TrackedEvent:
    """An EVENT job's event."""
    return TrackedEvent(job.project_id, event_profile(job), job.payload["name"], job.payload["attributes"])


def event_payload(profile_id: uuid.UUID, name: str, attributes: str) -> dict[str, Any]:
    """An EVENT job's payload."""
    return {"profile_id": str(profile_id), "name": name, "attributes": attributes}
