"""The statistics of a campaign: its occurrences' sends added together, and each occurrence's apart.

A campaign's sends are those its released occurrences recorded (``campaign_occurrences``), and for an
occurrence with an A/B test each variant's send and the remainder's (``campaign_ab_tests``; the remainder
belongs to the winning variant): a test send is none of them, so it is never counted. Everything is read
in one snapshot, so that the campaign's figures are the sum of its occurrences' at the same instant.
Conversions are attributed over every send of the campaign together (to the last message of the campaign
the profile received), then counted in that message's send, channel and hour.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from kernel.delivery.slices import send_channels
from kernel.engage.campaigns import ab_store, store
from kernel.engage.campaigns.service import campaign_id_of
from kernel.engage.campaigns.views import campaign_of
from kernel.errors import NotFound
from kernel.stats.conversions import Converted, converted
from kernel.stats.goals import Goal, campaign_goal
from kernel.stats.send_stats import (
    Bucket,
    SendStats,
    add_converted,
    add_converted_buckets,
    channel_order,
    hourly_buckets,
    read_stats,
)


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
        goal, released = await _released(conn, project_id, campaign_id)
        ids = [occurrence.send_id for occurrence in released]
        channels = await send_channels(conn, project_id, ids)
        converted = await _converted(conn, project_id, goal, ids)

        async def stats_of(sends: list[uuid.UUID], order: Sequence[str]) -> SendStats:
            stats = await read_stats(conn, project_id, sends, order)
            add_converted(stats, converted)
            return stats

        campaign = await stats_of(ids, channel_order(channels, ids))
        occurrences = [
            OccurrenceFigures(
                occurrence.key,
                occurrence.due_at,
                occurrence.send_id,
                occurrence.variant,
                await stats_of([occurrence.send_id], channels[occurrence.send_id]),
            )
            for occurrence in released
        ]
        by_variant: dict[str, list[uuid.UUID]] = {}
        for occurrence in released:
            if occurrence.variant:
                by_variant.setdefault(occurrence.variant, []).append(occurrence.send_id)
        variants = [
            (name, await stats_of(sends, channel_order(channels, sends)))
            for name, sends in by_variant.items()
        ]
    return CampaignFigures(campaign_id, campaign, occurrences, variants)


async def export_campaign_rows(
    pool: asyncpg.Pool, project_id: uuid.UUID, text: str
) -> list[tuple[Released, Bucket]]:
    """ExportCampaignStats: each send's occurrence (key, variant) with its figures per channel and hour."""
    campaign_id = campaign_id_of(text)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        goal, released = await _released(conn, project_id, campaign_id)
        sends = {occurrence.send_id: occurrence for occurrence in released}
        buckets = await hourly_buckets(conn, project_id, list(sends))
        buckets = add_converted_buckets(buckets, await _converted(conn, project_id, goal, list(sends)))
    return [(sends[bucket.send_id], bucket) for bucket in buckets.values()]


async def _converted(
    conn: asyncpg.Connection, project_id: uuid.UUID, goal: Goal | None, send_ids: list[uuid.UUID]
) -> list[Converted]:
    """The campaign's conversions, attributed over all its sends at once (to the last message of the
    campaign, whichever occurrence sent it)."""
    if goal is None or not send_ids:
        return []
    return await converted(conn, project_id, send_ids, goal.event, goal.window)


async def _released(
    conn: asyncpg.Connection, project_id: uuid.UUID, campaign_id: uuid.UUID
) -> tuple[Goal | None, list[Released]]:
    """The campaign's goal, and the sends of its released occurrences, oldest first (an A/B test's: each
    variant's, then the remainder's, the winner's); NOT_FOUND for no such campaign."""
    row = await store.read(conn, project_id, campaign_id)
    if row is None:
        raise NotFound("no such campaign in this project", "campaign_id")
    campaign = campaign_of(row)
    names = [variant.name for variant in campaign.ab_test.variants]
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
    return campaign_goal(campaign), released
