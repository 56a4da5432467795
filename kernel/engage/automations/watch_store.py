"""Every statement on ``automation_watches`` (what the active automations with a profile trigger follow)
and ``automation_segment_members`` (the members of the segment each segment-triggered one follows)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from kernel.engage.segments import Predicate


@dataclass(frozen=True, slots=True)
class ProfileWatches:
    """What a project's profile writes must look for: the attribute keys whose changes enter profiles,
    and whether any automation follows a segment (every change of a profile may move it in or out)."""

    attributes: frozenset[str]
    segments: bool


async def profile_watches(conn: asyncpg.Connection, project_id: uuid.UUID) -> ProfileWatches | None:
    """None when nothing is followed (one index probe: the cost of a profile write for most projects)."""
    rows = await conn.fetch(
        """SELECT kind, subject FROM automation_watches
           WHERE project_id = $1 AND kind IN ('attribute', 'segment')""",
        project_id,
    )
    if not rows:
        return None
    return ProfileWatches(
        frozenset(row["subject"] for row in rows if row["kind"] == "attribute"),
        any(row["kind"] == "segment" for row in rows),
    )


async def watched_events(
    conn: asyncpg.Connection, project_id: uuid.UUID, names: Sequence[str]
) -> tuple[set[str], bool]:
    """Which of the event ``names`` enter or remove profiles, and whether any automation follows a
    segment (a tracked event may move a profile in or out): event ingestion's one question."""
    row = await conn.fetchrow(
        """SELECT (SELECT array_agg(DISTINCT event_name) FROM automation_triggers
                   WHERE project_id = $1 AND event_name = any($2::text[])),
                  EXISTS (SELECT FROM automation_watches WHERE project_id = $1 AND kind = 'segment')""",
        project_id,
        list(set(names)),
    )
    return set(row[0] or ()), row[1]


async def watching(conn: asyncpg.Connection, project_id: uuid.UUID, kind: str) -> list[tuple[uuid.UUID, str]]:
    """(automation, subject) of the automations following ``kind``, in lock order."""
    rows = await conn.fetch(
        """SELECT automation_id, subject FROM automation_watches WHERE project_id = $1 AND kind = $2
           ORDER BY automation_id""",
        project_id,
        kind,
    )
    return [(row["automation_id"], row["subject"]) for row in rows]


async def current(
    conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID
) -> tuple[str, str] | None:
    row = await conn.fetchrow(
        "SELECT kind, subject FROM automation_watches WHERE project_id = $1 AND automation_id = $2",
        project_id,
        automation_id,
    )
    return None if row is None else (row["kind"], row["subject"])


async def replace(
    conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID, watch: tuple[str, str] | None
) -> None:
    """The automation follows ``watch`` (kind, subject) from now on (None: nothing); its segment's
    members as followed so far are forgotten."""
    await conn.execute(
        "DELETE FROM automation_watches WHERE project_id = $1 AND automation_id = $2",
        project_id,
        automation_id,
    )
    await conn.execute(
        "DELETE FROM automation_segment_members WHERE project_id = $1 AND automation_id = $2",
        project_id,
        automation_id,
    )
    if watch is not None:
        await conn.execute(
            """INSERT INTO automation_watches (project_id, automation_id, kind, subject)
               VALUES ($1, $2, $3, $4)""",
            project_id,
            automation_id,
            *watch,
        )


async def take_members(
    conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID, segment: Predicate
) -> None:
    """The profiles matching ``segment`` (compiled over ``p`` with parameters from $3) are the members."""
    await conn.execute(
        f"""INSERT INTO automation_segment_members (project_id, automation_id, profile_id)
            SELECT $1, $2, p.profile_id FROM profiles p
            WHERE p.project_id = $1 AND ({segment.sql}) IS TRUE""",
        project_id,
        automation_id,
        *segment.args,
    )


async def moved(
    conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID, segment: Predicate
) -> list[uuid.UUID]:
    """The profiles whose membership of ``segment`` differs from the members followed (the sweep)."""
    rows = await conn.fetch(
        f"""WITH matching AS (SELECT p.profile_id FROM profiles p
                              WHERE p.project_id = $1 AND ({segment.sql}) IS TRUE),
                 members AS (SELECT profile_id FROM automation_segment_members
                             WHERE project_id = $1 AND automation_id = $2)
            (TABLE matching EXCEPT TABLE members) UNION ALL (TABLE members EXCEPT TABLE matching)""",
        project_id,
        automation_id,
        *segment.args,
    )
    return [row[0] for row in rows]


async def set_member(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    automation_id: uuid.UUID,
    profile_id: uuid.UUID,
    member: bool,
) -> bool:
    """Whether this call changed the profile's membership (so exactly one of concurrent callers sees
    the transition)."""
    if member:
        sql = """INSERT INTO automation_segment_members (project_id, automation_id, profile_id)
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING true"""
    else:
        sql = """DELETE FROM automation_segment_members
                 WHERE project_id = $1 AND automation_id = $2 AND profile_id = $3 RETURNING true"""
    return bool(await conn.fetchval(sql, project_id, automation_id, profile_id))
