"""Which profiles enter the automations whose trigger they matched: the re-entry policy (once, once per
period, always), the cap on profiles inside at once and the entry filter, decided for several
(automation, profile) pairs at once. The entries of those let in are not stored here: the walk that
follows inserts each where it first stops (:class:`kernel.engage.automations.store.Move`), so that an
entry costs one row version, not an insert and a move.

Entries of one profile into one automation take turns (the re-entry policy reads the last one): a
transaction-scoped advisory lock per pair, all taken in one statement; with a cap, all entries into the
automation do (the cap counts them), and such entries are admitted one at a time by the caller. The
entry filters are read one pair at a time (a segment predicate per automation).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson

from kernel.engage.automations import store
from kernel.engage.automations.graph import Graph, Reentry
from kernel.engage.automations.matching import profile_matches
from kernel.engage.automations.store import Entry


@dataclass(frozen=True, slots=True)
class Wanted:
    """A profile about to enter an automation's ``version``."""

    project_id: uuid.UUID
    automation_id: uuid.UUID
    version: int
    graph: Graph
    profile_id: uuid.UUID
    #: What templates print as ``{{ event.x }}``, stored attribute form, as JSON text.
    attributes: str
    #: The automations the profile's walk left by a redirect step to come here.
    redirected_from: tuple[uuid.UUID, ...] = ()


def turn(wanted: Wanted) -> str:
    """The advisory lock's name under which ``wanted`` is decided."""
    if wanted.graph.max_inside:
        return str(wanted.automation_id)
    return f"{wanted.automation_id}/{wanted.profile_id}"


async def admitted(conn: asyncpg.Connection, wanted: Sequence[Wanted]) -> list[Entry | None]:
    """Per pair (distinct pairs; a capped automation's one at a time), its entry at the first step if it
    was let in, not stored yet (the caller's walk stores it where it stops)."""
    await store.take_turns(conn, [turn(one) for one in wanted])
    lasts = await store.last_entered_together(
        conn, [(one.project_id, one.automation_id, one.profile_id) for one in wanted]
    )
    found: list[Entry | None] = []
    for one, last in zip(wanted, lasts, strict=True):
        found.append(await _let_in(conn, one, last))
    return found


async def _let_in(conn: asyncpg.Connection, one: Wanted, last: tuple[datetime, bool] | None) -> Entry | None:
    if not may_reenter(last, one.graph):
        return None
    if one.graph.max_inside and (
        await store.count_inside(conn, one.project_id, one.automation_id) >= one.graph.max_inside
    ):
        return None
    if one.graph.entry_filter is not None and not await profile_matches(
        conn, one.project_id, one.profile_id, one.graph.entry_filter
    ):
        return None
    return Entry(
        one.automation_id,
        uuid.uuid4(),
        one.profile_id,
        one.version,
        one.graph.first_step,
        0,
        None,
        orjson.loads(one.attributes),
    )


def may_reenter(last: tuple[datetime, bool] | None, graph: Graph) -> bool:
    """Whether the re-entry policy lets a profile in now; ``last``: when it last entered, and whether it
    is still inside (None: never)."""
    if last is None:
        return True
    entered_at, inside = last
    if inside or graph.reentry is Reentry.ONCE:
        return False
    if graph.reentry is Reentry.ONCE_PER_PERIOD:
        return datetime.now(UTC) - entered_at >= timedelta(seconds=graph.reentry_seconds)
    return True
