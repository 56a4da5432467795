"""The ``automation.entered`` / ``automation.exited`` webhook events of the walks, queued for the project's
endpoints in the walks' transaction: at once, or, while a batch of tracked events is taken
(:func:`held_together`), all together at the batch's end, in one statement per project instead of one per
entry and exit. Same transaction either way, and each event keeps its own instant, hence its order."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from contextvars import ContextVar

import asyncpg

from kernel.outhooks import OutgoingEvent, publish

_held: ContextVar[list[tuple[uuid.UUID, OutgoingEvent]] | None] = ContextVar("held_outgoing", default=None)


async def publish_walk_event(conn: asyncpg.Connection, project_id: uuid.UUID, event: OutgoingEvent) -> None:
    held = _held.get()
    if held is None:
        await publish(conn, project_id, [event])
    else:
        held.append((project_id, event))


@contextlib.asynccontextmanager
async def held_together(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """The walk events published inside are queued when it ends without an error, on ``conn``."""
    held: list[tuple[uuid.UUID, OutgoingEvent]] = []
    token = _held.set(held)
    try:
        yield
    finally:
        _held.reset(token)
    for project_id in dict.fromkeys(project_id for project_id, _ in held):
        await publish(conn, project_id, [event for owner, event in held if owner == project_id])
