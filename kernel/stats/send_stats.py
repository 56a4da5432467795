"""The statistics of one send or of several read as one: in total, per channel and per hour, and as
export rows per send, channel and hour.

Reading them never scans the message log: delivery counts per slice, channel and hour as it records
outcomes, and per hour as the webhooks arrive. A send's total comes from its slices' counters, so that it
matches GetSend even for a send counted before channels were told apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from kernel.delivery.channel_counts import channel_counts
from kernel.delivery.send_feedback import feedback_tallies
from kernel.delivery.slices import send_channels, send_counts
from kernel.errors import InvalidArgument, NotFound
from kernel.stats.conversions import Converted
from kernel.stats.figures import Figures

#: The most sends one call reads together.
MAX_SENDS = 100


@dataclass(slots=True)
class ChannelFigures:
    """One channel's figures (``channel`` empty: every channel's)."""

    channel: str
    figures: Figures = field(default_factory=Figures)


@dataclass(slots=True)
class Bucket:
    """One hour of one channel, of one send (``send_id`` None: of the sends read together)."""

    send_id: uuid.UUID | None
    channel: str
    start: datetime
    figures: Figures = field(default_factory=Figures)


@dataclass(slots=True)
class SendStats:
    send_ids: list[uuid.UUID]
    total: ChannelFigures
    channels: list[ChannelFigures]
    #: Oldest first, the channels of an hour in the order of ``channels``.
    hours: list[Bucket]


def send_ids_of(texts: Sequence[str], field_name: str = "send_ids") -> list[uuid.UUID]:
    """The distinct send ids asked for, in order; INVALID_ARGUMENT naming the field otherwise."""
    if not texts:
        raise InvalidArgument("name at least one send", field_name)
    if len(texts) > MAX_SENDS:
        raise InvalidArgument(f"at most {MAX_SENDS} sends", field_name)
    ids: dict[uuid.UUID, None] = {}
    for index, text in enumerate(texts):
        try:
            ids[uuid.UUID(text)] = None
        except ValueError:
            raise InvalidArgument("must be a UUID", f"{field_name}[{index}]") from None
    return list(ids)


async def _channels_of(
    conn: asyncpg.Connection, project_id: uuid.UUID, texts: Sequence[str], ids: list[uuid.UUID]
) -> list[str]:
    """The sends' channels, in order of first use; NOT_FOUND naming the first id of no send."""
    channels = await send_channels(conn, project_id, ids)
    for index, text in enumerate(texts):
        if uuid.UUID(text) not in channels:
            raise NotFound("no such send in this project", f"send_ids[{index}]")
    return channel_order(channels, ids)


def channel_order(channels: Mapping[uuid.UUID, Sequence[str]], ids: Sequence[uuid.UUID]) -> list[str]:
    """The channels of the sends ``ids`` (``channels``: each send's, as ``send_channels`` reads them), in
    order of first use."""
    return list(dict.fromkeys(name for send_id in ids for name in channels.get(send_id, ())))


async def hourly_buckets(
    conn: asyncpg.Connection, project_id: uuid.UUID, send_ids: list[uuid.UUID]
) -> dict[tuple[uuid.UUID, str, datetime], Bucket]:
    """Each send's figures per channel and hour, oldest hour first."""
    buckets: dict[tuple[uuid.UUID, str, datetime], Bucket] = {}
    for counted in await channel_counts(conn, project_id, send_ids, hourly=True):
        assert counted.hour is not None
        key = (counted.send_id, counted.channel, counted.hour)
        buckets.setdefault(key, Bucket(*key)).figures.add_counters(counted.counters)
    for tally in await feedback_tallies(conn, project_id, send_ids, hourly=True):
        assert tally.hour is not None
        key = (tally.send_id, tally.channel, tally.hour)
        buckets.setdefault(key, Bucket(*key)).figures.add_tally(tally)
    return _oldest_first(buckets)


