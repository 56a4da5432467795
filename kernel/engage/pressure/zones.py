"""Recipients' time zones: the profile's ``timezone`` attribute (an IANA name), else the project's."""

from __future__ import annotations

import uuid
import zoneinfo
from collections.abc import Sequence
from functools import cache

import asyncpg

from kernel.profiles.conventions import TIMEZONE


@cache
def zone(name: str) -> zoneinfo.ZoneInfo | None:
    """The zone named ``name``; None for a name this system does not know (stored before names were
    checked)."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


async def recipient_zones(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    profiles: Sequence[uuid.UUID],
    project_zone: zoneinfo.ZoneInfo,
) -> dict[uuid.UUID, zoneinfo.ZoneInfo]:
    """Each profile's zone (a profile gone since its message was planned is in the project's)."""
    rows = await conn.fetch(
        """SELECT profile_id, attributes -> $3::text ->> 'v' FROM profiles
           WHERE project_id = $1 AND profile_id = any($2::uuid[])""",
        project_id,
        profiles,
        TIMEZONE,
    )
    return {row[0]: (row[1] and zone(row[1])) or project_zone for row in rows}
