"""The scheduler's handlers for automations: a tracked event that enters or removes profiles, and the end
of a wait.

Each runs in one transaction with the effects it has: the entries moved, the next wait's timer stored,
the send steps' messages stored (attempted after the commit, see :mod:`kernel.engage.automations.sending`),
the outgoing webhook events queued, and the job marked done. A run whose lease went to another scheduler
meanwhile rolls back, so each event and each wait takes effect once.

Locks, always in this order: the profile's row (key share: an erasure or a merge waits), the automation's
row (shared; a pause or an archive takes it exclusively and waits), then the profile's entries; a redirect
step, once its entry left, takes its target automation's row and entries the same way. A wait's
timer is named "<automation>/<entry>/<step count>": a timer for a step the entry has left (it exited
meanwhile) finds nothing to do.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson

from kernel.engage.automations import store
from kernel.engage.automations.awaited import awaits
from kernel.engage.automations.event_reads import EventReads
from kernel.engage.automations.graph import WAIT_STEPS, End, Graph, Reentry, Send
from kernel.engage.automations.graphs import Graphs
from kernel.engage.automations.matching import event_matches, profile_matches
from kernel.engage.automations.outgoing import publish_walk_event
from kernel.engage.automations.pressure import Held
from kernel.engage.automations.sending import Planned, StepSender
from kernel.engage.automations.step_kinds import Redirect
from kernel.engage.automations.stepping import StepTaker
from kernel.engage.automations.store import Entry
from kernel.engage.automations.wait_ends import WaitEnds, after_timer
from kernel.engage.automations.wait_kinds import WaitForEvent
from kernel.outhooks import EventType, OutgoingEvent
from kernel.scheduler import Job, drop_pending, finish, schedule

#: The scheduler's kind for a tracked event that automations follow; its payload: profile_id, name,
#: attributes (the event's stored properties, as JSON text).
EVENT = "automation.event"
#: The scheduler's kind for the end of a wait.
WAIT = "automation.wait"


class LeaseLost(Exception):
    """Another scheduler holds the job now: this run's effects are rolled back."""


def wait_key(entry: Entry) -> str:
    return f"{entry.automation_id}/{entry.entry_id}/{entry.step_count}"


async def schedule_wait(conn: asyncpg.Connection, project_id: uuid.UUID, entry: Entry, due: datetime) -> None:
    await schedule(conn, project_id, WAIT, wait_key(entry), due, {"profile_id": str(entry.profile_id)})


def automation_prefix(automation_id: uuid.UUID) -> str:
    return f"{automation_id}/"


def entry_prefix(entry: Entry) -> str:
    return f"{entry.automation_id}/{entry.entry_id}/"


async def exit_entry(conn: asyncpg.Connection, project_id: uuid.UUID, entry: Entry, reason: str) -> None:
    """The profile leaves: its wait's timer is dropped and ``automation.exited`` queued."""
    await store.leave(conn, project_id, entry, reason)
    await drop_pending(conn, project_id, WAIT, entry_prefix(entry))
    await publish_walk_event(conn, project_id, _event(EventType.AUTOMATION_EXITED, entry, reason=reason))


