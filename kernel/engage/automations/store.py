"""Every statement on ``automations``, ``automation_versions``, ``automation_triggers`` and
``automation_entries``."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

Executor = asyncpg.Connection | asyncpg.Pool
_COLUMNS = """a.automation_id, a.state, a.version, v.definition, a.created_at, a.updated_at,
    (SELECT count(*) FROM automation_entries e
     WHERE e.project_id = a.project_id AND e.automation_id = a.automation_id AND e.state = 'inside')"""
_FROM = """automations a JOIN automation_versions v
    ON v.project_id = a.project_id AND v.automation_id = a.automation_id AND v.version = a.version"""
_ENTRY_COLUMNS = (
    "automation_id, entry_id, profile_id, version, step_id, step_count, wait_until, event_attributes"
)


@dataclass(frozen=True, slots=True)
class AutomationRow:
    automation_id: uuid.UUID
    #: draft, active, paused or archived.
    state: str
    version: int
    #: The latest version's herald.v1.Automation, in proto JSON.
    definition: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime
    inside: int


@dataclass(frozen=True, slots=True)
class Entry:
    """A profile inside an automation."""

    automation_id: uuid.UUID
    entry_id: uuid.UUID
    profile_id: uuid.UUID
    version: int
    step_id: str
    step_count: int
    wait_until: datetime | None
    #: The entering event's properties, in stored attribute form.
    event_attributes: Mapping[str, Any]


def _row(record: asyncpg.Record | None) -> AutomationRow | None:
    return None if record is None else AutomationRow(*record)


async def insert(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    automation_id: uuid.UUID,
    client_key: str | None,
    definition: Mapping[str, Any],
) -> AutomationRow | None:
    """The stored draft at version 1; None, and nothing stored, when ``client_key`` names one already."""
    created = await conn.fetchval(
        """INSERT INTO automations (project_id, automation_id, client_key, state, version)
           VALUES ($1, $2, $3, 'draft', 1)
           ON CONFLICT (project_id, client_key) WHERE client_key IS NOT NULL DO NOTHING
           RETURNING true""",
        project_id,
        automation_id,
        client_key,
    )
    if not created:
        return None
    await insert_version(conn, project_id, automation_id, 1, definition)
    return await read(conn, project_id, automation_id)


async def of_request(conn: Executor, project_id: uuid.UUID, client_key: str) -> AutomationRow | None:
    return _row(
        await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE a.project_id = $1 AND a.client_key = $2",
            project_id,
            client_key,
        )
    )


async def read(conn: Executor, project_id: uuid.UUID, automation_id: uuid.UUID) -> AutomationRow | None:
    return _row(
        await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE a.project_id = $1 AND a.automation_id = $2",
            project_id,
            automation_id,
        )
    )


async def lock(conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID) -> str | None:
    """The automation's state, its row locked until the transaction ends: state changes, updates and the
    runner's steps take turns (the runner takes a share lock, :func:`share_state`)."""
    return await conn.fetchval(
        "SELECT state FROM automations WHERE project_id = $1 AND automation_id = $2 FOR UPDATE",
        project_id,
        automation_id,
    )


async def share_state(
    conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID
) -> tuple[str, int] | None:
    """The automation's state and latest version, kept so (a pause or an update waits) until the
    transaction ends."""
    row = await conn.fetchrow(
        "SELECT state, version FROM automations WHERE project_id = $1 AND automation_id = $2 FOR SHARE",
        project_id,
        automation_id,
    )
    return None if row is None else (row["state"], row["version"])


async def insert_version(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    automation_id: uuid.UUID,
    version: int,
    definition: Mapping[str, Any],
) -> None:
    await conn.execute(
        """INSERT INTO automation_versions (project_id, automation_id, version, definition)
           VALUES ($1, $2, $3, $4)""",
        project_id,
        automation_id,
        version,
        dict(definition),
    )
    await conn.execute(
        """UPDATE automations SET version = $3, updated_at = now()
           WHERE project_id = $1 AND automation_id = $2""",
        project_id,
        automation_id,
        version,
    )


async def version_definition(
    conn: Executor, project_id: uuid.UUID, automation_id: uuid.UUID, version: int
) -> Mapping[str, Any]:
    return await conn.fetchval(
        """SELECT definition FROM automation_versions
           WHERE project_id = $1 AND automation_id = $2 AND version = $3""",
        project_id,
        automation_id,
        version,
    )


async def set_state(
    conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID, state: str
) -> None:
    await conn.execute(
        "UPDATE automations SET state = $3, updated_at = now() WHERE project_id = $1 AND automation_id = $2",
        project_id,
        automation_id,
        state,
    )


