"""The walks of entries through their automation's steps, several entries at once (a batch of tracked
events or ends of waits), in the caller's transaction.

Each entry takes the steps from its cursor up to the next wait (its timer stored) or the end; a graph's
loops all wait (checked when saved), and a walk never redirects into an automation it left, so this ends.
The entries advance one step per round, and a round's writes go in one statement each, whatever the
number of entries: the moves (an end's or a redirect's with the profile's leaving: one row version; an
entry the walk let in is inserted where it first stops, its facts written before it, checked at the
commit), the timers, the exits' timers dropped and webhook events, the send steps' messages and facts
(:meth:`StepSender.plan_together`). Taken one entry at a time within a round: a decision, split,
update-attribute, webhook or checkpoint step (:mod:`kernel.engage.automations.stepping`), a wait until a
time of day (its recipient's zone), and a redirect's entry into its target automation.

The cursors of one round are of distinct profiles (the caller's: a batch's profiles are distinct, and
a profile's entries walk one after another), so a round changes nothing one walk reads of another's: each
walk has exactly the effects it has alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import asyncpg
import orjson

from kernel.engage.automations import store
from kernel.engage.automations.admission import Wanted, admitted
from kernel.engage.automations.entry_timers import WAIT, after_exits, wait_timer, walk_event
from kernel.engage.automations.event_reads import EventReads
from kernel.engage.automations.graph import WAIT_STEPS, End, Graph, Send
from kernel.engage.automations.graphs import Graphs
from kernel.engage.automations.outgoing import publish_walk_event
from kernel.engage.automations.pressure import Held
from kernel.engage.automations.sending import Planned, SendAt, StepSender
from kernel.engage.automations.step_kinds import Redirect
from kernel.engage.automations.stepping import StepTaker
from kernel.engage.automations.store import Entry, Move
from kernel.engage.automations.wait_ends import WaitEnds
from kernel.outhooks import EventType
from kernel.scheduler import Timer, schedule_together


@dataclass(frozen=True, slots=True)
class Cursor:
    """An entry about to take ``step_id``."""

    project_id: uuid.UUID
    graph: Graph
    entry: Entry
    step_id: str
    #: The automations this walk left by a redirect step.
    redirected_from: tuple[uuid.UUID, ...] = ()
    #: False while an entry this walk let in is not stored: it is inserted where it stops.
    stored: bool = True


@dataclass(slots=True)
class _Round:
    """What a round writes together."""

    moves: list[Move]
    timers: list[Timer]
    completed: list[tuple[uuid.UUID, Entry]]
    redirected: list[tuple[Cursor, Entry, Redirect]]


class Walker:
    def __init__(self, graphs: Graphs, sender: StepSender, waits: WaitEnds, steps: StepTaker) -> None:
        self._graphs = graphs
        self._sender = sender
        self._waits = waits
        self._steps = steps

    async def admit(
        self, conn: asyncpg.Connection, reads: EventReads, wanted: Sequence[Wanted]
    ) -> list[Planned]:
        """Enter the profiles (distinct) as their automations' re-entry policies, caps and entry filters let
        them (:mod:`kernel.engage.automations.admission`), and walk them; the messages to attempt after the
        commit. Entries into a capped automation are admitted and walked one at a time: the cap counts
        those inside once the walks before have left."""
        planned: list[Planned] = []
        for one in wanted:
            if one.graph.max_inside:
                planned += await self._admit_and_walk(conn, reads, [one])
        planned += await self._admit_and_walk(
            conn, reads, [one for one in wanted if not one.graph.max_inside]
        )
        return planned

    async def _admit_and_walk(
        self, conn: asyncpg.Connection, reads: EventReads, wanted: Sequence[Wanted]
    ) -> list[Planned]:
        if not wanted:
            return []
        cursors: list[Cursor] = []
        for one, entry in zip(wanted, await admitted(conn, wanted), strict=True):
            if entry is None:
                continue
            await publish_walk_event(
                conn,
                one.project_id,
                walk_event(EventType.AUTOMATION_ENTERED, entry, event=one.graph.trigger_event),
            )
            cursors.append(
                Cursor(
                    one.project_id, one.graph, entry, one.graph.first_step, one.redirected_from, stored=False
                )
            )
        return await self.walk(conn, reads, cursors)

    async def walk(
        self, conn: asyncpg.Connection, reads: EventReads, cursors: Sequence[Cursor]
    ) -> list[Planned]:
        """Walk the entries (of distinct profiles, locked by the caller) from their cursors; the messages to
        attempt after the commit."""
        planned: list[Planned] = []
        while cursors:
            cursors = await self._round(conn, reads, cursors, planned)
        return planned

    async def _round(
        self, conn: asyncpg.Connection, reads: EventReads, cursors: Sequence[Cursor], planned: list[Planned]
    ) -> list[Cursor]:
        """Each cursor's step taken; the cursors that go on."""
        sends = [c for c in cursors if isinstance(c.graph.steps[c.step_id], Send)]
        sent = await self._sender.plan_together(
            conn, reads, [SendAt(c.project_id, c.entry, c.step_id, c.graph.steps[c.step_id]) for c in sends]
        )
        messages = dict(zip(map(id, sends), sent, strict=True))
        written = _Round([], [], [], [])
        going_on: list[Cursor] = []
        for cursor in cursors:
            step = cursor.graph.steps[cursor.step_id]
            if isinstance(step, End | Redirect):
                reason = "completed" if isinstance(step, End) else "redirected"
                move = Move(cursor.project_id, cursor.entry, cursor.step_id, None, reason, cursor.stored)
                written.moves.append(move)
                if isinstance(step, End):
                    written.completed.append((cursor.project_id, move.moved))
                else:
                    written.redirected.append((cursor, move.moved, step))
            elif isinstance(step, WAIT_STEPS):
                due = await self._waits.due(conn, cursor.project_id, cursor.entry.profile_id, step)
                _wait(written, cursor, due)
            elif isinstance(step, Send):
                message = messages[id(cursor)]
                if isinstance(message, Held) and message.until is not None:
                    _wait(written, cursor, message.until)
                    continue
                if isinstance(message, Planned):
                    planned.append(message)
                going_on.append(replace(cursor, step_id=step.next))
            else:
                following = await self._steps.take(
                    conn, cursor.project_id, cursor.entry, cursor.step_id, step
                )
                going_on.append(replace(cursor, step_id=following))
        await store.move_together(conn, written.moves)
        await schedule_together(conn, WAIT, written.timers)
        await after_exits(conn, written.completed, "completed")
        await after_exits(conn, [(c.project_id, entry) for c, entry, _ in written.redirected], "redirected")
        for cursor, entry, step in written.redirected:
            planned += await self._redirect(conn, reads, cursor, entry, step)
        return going_on

    async def _redirect(
        self, conn: asyncpg.Connection, reads: EventReads, cursor: Cursor, entry: Entry, step: Redirect
    ) -> list[Planned]:
        """The profile, out of ``entry``'s automation, enters the step's automation if it is active and
        lets it in, with the entering event's properties; never one this walk left (a loop of redirects
        would enter and leave for ever at once)."""
        left = (*cursor.redirected_from, entry.automation_id)
        if step.automation_id in left:
            return []
        current = await store.share_state(conn, cursor.project_id, step.automation_id)
        if current is None or current[0] != "active":
            return []
        version = current[1]
        graph = await self._graphs.get(conn, cursor.project_id, step.automation_id, version)
        attributes = orjson.dumps(entry.event_attributes).decode()
        wanted = Wanted(
            cursor.project_id, step.automation_id, version, graph, entry.profile_id, attributes, left
        )
        return await self.admit(conn, reads, [wanted])


def _wait(written: _Round, cursor: Cursor, due: datetime) -> None:
    """The entry waits at its step until ``due``: moved there, its timer stored."""
    move = Move(cursor.project_id, cursor.entry, cursor.step_id, due, stored=cursor.stored)
    written.moves.append(move)
    written.timers.append(wait_timer(cursor.project_id, move.moved, due))
