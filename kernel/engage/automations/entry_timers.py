"""An entry's wait timers and its exit, for one entry or several in the same statements.

A wait's timer is named "<automation>/<entry>/<step count>": a timer for a step the entry has left (it
exited meanwhile) finds nothing to do. An exit drops the entry's pending timer and queues
``automation.exited``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from kernel.engage.automations import store
from kernel.engage.automations.outgoing import publish_walk_event
from kernel.engage.automations.store import Entry
from kernel.outhooks import EventType, OutgoingEvent
from kernel.scheduler import Timer, drop_pending_together, schedule_together

#: The scheduler's kind for the end of a wait.
WAIT = "automation.wait"


def wait_key(entry: Entry) -> str:
    return f"{entry.automation_id}/{entry.entry_id}/{entry.step_count}"


def wait_timer(project_id: uuid.UUID, entry: Entry, due: datetime) -> Timer:
    """The timer of the wait ``entry`` starts at its step (moved there), due at ``due``."""
    return Timer(project_id, wait_key(entry), due, {"profile_id": str(entry.profile_id)})


async def schedule_wait(conn: asyncpg.Connection, project_id: uuid.UUID, entry: Entry, due: datetime) -> None:
    await schedule_together(conn, WAIT, [wait_timer(project_id, entry, due)])


def automation_prefix(automation_id: uuid.UUID) -> str:
    return f"{automation_id}/"


def entry_prefix(entry: Entry) -> str:
    return f"{entry.automation_id}/{entry.entry_id}/"


async def exit_entry(conn: asyncpg.Connection, project_id: uuid.UUID, entry: Entry, reason: str) -> None:
    """The profile leaves: its wait's timer is dropped and ``automation.exited`` queued."""
    await store.leave_together(conn, [(project_id, entry)], reason)
    await after_exits(conn, [(project_id, entry)], reason)


async def after_exits(conn: asyncpg.Connection, left: Sequence[tuple[uuid.UUID, Entry]], reason: str) -> None:
    """What follows the leaving of the (project, entry) pairs (stored by the caller), in one statement per
    table: their pending timers dropped, their ``automation.exited`` queued."""
    if not left:
        return
    await drop_pending_together(conn, WAIT, [(project_id, entry_prefix(entry)) for project_id, entry in left])
    for project_id, entry in left:
        await publish_walk_event(
            conn, project_id, walk_event(EventType.AUTOMATION_EXITED, entry, reason=reason)
        )


def walk_event(kind: EventType, entry: Entry, **data: Any) -> OutgoingEvent:
    """An ``automation.*`` webhook event about ``entry``."""
    body: Mapping[str, Any] = {
        "automation_id": str(entry.automation_id),
        "version": entry.version,
        "entry_id": str(entry.entry_id),
        "profile_id": str(entry.profile_id),
        **data,
    }
    # Its own instant, not the transaction's: an entry and its exit in one step keep their order.
    return OutgoingEvent(kind, dict(body), profile_id=entry.profile_id, occurred_at=datetime.now(UTC))