async def page(
    conn: Executor,
    project_id: uuid.UUID,
    size: int,
    states: Sequence[str],
    after: tuple[datetime, uuid.UUID] | None,
) -> list[AutomationRow]:
    created, last = after if after is not None else (None, None)
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM {_FROM}
            WHERE a.project_id = $1 AND (cardinality($3::text[]) = 0 OR a.state = any($3::text[]))
              AND ($4::timestamptz IS NULL OR (a.created_at, a.automation_id) < ($4, $5::uuid))
            ORDER BY a.created_at DESC, a.automation_id DESC
            LIMIT $2""",
        project_id,
        size,
        list(states),
        created,
        last,
    )
    return [AutomationRow(*row) for row in rows]


async def set_triggers(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    automation_id: uuid.UUID,
    enter: str | None,
    exits: Collection[str],
    awaits: Collection[str] = (),
) -> None:
    """What ingestion looks for: the trigger ``enter`` (None: nothing enters), and the exit events
    ``exits`` and awaited events ``awaits`` beside those already listed (a profile inside an older version
    exits on, and waits for, that version's)."""
    await conn.execute(
        "DELETE FROM automation_triggers WHERE project_id = $1 AND automation_id = $2 AND role = 'enter'",
        project_id,
        automation_id,
    )
    await conn.execute(
        """INSERT INTO automation_triggers (project_id, event_name, automation_id, role)
           SELECT $1, n.name, $2, n.role
           FROM unnest($3::text[], $4::text[]) AS n(name, role)
           ON CONFLICT DO NOTHING""",
        project_id,
        automation_id,
        [*([enter] if enter else []), *exits, *awaits],
        [*(["enter"] if enter else []), *(["exit"] * len(exits)), *(["await"] * len(awaits))],
    )


async def clear_triggers(conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID) -> None:
    await conn.execute(
        "DELETE FROM automation_triggers WHERE project_id = $1 AND automation_id = $2",
        project_id,
        automation_id,
    )


async def triggered_by(
    conn: asyncpg.Connection, project_id: uuid.UUID, name: str
) -> list[tuple[uuid.UUID, str]]:
    """The (automation, role) pairs that the event ``name`` concerns, in a fixed order (lock order); per
    automation, 'await' before 'enter': a profile the event enters never finds it awaited at once."""
    rows = await conn.fetch(
        """SELECT automation_id, role FROM automation_triggers WHERE project_id = $1 AND event_name = $2
           ORDER BY automation_id, role""",
        project_id,
        name,
    )
    return [(row["automation_id"], row["role"]) for row in rows]


async def lock_profile(conn: asyncpg.Connection, project_id: uuid.UUID, profile_id: uuid.UUID) -> bool:
    """Whether the profile still exists (not erased or merged away since its event), kept so until the
    transaction ends (a key-share lock: an erasure or a merge waits, an attribute write does not)."""
    found = await conn.fetchval(
        "SELECT true FROM profiles WHERE project_id = $1 AND profile_id = $2 FOR KEY SHARE",
        project_id,
        profile_id,
    )
    return bool(found)


async def lock_profiles(
    conn: asyncpg.Connection, profiles: Sequence[tuple[uuid.UUID, uuid.UUID]]
) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """:func:`lock_profile` for several (project, profile) pairs in one statement, in key order; those that
    still exist."""
    rows = await conn.fetch(
        """SELECT p.project_id, p.profile_id FROM profiles p
           JOIN unnest($1::uuid[], $2::uuid[]) AS wanted(project_id, profile_id)
             ON p.project_id = wanted.project_id AND p.profile_id = wanted.profile_id
           ORDER BY p.project_id, p.profile_id
           FOR KEY SHARE OF p""",
        [project_id for project_id, _ in profiles],
        [profile_id for _, profile_id in profiles],
    )
    return {(row["project_id"], row["profile_id"]) for row in rows}


async def lock_entry(
    conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID, entry_id: uuid.UUID
) -> Entry | None:
    """The entry while its profile is inside, locked until the transaction ends; None once it left."""
    record = await conn.fetchrow(
        f"""SELECT {_ENTRY_COLUMNS} FROM automation_entries
            WHERE project_id = $1 AND automation_id = $2 AND entry_id = $3 AND state = 'inside'
            FOR UPDATE""",
        project_id,
        automation_id,
        entry_id,
    )
    return None if record is None else Entry(*record)


async def replace_event(
    conn: asyncpg.Connection, project_id: uuid.UUID, entry: Entry, event_attributes: str
) -> Entry:
    """The entry with ``event_attributes`` (an awaited event's properties, JSON text) as its event's."""
    record = await conn.fetchrow(
        f"""UPDATE automation_entries SET event_attributes = $4::text::jsonb
            WHERE project_id = $1 AND automation_id = $2 AND entry_id = $3
            RETURNING {_ENTRY_COLUMNS}""",
        project_id,
        entry.automation_id,
        entry.entry_id,
        event_attributes,
    )
    return Entry(*record)


async def inside_for_profile(
    conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID, profile_id: uuid.UUID
) -> list[Entry]:
    """The profile's entries inside the automation, locked."""
    rows = await conn.fetch(
        f"""SELECT {_ENTRY_COLUMNS} FROM automation_entries
            WHERE project_id = $1 AND automation_id = $2 AND profile_id = $3 AND state = 'inside'
            ORDER BY entry_id FOR UPDATE""",
        project_id,
        automation_id,
        profile_id,
    )
    return [Entry(*row) for row in rows]


async def count_inside(conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID) -> int:
    return await conn.fetchval(
        """SELECT count(*) FROM automation_entries
           WHERE project_id = $1 AND automation_id = $2 AND state = 'inside'""",
        project_id,
        automation_id,
    )


async def all_inside(
    conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID
) -> list[Entry]:
    """Every entry inside the automation (activation plans their waits again; archiving ends them)."""
    rows = await conn.fetch(
        f"""SELECT {_ENTRY_COLUMNS} FROM automation_entries
            WHERE project_id = $1 AND automation_id = $2 AND state = 'inside' ORDER BY entry_id""",
        project_id,
        automation_id,
    )
    return [Entry(*row) for row in rows]


async def inside_anywhere(
    conn: asyncpg.Connection, project_id: uuid.UUID, profile_id: uuid.UUID
) -> list[Entry]:
    """The profile's entries inside any automation, locked."""
    rows = await conn.fetch(
        f"""SELECT {_ENTRY_COLUMNS} FROM automation_entries
            WHERE project_id = $1 AND profile_id = $2 AND state = 'inside'
            ORDER BY automation_id, entry_id FOR UPDATE""",
        project_id,
        profile_id,
    )
    return [Entry(*row) for row in rows]


async def hand_over(
    conn: asyncpg.Connection, project_id: uuid.UUID, source: uuid.UUID, target: uuid.UUID
) -> None:
    """Every entry of ``source``, inside or left, becomes ``target``'s."""
    await conn.execute(
        "UPDATE automation_entries SET profile_id = $3 WHERE project_id = $1 AND profile_id = $2",
        project_id,
        source,
        target,
    )


#: An (automation, profile) pair of a project, as the set-based statements take them.
Pair = tuple[uuid.UUID, uuid.UUID, uuid.UUID]


async def take_turns(conn: asyncpg.Connection, keys: Collection[str]) -> None:
    """The transaction-scoped advisory locks named by ``keys`` (each as the runner names one entry's turn),
    in one statement, in a fixed order (their hashes'): two batches of overlapping keys wait, never
    deadlock."""
    await conn.execute(
        """SELECT pg_advisory_xact_lock(h)
           FROM (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) AS k ORDER BY h) AS s""",
        list(keys),
    )


async def last_entered_together(
    conn: asyncpg.Connection, pairs: Sequence[Pair]
) -> list[tuple[datetime, bool] | None]:
    """When each (project, automation, profile) triple's profile last entered the automation, and whether
    it is still inside (None: never), in one statement, in their order."""
    rows = await conn.fetch(
        """SELECT last.entered_at, last.state = 'inside' AS inside
           FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) WITH ORDINALITY AS w(project_id, automation_id,
                                                                             profile_id, n)
           LEFT JOIN LATERAL (
               SELECT entered_at, state FROM automation_entries e
               WHERE e.project_id = w.project_id AND e.profile_id = w.profile_id
                 AND e.automation_id = w.automation_id
               ORDER BY entered_at DESC LIMIT 1) AS last ON true
           ORDER BY w.n""",
        [pair[0] for pair in pairs],
        [pair[1] for pair in pairs],
        [pair[2] for pair in pairs],
    )
    return [None if row["entered_at"] is None else (row["entered_at"], row["inside"]) for row in rows]


async def lock_entries(
    conn: asyncpg.Connection, wanted: Sequence[Pair]
) -> dict[tuple[uuid.UUID, uuid.UUID], Entry]:
    """:func:`lock_entry` for several (project, automation, entry) triples in one statement, in key order;
    those inside, by (project, entry id)."""
    if not wanted:
        return {}
    rows = await conn.fetch(
        f"""SELECT e.project_id, {", ".join(f"e.{c}" for c in _ENTRY_COLUMNS.split(", "))}
            FROM automation_entries e
            JOIN unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS w(project_id, automation_id, entry_id)
              ON e.project_id = w.project_id AND e.automation_id = w.automation_id
                 AND e.entry_id = w.entry_id
            WHERE e.state = 'inside'
            ORDER BY e.project_id, e.automation_id, e.entry_id
            FOR UPDATE OF e""",
        [triple[0] for triple in wanted],
        [triple[1] for triple in wanted],
        [triple[2] for triple in wanted],
    )
    return {(row[0], row["entry_id"]): Entry(*tuple(row)[1:]) for row in rows}


@dataclass(frozen=True, slots=True)
class Move:
    """An entry moved on to ``step_id`` (:func:`move_together`); ``wait_until``: when its wait ends."""

    project_id: uuid.UUID
    entry: Entry
    step_id: str
    wait_until: datetime | None
    #: Why the profile leaves there (an end or a redirect step: its last step), as :func:`leave_together`.
    exit_reason: str | None = None
    #: False for an entry its walk let in: the move is its first row version, inserted where it stops.
    stored: bool = True

    @property
    def moved(self) -> Entry:
        """The entry as the move leaves it."""
        return Entry(
            self.entry.automation_id,
            self.entry.entry_id,
            self.entry.profile_id,
            self.entry.version,
            self.step_id,
            self.entry.step_count + 1,
            self.wait_until,
            self.entry.event_attributes,
        )


async def move_together(conn: asyncpg.Connection, moves: Sequence[Move]) -> None:
    """The entries (locked by the caller) one step further, and those with an exit reason out, one
    statement for those stored and one inserting those not stored yet (one row version each: an insert,
    a move, then a leave, would write three)."""
    await _update_moved(conn, [m for m in moves if m.stored])
    await _insert_moved(conn, [m for m in moves if not m.stored])


async def _update_moved(conn: asyncpg.Connection, moves: Sequence[Move]) -> None:
    if not moves:
        return
    await conn.execute(
        """UPDATE automation_entries e
           SET step_id = m.step_id, step_count = e.step_count + 1, wait_until = m.wait_until,
               state = CASE WHEN m.exit_reason IS NULL THEN e.state ELSE 'left' END,
               exit_reason = coalesce(m.exit_reason, e.exit_reason),
               left_at = CASE WHEN m.exit_reason IS NULL THEN e.left_at ELSE now() END
           FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[], $6::text[])
               AS m(project_id, automation_id, entry_id, step_id, wait_until, exit_reason)
           WHERE e.project_id = m.project_id AND e.automation_id = m.automation_id
             AND e.entry_id = m.entry_id""",
        [m.project_id for m in moves],
        [m.entry.automation_id for m in moves],
        [m.entry.entry_id for m in moves],
        [m.step_id for m in moves],
        [m.wait_until for m in moves],
        [m.exit_reason for m in moves],
    )


async def _insert_moved(conn: asyncpg.Connection, moves: Sequence[Move]) -> None:
    """The entries as their first move leaves them; entered now, as the transaction's timestamp has it."""
    if not moves:
        return
    await conn.execute(
        """INSERT INTO automation_entries
               (project_id, automation_id, entry_id, profile_id, version, step_id, step_count, wait_until,
                state, exit_reason, left_at, event_attributes)
           SELECT m.project_id, m.automation_id, m.entry_id, m.profile_id, m.version, m.step_id,
                  m.step_count, m.wait_until,
                  CASE WHEN m.exit_reason IS NULL THEN 'inside' ELSE 'left' END, m.exit_reason,
                  CASE WHEN m.exit_reason IS NULL THEN NULL ELSE now() END, m.event_attributes::jsonb
           FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::int[], $6::text[], $7::int[],
                       $8::timestamptz[], $9::text[], $10::text[])
               AS m(project_id, automation_id, entry_id, profile_id, version, step_id, step_count,
                    wait_until, exit_reason, event_attributes)""",
        [m.project_id for m in moves],
        [m.entry.automation_id for m in moves],
        [m.entry.entry_id for m in moves],
        [m.entry.profile_id for m in moves],
        [m.entry.version for m in moves],
        [m.step_id for m in moves],
        [m.moved.step_count for m in moves],
        [m.wait_until for m in moves],
        [m.exit_reason for m in moves],
        [orjson.dumps(m.entry.event_attributes).decode() for m in moves],
    )


async def leave_together(
    conn: asyncpg.Connection, leaving: Sequence[tuple[uuid.UUID, Entry]], reason: str
) -> None:
    """The (project, entry) pairs' profiles leave, in one statement, all for ``reason``."""
    if not leaving:
        return
    await conn.execute(
        """UPDATE automation_entries e
           SET state = 'left', exit_reason = $4, left_at = now(), wait_until = NULL
           FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS l(project_id, automation_id, entry_id)
           WHERE e.project_id = l.project_id AND e.automation_id = l.automation_id
             AND e.entry_id = l.entry_id""",
        [project_id for project_id, _ in leaving],
        [entry.automation_id for _, entry in leaving],
        [entry.entry_id for _, entry in leaving],
        reason,
    )
