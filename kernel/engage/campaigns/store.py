"""Every statement on ``campaigns`` and ``campaign_occurrences``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

Executor = asyncpg.Connection | asyncpg.Pool
_COLUMNS = "campaign_id, name, state, definition, created_at, updated_at"


@dataclass(frozen=True, slots=True)
class CampaignRow:
    campaign_id: uuid.UUID
    name: str
    #: draft, scheduled, running, completed or cancelled.
    state: str
    #: The herald.v1.Campaign as last written, in proto JSON (output-only fields cleared).
    definition: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class OccurrenceRow:
    key: str
    due_at: datetime
    send_id: uuid.UUID | None
    error: str | None
    time_zones: Sequence[str]
    without_time_zone: bool


def _row(record: asyncpg.Record | None) -> CampaignRow | None:
    return None if record is None else CampaignRow(*record)


async def insert(
    conn: Executor,
    project_id: uuid.UUID,
    campaign_id: uuid.UUID,
    client_key: str | None,
    name: str,
    definition: Mapping[str, Any],
) -> CampaignRow | None:
    """The stored draft; None, and nothing stored, when ``client_key`` names a campaign already."""
    return _row(
        await conn.fetchrow(
            f"""INSERT INTO campaigns (project_id, campaign_id, client_key, name, state, definition)
                VALUES ($1, $2, $3, $4, 'draft', $5)
                ON CONFLICT (project_id, client_key) WHERE client_key IS NOT NULL DO NOTHING
                RETURNING {_COLUMNS}""",
            project_id,
            campaign_id,
            client_key,
            name,
            dict(definition),
        )
    )


async def of_request(conn: Executor, project_id: uuid.UUID, client_key: str) -> CampaignRow | None:
    return _row(
        await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM campaigns WHERE project_id = $1 AND client_key = $2",
            project_id,
            client_key,
        )
    )


async def read(conn: Executor, project_id: uuid.UUID, campaign_id: uuid.UUID) -> CampaignRow | None:
    return _row(
        await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM campaigns WHERE project_id = $1 AND campaign_id = $2",
            project_id,
            campaign_id,
        )
    )


async def lock(conn: asyncpg.Connection, project_id: uuid.UUID, campaign_id: uuid.UUID) -> CampaignRow | None:
    """The campaign, locked until the transaction ends: state changes and occurrence runs take turns."""
    return _row(
        await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM campaigns WHERE project_id = $1 AND campaign_id = $2 FOR UPDATE",
            project_id,
            campaign_id,
        )
    )


async def store_definition(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    campaign_id: uuid.UUID,
    name: str,
    definition: Mapping[str, Any],
) -> None:
    await conn.execute(
        """UPDATE campaigns SET name = $3, definition = $4, updated_at = now()
           WHERE project_id = $1 AND campaign_id = $2""",
        project_id,
        campaign_id,
        name,
        dict(definition),
    )


async def set_state(
    conn: asyncpg.Connection, project_id: uuid.UUID, campaign_id: uuid.UUID, state: str
) -> None:
    await conn.execute(
        """UPDATE campaigns SET state = $3, updated_at = now() WHERE project_id = $1 AND campaign_id = $2""",
        project_id,
        campaign_id,
        state,
    )


async def page(
    conn: Executor,
    project_id: uuid.UUID,
    limit: int,
    states: Sequence[str],
    after: tuple[datetime, uuid.UUID] | None,
) -> list[CampaignRow]:
    """Newest first, from after ``after`` (the last of the previous page)."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM campaigns
            WHERE project_id = $1 AND (cardinality($2::text[]) = 0 OR state = any($2::text[]))
              AND ($3::timestamptz IS NULL OR (created_at, campaign_id) < ($3, $4))
            ORDER BY created_at DESC, campaign_id DESC
            LIMIT $5""",
        project_id,
        list(states),
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [CampaignRow(*row) for row in rows]


async def record_occurrence(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    campaign_id: uuid.UUID,
    occurrence: OccurrenceRow,
) -> bool:
    """False when the occurrence was recorded already (an earlier run of its timer got this far)."""
    inserted = await conn.fetchval(
        """INSERT INTO campaign_occurrences (project_id, campaign_id, occurrence_key, due_at, send_id, error,
                                            time_zones, without_time_zone)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT DO NOTHING
           RETURNING true""",
        project_id,
        campaign_id,
        occurrence.key,
        occurrence.due_at,
        occurrence.send_id,
        occurrence.error,
        list(occurrence.time_zones),
        occurrence.without_time_zone,
    )
    return bool(inserted)


async def occurrences(conn: Executor, project_id: uuid.UUID, campaign_id: uuid.UUID) -> list[OccurrenceRow]:
    rows = await conn.fetch(
        """SELECT occurrence_key, due_at, send_id, error, time_zones, without_time_zone
           FROM campaign_occurrences WHERE project_id = $1 AND campaign_id = $2
           ORDER BY due_at, occurrence_key""",
        project_id,
        campaign_id,
    )
    return [OccurrenceRow(*row) for row in rows]
