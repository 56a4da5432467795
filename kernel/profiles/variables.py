"""A profile's template variables: its attributes, ``custom_id`` and ``profile_id``."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

import asyncpg

from kernel.errors import NotFound
from kernel.profiles.attributes import to_plain


async def template_variables(
    conn: asyncpg.Connection, project_id: uuid.UUID, profile_id: uuid.UUID
) -> dict[str, Any]:
    """What a template rendered for the profile reads (the special names win over attributes so named)."""
    row = await conn.fetchrow(
        "SELECT custom_id, attributes FROM profiles WHERE project_id = $1 AND profile_id = $2",
        project_id,
        profile_id,
    )
    if row is None:
        raise NotFound("no profile matches this reference", "profile")
    return _variables(row, profile_id)


async def template_variables_together(
    conn: asyncpg.Connection, project_id: uuid.UUID, profile_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """:func:`template_variables` of several profiles in one statement; those that exist."""
    rows = await conn.fetch(
        """SELECT profile_id, custom_id, attributes FROM profiles
           WHERE project_id = $1 AND profile_id = any($2::uuid[])""",
        project_id,
        list(profile_ids),
    )
    return {row["profile_id"]: _variables(row, row["profile_id"]) for row in rows}


def _variables(row: asyncpg.Record, profile_id: uuid.UUID) -> dict[str, Any]:
    return {**to_plain(row["attributes"]), "custom_id": row["custom_id"] or "", "profile_id": str(profile_id)}
