"""The statistics of a campaign: its occurrences' sends added together, and each occurrence's apart.

A campaign's sends are those its released occurrences recorded (``campaign_occurrences``), and for an
occurrence with an A/B test each variant's send and the remainder's (``campaign_ab_tests``; the remainder
belongs to the winning variant): a test send is none of them, so it is never counted. Everything is read
in one snapshot, so that the campaign's figures are the sum of its occurrences' at the same instant.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from kernel.delivery.slices import send_channels
from kernel.engage.campaigns import ab_store, store
from kernel.engage.campaigns.service import campaign_id_of
from kernel.engage.campaigns.views import campaign_of
from kernel.errors import NotFound
from kernel.stats.send_stats import Bucket, SendStats, channel_order, hourly_buckets, read_stats


@dataclass(slots=True)
class OccurrenceFigures:
    key: str
    due_at: datetime
    send_id: uuid.UUID
    #: The A/B variant the send is for; "" without a test.
    variant: str
    stats: SendStats


@dataclass(slots=True)
class CampaignFigures:
    campaign_id: uuid.UUID
    #: Every occurrence's send together.
    campaign: SendStats
    #: Oldest first.
    occurrences: list[OccurrenceFigures]
    #: Each A/B variant's sends added together, in the test's order; empty without a test.
    variants: list[tuple[str, SendStats]]


@dataclass(frozen=True, slots=True)
class Released:
    """An occurrence that created a send."""

    key: str
    due_at: datetime
    send_id: uuid.UUID
    variant: str = ""


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
                occurrence.variant,
                await read_stats(conn, project_id, [occurrence.send_id], channels[occurrence.send_id]),
            )
            for occurrence in released
        ]
        by_variant: dict[str, list[uuid.UUID]] = {}
        for occurrence in released:
            if occurrence.variant:
                by_variant.setdefault(occurrence.variant, []).append(occurrence.send_id)
        variants = [
            (name, await read_stats(conn, project_id, sends, channel_order(channels, sends)))
            for name, sends in by_variant.items()
        ]
    return CampaignFigures(campaign_id, campaign, occurrences, variants)


async def export_campaign_rows(
    pool: asyncpg.Pool, project_id: uuid.UUID, text: str
) -> list[tuple[Released, Bucket]]:
    """ExportCampaignStats: each send's occurrence (key, variant) with its figures per channel and hour."""
    campaign_id = campaign_id_of(text)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        sends = {released.send_id: released for released in await _released(conn, project_id, campaign_id)}
        buckets = await hourly_buckets(conn, project_id, list(sends))
    return [(sends[bucket.send_id], bucket) for bucket in buckets.values()]


async def _released(
    conn: asyncpg.Connection, project_id: uuid.UUID, campaign_id: uuid.UUID
) -> list[Released]:
    """The sends of the campaign's released occurrences, oldest first (an A/B test's: each variant's, then
    the remainder's, the winner's); NOT_FOUND for no such campaign."""
    row = await store.read(conn, project_id, campaign_id)
    if row is None:
        raise NotFound("no such campaign in this project", "campaign_id")
    names = [variant.name for variant in campaign_of(row).ab_test.variants]
    released: list[Released] = []
    for occurrence in await store.occurrences(conn, project_id, campaign_id):
        if occurrence.send_id is None:
            continue
        test = await ab_store.read(conn, project_id, campaign_id, occurrence.key) if names else None
        if test is None:
            released.append(Released(occurrence.key, occurrence.due_at, occurrence.send_id))
            continue
        parts = list(zip(names, test.variant_send_ids, strict=True))
        if test.remainder_send_id is not None and test.winner is not None:
            parts.append((names[test.winner], test.remainder_send_id))
        released += [Released(occurrence.key, occurrence.due_at, send, name) for name, send in parts]
    return released
