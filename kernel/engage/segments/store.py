"""Every statement on the ``segments`` and ``segment_versions`` rows: saved segments and their versions.

A segment's row holds its name and current version; each condition it ever had is a row of
``segment_versions``, never rewritten, so the condition a send froze stays readable.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from kernel.engage.segments.conditions import Condition, from_stored, references, stored_form
from kernel.errors import FailedPrecondition, NotFound

_SELECT = """SELECT s.segment_id, s.name, s.description, v.version, v.condition, s.created_at, s.updated_at
             FROM segments s JOIN segment_versions v ON v.project_id = s.project_id
                 AND v.segment_id = s.segment_id"""


@dataclass(frozen=True, slots=True)
class SavedSegment:
    segment_id: uuid.UUID
    name: str
    description: str
    version: int
    condition: Condition
    created_at: datetime
    updated_at: datetime


def _saved(row: asyncpg.Record) -> SavedSegment:
    return SavedSegment(**{**dict(row), "condition": from_stored(row["condition"])})


async def create(
    conn: asyncpg.Connection, project_id: uuid.UUID, name: str, description: str, condition: Condition
) -> SavedSegment:
    segment_id = uuid.uuid4()
    async with conn.transaction():
        await conn.execute(
            """INSERT INTO segments (project_id, segment_id, name, description, version, references_ids)
               VALUES ($1, $2, $3, $4, 1, $5)""",
            project_id,
            segment_id,
            name,
            description,
            [uuid.UUID(ref) for ref in references(condition)],
        )
        await _add_version(conn, project_id, segment_id, 1, condition)
    return await get(conn, project_id, segment_id)


async def get(
    conn: asyncpg.Connection, project_id: uuid.UUID, segment_id: uuid.UUID, version: int = 0
) -> SavedSegment:
    """The segment at ``version`` (0: its current one)."""
    row = await conn.fetchrow(
        f"""{_SELECT} AND v.version = CASE WHEN $3 = 0 THEN s.version ELSE $3 END
            WHERE s.project_id = $1 AND s.segment_id = $2""",
        project_id,
        segment_id,
        version,
    )
    if row is None:
        raise NotFound("no such segment (or version) in this project", "segment_id")
    return _saved(row)


async def current_conditions(
    conn: asyncpg.Connection, project_id: uuid.UUID, segment_ids: Sequence[str]
) -> dict[str, Condition]:
    """The current condition of each named segment that exists."""
    rows = await conn.fetch(
        f"""{_SELECT} AND v.version = s.version WHERE s.project_id = $1 AND s.segment_id = any($2::uuid[])""",
        project_id,
        list(segment_ids),
    )
    return {str(row["segment_id"]): from_stored(row["condition"]) for row in rows}


async def update(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    segment_id: uuid.UUID,
    name: str | None,
    description: str | None,
    condition: Condition | None,
) -> SavedSegment:
    """Changes what is not None; a new condition is a new version."""
    async with conn.transaction():
        version = await conn.fetchval(
            """UPDATE segments SET name = coalesce($3, name), description = coalesce($4, description),
                   version = version + ($5::bool)::int,
                   references_ids = CASE WHEN $5 THEN $6::uuid[] ELSE references_ids END, updated_at = now()
               WHERE project_id = $1 AND segment_id = $2 RETURNING version""",
            project_id,
            segment_id,
            name,
            description,
            condition is not None,
            [uuid.UUID(ref) for ref in references(condition)] if condition is not None else [],
        )
        if version is None:
            raise NotFound("no such segment in this project", "segment.segment_id")
        if condition is not None:
            await _add_version(conn, project_id, segment_id, version, condition)
    return await get(conn, project_id, segment_id)


async def delete(conn: asyncpg.Connection, project_id: uuid.UUID, segment_id: uuid.UUID) -> None:
    async with conn.transaction():
        referrers = await conn.fetch(
            "SELECT segment_id FROM segments WHERE project_id = $1 AND $2 = any(references_ids) FOR UPDATE",
            project_id,
            segment_id,
        )
        if referrers:
            names = ", ".join(str(row["segment_id"]) for row in referrers)
            raise FailedPrecondition(f"referenced by segments {names}", "segment_id")
        deleted = await conn.execute(
            "DELETE FROM segments WHERE project_id = $1 AND segment_id = $2", project_id, segment_id
        )
    if deleted == "DELETE 0":
        raise NotFound("no such segment in this project", "segment_id")


async def page(
    conn: asyncpg.Connection | asyncpg.Pool,
    project_id: uuid.UUID,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[SavedSegment]:
    """Newest first, ``limit`` segments after the (created_at, segment_id) position ``after``."""
    rows = await conn.fetch(
        f"""{_SELECT} AND v.version = s.version
            WHERE s.project_id = $1 AND ($3::timestamptz IS NULL OR (s.created_at, s.segment_id) < ($3, $4))
            ORDER BY s.created_at DESC, s.segment_id DESC LIMIT $2""",
        project_id,
        limit,
        after[0] if after else None,
        after[1] if after else None,
    )
    return [_saved(row) for row in rows]


async def _add_version(
    conn: asyncpg.Connection, project_id: uuid.UUID, segment_id: uuid.UUID, version: int, condition: Condition
) -> None:
    await conn.execute(
        "INSERT INTO segment_versions (project_id, segment_id, version, condition) VALUES ($1, $2, $3, $4)",
        project_id,
        segment_id,
        version,
        stored_form(condition),
    )
