"""Whether an event passes a trigger's property filters, and a profile an entry filter: the segments'
compiled predicates, evaluated for one event and one profile."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg

from kernel.engage.segments import Condition, compile_predicate
from kernel.engage.segments.conditions import AllOf, AttributeTest
from kernel.engage.segments.freeze import inline


async def event_matches(
    conn: asyncpg.Connection, properties: Sequence[AttributeTest], attributes: str
) -> bool:
    """``attributes``: the event's properties in stored form, as JSON text. Property tests never read the
    project (an event property has no recipient's day), hence no project parameter."""
    if not properties:
        return True
    predicate = compile_predicate(AllOf(tuple(properties)), datetime.now(UTC), alias="e", project="NULL")
    return bool(
        await conn.fetchval(
            f"SELECT ({predicate.sql}) IS TRUE FROM (SELECT $1::text::jsonb AS attributes) e",
            attributes,
            *predicate.args,
        )
    )


async def profile_matches(
    conn: asyncpg.Connection, project_id: uuid.UUID, profile_id: uuid.UUID, condition: Condition
) -> bool:
    """The condition with its saved segments at their current version, for the profile now."""
    inlined = await inline(conn, project_id, condition, "entry_filter")
    predicate = compile_predicate(inlined, datetime.now(UTC), first=3, per_profile=True)
    return bool(
        await conn.fetchval(
            f"""SELECT EXISTS (SELECT FROM profiles p WHERE p.project_id = $1 AND p.profile_id = $2
                               AND ({predicate.sql}) IS TRUE)""",
            project_id,
            profile_id,
            *predicate.args,
        )
    )