class AutomationRunner:
    def __init__(
        self, pool: asyncpg.Pool, graphs: Graphs, sender: StepSender, waits: WaitEnds, steps: StepTaker
    ) -> None:
        self._pool = pool
        self._graphs = graphs
        self._sender = sender
        self._waits = waits
        self._steps = steps

    async def on_event(self, job: Job) -> None:
        planned: list[Planned] = []
        async with self._pool.acquire() as conn, conn.transaction():
            await _finish(conn, job)
            if await store.lock_profile(conn, job.project_id, event_profile(job)):
                planned = await self.follow(conn, job, EventReads())
        await self.attempt(planned)

    async def follow(self, conn: asyncpg.Connection, job: Job, reads: EventReads) -> list[Planned]:
        """The event's effects on its profile (exits, awaited events, entries and their walks); the
        messages to attempt after the commit. The caller locked the profile and marked the job done;
        ``reads``: the transaction's (:class:`EventReads`)."""
        payload = job.payload
        profile_id = event_profile(job)
        name = payload["name"]
        planned: list[Planned] = []
        for automation_id, role in await reads.triggered_by(conn, job.project_id, name):
            current = await reads.share_state(conn, job.project_id, automation_id)
            if current is None:
                continue
            if role == "exit":
                await self._exit(conn, job.project_id, automation_id, profile_id, name)
            elif role == "await" and current[0] == "active":
                planned += await self._resume(
                    conn, job.project_id, automation_id, profile_id, name, payload["attributes"]
                )
            elif role == "enter" and current[0] == "active":
                graph = await self._graphs.get(conn, job.project_id, automation_id, current[1])
                if await event_matches(conn, graph.trigger_properties, payload["attributes"]):
                    planned += await self.enter(
                        conn, job.project_id, automation_id, current[1], profile_id, payload["attributes"]
                    )
        return planned

    async def attempt(self, planned: list[Planned]) -> None:
        """Attempt the messages of committed send steps."""
        for message in planned:
            await self._sender.attempt(message)

    async def on_wait(self, job: Job) -> None:
        planned: list[Planned] = []
        async with self._pool.acquire() as conn, conn.transaction():
            await store.lock_profile(conn, job.project_id, event_profile(job))
            planned = await self.end_wait(conn, job, EventReads(), done=False)
        await self.attempt(planned)

    async def end_wait(
        self, conn: asyncpg.Connection, job: Job, reads: EventReads, done: bool
    ) -> list[Planned]:
        """The entry whose wait ended walks on; the messages to attempt after the commit. The caller locked
        the profile; ``done``: and marked the job done (a batch)."""
        automation_id, entry_id, step_count = job.key.split("/")
        current = await reads.share_state(conn, job.project_id, uuid.UUID(automation_id))
        entry = await store.lock_entry(conn, job.project_id, uuid.UUID(automation_id), uuid.UUID(entry_id))
        if current is None or current[0] != "active" or not entry or entry.step_count != int(step_count):
            # Paused, archived, exited or erased since the claim: whoever did it dropped the timer (a
            # pause plans it again on activation); the loop's finish finds it gone.
            return []
        if not done:
            # Done first: the walk may drop the entry's pending timers (it ends), this one not among them.
            await _finish(conn, job)
        graph = await self._graphs.get(conn, job.project_id, entry.automation_id, entry.version)
        step = graph.steps[entry.step_id]
        # A send step waits when the pressure rules delayed its message: it is taken again.
        resume = after_timer(step) if isinstance(step, WAIT_STEPS) else entry.step_id
        return await self._walk(conn, job.project_id, graph, entry, resume)

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
            planned += await self._walk(conn, project_id, graph, entry, step.next)
        return planned

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
        return await self._admit(conn, project_id, automation_id, version, graph, profile_id, attributes, ())

    async def _admit(
        self,
        conn: asyncpg.Connection,
        project_id: uuid.UUID,
        automation_id: uuid.UUID,
        version: int,
        graph: Graph,
        profile_id: uuid.UUID,
        attributes: str,
        redirected_from: tuple[uuid.UUID, ...],
    ) -> list[Planned]:
        """The profile enters if the re-entry policy, the cap and the entry filter let it, and walks."""
        # Entries of one profile into one automation take turns (the re-entry policy reads the last one);
        # with a cap, all entries into the automation do (the cap counts them).
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            str(automation_id) if graph.max_inside else f"{automation_id}/{profile_id}",
        )
        if not await _may_reenter(conn, project_id, automation_id, profile_id, graph):
            return []
        if graph.max_inside and await store.count_inside(conn, project_id, automation_id) >= graph.max_inside:
            return []
        if graph.entry_filter is not None and not await profile_matches(
            conn, project_id, profile_id, graph.entry_filter
        ):
            return []
        entry = await store.insert_entry(
            conn, project_id, automation_id, profile_id, version, graph.first_step, attributes
        )
        await publish_walk_event(
            conn, project_id, _event(EventType.AUTOMATION_ENTERED, entry, event=graph.trigger_event)
        )
        return await self._walk(conn, project_id, graph, entry, graph.first_step, redirected_from)

    async def _walk(
        self,
        conn: asyncpg.Connection,
        project_id: uuid.UUID,
        graph: Graph,
        entry: Entry,
        step_id: str,
        redirected_from: tuple[uuid.UUID, ...] = (),
    ) -> list[Planned]:
        """Take the steps from ``step_id`` up to the next wait (its timer stored) or the end; a graph's
        loops all wait (checked when saved), and a walk never redirects into an automation it left, so
        this ends. ``redirected_from``: the automations this walk left by a redirect step."""
        planned: list[Planned] = []
        while True:
            step = graph.steps[step_id]
            if isinstance(step, End | Redirect):
                entry = await store.move(conn, project_id, entry, step_id, None)
                reason = "completed" if isinstance(step, End) else "redirected"
                await exit_entry(conn, project_id, entry, reason)
                if isinstance(step, Redirect):
                    planned += await self._redirect(conn, project_id, entry, step, redirected_from)
                return planned
            if isinstance(step, WAIT_STEPS):
                due = await self._waits.due(conn, project_id, entry.profile_id, step)
                entry = await store.move(conn, project_id, entry, step_id, due)
                await schedule_wait(conn, project_id, entry, due)
                return planned
            if not isinstance(step, Send):
                step_id = await self._steps.take(conn, project_id, entry, step_id, step)
                continue
            message = await self._sender.plan(conn, project_id, entry, step_id, step)
            if isinstance(message, Held) and message.until is not None:
                entry = await store.move(conn, project_id, entry, step_id, message.until)
                await schedule_wait(conn, project_id, entry, message.until)
                return planned
            if isinstance(message, Planned):
                planned.append(message)
            step_id = step.next

    async def _redirect(
        self,
        conn: asyncpg.Connection,
        project_id: uuid.UUID,
        entry: Entry,
        step: Redirect,
        redirected_from: tuple[uuid.UUID, ...],
    ) -> list[Planned]:
        """The profile, out of ``entry``'s automation, enters the step's automation if it is active and
        lets it in, with the entering event's properties; never one this walk left (a loop of redirects
        would enter and leave for ever at once)."""
        left = (*redirected_from, entry.automation_id)
        if step.automation_id in left:
            return []
        current = await store.share_state(conn, project_id, step.automation_id)
        if current is None or current[0] != "active":
            return []
        version = current[1]
        graph = await self._graphs.get(conn, project_id, step.automation_id, version)
        attributes = orjson.dumps(entry.event_attributes).decode()
        return await self._admit(
            conn, project_id, step.automation_id, version, graph, entry.profile_id, attributes, left
        )


