"""The statistics of a campaign: its occurrences' sends added together, and each occurrence's apart.

A campaign's sends are those its released occurrences recorded (``campaign_occurrences``): a test send is
none of them, so it is never counted. Everything is read in one snapshot, so that the campaign's figures
are the sum of its occurrences' at the same instant.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from kernel.delivery.slices import send_channels
from kernel.engage.campaigns import store
from kernel.engage.campaigns.service import campaign_id_of
from kernel.errors import NotFound
from kernel.stats.send_stats import Bucket, SendStats, channel_order, hourly_buckets, read_stats


@dataclass(slots=True)
class OccurrenceFigures:
    key: str
    due_at: datetime
    send_id: uuid.UUID
    stats: SendStats


@dataclass(slots=True)
class CampaignFigures:
    campaign_id: uuid.UUID
    #: Every occurrence's send together.
    campaign: SendStats
    #: Oldest first.
    occurrences: list[OccurrenceFigures]


@dataclass(frozen=True, slots=True)
class Released:
    """An occurrence that created a send."""

    key: str
    due_at: datetime
    send_id: uuid.UUID


async def campaign_stats(pool: asyncpg.Pool, project_id: uuid.UUID, text: str) -> CampaignFigures:
    """GetCampaignStats."""
    campaign_id = campaign_id_of(text)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        released = await _released(conn, project_id, campaign_id)
        ids = [occurrence.send_id for occurrence in released]
        channels = await send_channels(conn, project_id, ids)
        campaign = await read_stats(conn, project_id, ids, channel_order(channels, ids))
        occurrences = [
            OccurrenceFigures(
                occurrence.key,
                occurrence.due_at,
                occurrence.send_id,
                await read_stats(conn, project_id, [occurrence.send_id], channels[occurrence.send_id]),
            )
            for occurrence in released
        ]
    return CampaignFigures(campaign_id, campaign, occurrences)


async def export_campaign_rows(
    pool: asyncpg.Pool, project_id: uuid.UUID, text: str
) -> list[tuple[str, Bucket]]:
    """ExportCampaignStats: each occurrence's key with its send's figures per channel and hour."""
    campaign_id = campaign_id_of(text)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        keys = {released.send_id: released.key for released in await _released(conn, project_id, campaign_id)}
        buckets = await hourly_buckets(conn, project_id, list(keys))
    return [(keys[bucket.send_id], bucket) for bucket in buckets.values()]


async def _released(
    conn: asyncpg.Connection, project_id: uuid.UUID, campaign_id: uuid.UUID
) -> list[Released]:
    """The campaign's occurrences that created a send, oldest first; NOT_FOUND for no such campaign."""
    if await store.read(conn, project_id, campaign_id) is None:
        raise NotFound("no such campaign in this project", "campaign_id")
    return [
        Released(occurrence.key, occurrence.due_at, occurrence.send_id)
        for occurrence in await store.occurrences(conn, project_id, campaign_id)
        if occurrence.send_id is not None
    ]
