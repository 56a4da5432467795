"""Counting and previewing the profiles a condition matches, at one instant."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from kernel.engage.segments.compiler import compile_predicate
from kernel.engage.segments.conditions import Condition


async def count(conn: asyncpg.Connection, project_id: uuid.UUID, condition: Condition, now: datetime) -> int:
    """The exact number of matching profiles. ``fetch``, not ``fetchval``: asyncpg's fetchval and fetchrow
    run a statement without PostgreSQL's parallel workers."""
    predicate = compile_predicate(condition, now)
    rows = await conn.fetch(
        f"SELECT count(*) FROM profiles p WHERE p.project_id = $1 AND {predicate.sql}",
        project_id,
        *predicate.args,
    )
    return int(rows[0][0])


async def preview(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    condition: Condition,
    now: datetime,
    limit: int,
    after: uuid.UUID | None,
    keys: Sequence[str],
) -> list[asyncpg.Record]:
    """Matching profiles in profile id order after ``after``: profile_id, custom_id and the attributes of
    ``keys`` they have (in their stored form)."""
    predicate = compile_predicate(condition, now, first=5)
    return await conn.fetch(
        f"""SELECT p.profile_id, p.custom_id,
                   (SELECT coalesce(jsonb_object_agg(k, p.attributes -> k), '{{}}') FROM unnest($4::text[]) k
                    WHERE p.attributes ? k) AS attributes
            FROM profiles p
            WHERE p.project_id = $1 AND ($2::uuid IS NULL OR p.profile_id > $2) AND {predicate.sql}
            ORDER BY p.profile_id LIMIT $3""",
        project_id,
        after,
        limit,
        list(keys),
        *predicate.args,
    )