async def _may_reenter(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    automation_id: uuid.UUID,
    profile_id: uuid.UUID,
    graph: Graph,
) -> bool:
    last = await store.last_entered(conn, project_id, automation_id, profile_id)
    if last is None:
        return True
    entered_at, inside = last
    if inside or graph.reentry is Reentry.ONCE:
        return False
    if graph.reentry is Reentry.ONCE_PER_PERIOD:
        return datetime.now(UTC) - entered_at >= timedelta(seconds=graph.reentry_seconds)
    return True


async def _finish(conn: asyncpg.Connection, job: Job) -> None:
    if not await finish(conn, job):
        raise LeaseLost(f"{job.kind} {job.key}")


def _event(kind: EventType, entry: Entry, **data: Any) -> OutgoingEvent:
    body: Mapping[str, Any] = {
        "automation_id": str(entry.automation_id),
        "version": entry.version,
        "entry_id": str(entry.entry_id),
        "profile_id": str(entry.profile_id),
        **data,
    }
    # Its own instant, not the transaction's: an entry and its exit in one step keep their order.
    return OutgoingEvent(kind, dict(body), profile_id=entry.profile_id, occurred_at=datetime.now(UTC))


def event_profile(job: Job) -> uuid.UUID:
    """The profile an EVENT or WAIT job is about."""
    return uuid.UUID(job.payload["profile_id"])


def event_payload(profile_id: uuid.UUID, name: str, attributes: str) -> dict[str, Any]:
    """An EVENT job's payload."""
    return {"profile_id": str(profile_id), "name": name, "attributes": attributes}