def _oldest_first(
    buckets: Mapping[tuple[uuid.UUID, str, datetime], Bucket],
) -> dict[tuple[uuid.UUID, str, datetime], Bucket]:
    return dict(sorted(buckets.items(), key=lambda item: (item[0][2], str(item[0][0]))))


def _hours_in_order(hours: Iterable[Bucket], channels: Sequence[ChannelFigures]) -> list[Bucket]:
    """Oldest first, the channels of an hour in the order of ``channels``."""
    order = {channel.channel: position for position, channel in enumerate(channels)}
    return sorted(hours, key=lambda bucket: (bucket.start, order.get(bucket.channel, len(order))))


def add_converted(stats: SendStats, rows: Iterable[Converted]) -> None:
    """Count the conversions of ``stats``' sends among ``rows`` in its total, channels and hours."""
    mine = set(stats.send_ids)
    channels = {channel.channel: channel for channel in stats.channels}
    hours = {(bucket.channel, bucket.start): bucket for bucket in stats.hours}
    for row in rows:
        if row.send_id not in mine:
            continue
        stats.total.figures.converted += row.profiles
        if row.channel not in channels:
            channels[row.channel] = ChannelFigures(row.channel)
            stats.channels.append(channels[row.channel])
        channels[row.channel].figures.converted += row.profiles
        hour = hours.setdefault((row.channel, row.hour), Bucket(None, row.channel, row.hour))
        hour.figures.converted += row.profiles
    stats.hours = _hours_in_order(hours.values(), stats.channels)


def add_converted_buckets(
    buckets: Mapping[tuple[uuid.UUID, str, datetime], Bucket], rows: Iterable[Converted]
) -> dict[tuple[uuid.UUID, str, datetime], Bucket]:
    """``buckets`` (as :func:`hourly_buckets` reads them) with the conversions of ``rows`` counted."""
    counted = dict(buckets)
    for row in rows:
        key = (row.send_id, row.channel, row.hour)
        counted.setdefault(key, Bucket(*key)).figures.converted += row.profiles
    return _oldest_first(counted)


async def send_stats(pool: asyncpg.Pool, project_id: uuid.UUID, texts: Sequence[str]) -> SendStats:
    """GetSendStats: the sends named by ``texts`` (ids), added together, read in one snapshot."""
    ids = send_ids_of(texts)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        return await read_stats(conn, project_id, ids, await _channels_of(conn, project_id, texts, ids))


async def read_stats(
    conn: asyncpg.Connection, project_id: uuid.UUID, ids: list[uuid.UUID], channel_order: Sequence[str]
) -> SendStats:
    """The sends ``ids`` (of the project, any number) added together; ``channel_order``: their channels
    in the order to show them (see :func:`channel_order`)."""
    channels = {name: ChannelFigures(name) for name in channel_order}

    def channel(name: str) -> Figures:
        return channels.setdefault(name, ChannelFigures(name)).figures

    hours: dict[tuple[str, datetime], Bucket] = {}
    for (_, name, start), bucket in (await hourly_buckets(conn, project_id, ids)).items():
        hours.setdefault((name, start), Bucket(None, name, start)).figures.add(bucket.figures)
    total = ChannelFigures("")
    for counts in (await send_counts(conn, project_id, ids)).values():
        total.figures.add_counters(counts.counters)
    for counted in await channel_counts(conn, project_id, ids, hourly=False):
        channel(counted.channel).add_counters(counted.counters)
    for tally in await feedback_tallies(conn, project_id, ids, hourly=False):
        channel(tally.channel).add_tally(tally)
        total.figures.add_tally(tally)
    shown = list(channels.values())
    return SendStats(ids, total, shown, _hours_in_order(hours.values(), shown))


async def export_rows(pool: asyncpg.Pool, project_id: uuid.UUID, texts: Sequence[str]) -> list[Bucket]:
    """ExportSendStats: the sends' figures per send, channel and hour."""
    ids = send_ids_of(texts)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        await _channels_of(conn, project_id, texts, ids)
        return list((await hourly_buckets(conn, project_id, ids)).values())
