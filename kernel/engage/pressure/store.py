"""Every statement on ``pressure_rules``: a project's rules, and those of the projects a worker sends for."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg

from kernel.engage.pressure.rules import PressureRules
from kernel.engage.pressure.zones import zone


@dataclass(frozen=True, slots=True)
class ProjectPressure:
    """A project's rules, with what judging them needs of the project."""

    rules: PressureRules
    #: The zone of recipients without a valid ``timezone`` attribute.
    zone: ZoneInfo


async def read_rules(pool: asyncpg.Pool, project_id: uuid.UUID) -> tuple[PressureRules, datetime | None]:
    """The project's rules (none: empty ones) and when they were last set (None: never)."""
    row = await pool.fetchrow(
        "SELECT rules, updated_at FROM pressure_rules WHERE project_id = $1", project_id
    )
    if row is None:
        return PressureRules(), None
    return PressureRules.from_stored(row["rules"]), row["updated_at"]


async def write_rules(
    pool: asyncpg.Pool | asyncpg.Connection, project_id: uuid.UUID, rules: PressureRules
) -> datetime:
    """Set the project's rules (empty ones remove the row: a project without rules pays nothing)."""
    if not rules:
        await pool.execute("DELETE FROM pressure_rules WHERE project_id = $1", project_id)
        return await pool.fetchval("SELECT now()")
    return await pool.fetchval(
        """INSERT INTO pressure_rules (project_id, rules) VALUES ($1, $2)
           ON CONFLICT (project_id) DO UPDATE SET rules = excluded.rules, updated_at = now()
           RETURNING updated_at""",
        project_id,
        rules.stored(),
    )


async def rules_of(
    pool: asyncpg.Pool | asyncpg.Connection, projects: Collection[uuid.UUID]
) -> dict[uuid.UUID, ProjectPressure]:
    """The rules of those of ``projects`` that have some."""
    if not projects:
        return {}
    rows = await pool.fetch(
        """SELECT r.project_id, r.rules, p.timezone FROM pressure_rules r JOIN projects p USING (project_id)
           WHERE r.project_id = any($1::uuid[])""",
        list(projects),
    )
    return {
        row["project_id"]: ProjectPressure(
            PressureRules.from_stored(row["rules"]), zone(row["timezone"]) or ZoneInfo("UTC")
        )
        for row in rows
    }
