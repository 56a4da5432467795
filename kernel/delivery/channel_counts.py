"""Every statement on ``send_channel_audiences`` and ``send_channel_outcomes``: a send's figures per channel
and per hour.

They are kept per slice, as the slices' own counters are, so that workers recording outcomes of one send
side by side never wait on each other's rows; :mod:`kernel.delivery.slices` writes them in the
transactions that write the slices' counters, so that a send's channels always add up to the send. The
hour of an outcome is the hour (UTC) of its record; a slice's audience counts in the hour it was read.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from kernel.delivery.slice_counts import AUDIENCE, OUTCOMES, OutcomeCounts, SliceAudience

COUNTERS = AUDIENCE + OUTCOMES
# Both tables' rows of some sends in one shape, their audience rows in the hour they were read.
_ROWS = f"""
SELECT send_id, channel, date_trunc('hour', read_at, 'UTC') AS hour,
       {", ".join(AUDIENCE)}, {", ".join(f"0 AS {name}" for name in OUTCOMES)}
FROM send_channel_audiences WHERE project_id = $1 AND send_id = any($2::uuid[])
UNION ALL
SELECT send_id, channel, hour, {", ".join(f"0 AS {name}" for name in AUDIENCE)}, {", ".join(OUTCOMES)}
FROM send_channel_outcomes WHERE project_id = $1 AND send_id = any($2::uuid[])
"""
_ADDED = ", ".join(f"{name} = send_channel_outcomes.{name} + excluded.{name}" for name in OUTCOMES)
_SUMS = ", ".join(f"sum({name})::bigint AS {name}" for name in COUNTERS)


@dataclass(frozen=True, slots=True)
class ChannelCounts:
    """A send's counters on one channel, in one hour or (``hour`` None) in all."""

    send_id: uuid.UUID
    channel: str
    hour: datetime | None
    counters: Mapping[str, int]


async def set_audiences(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    send_id: uuid.UUID,
    slice_no: int,
    channels: Sequence[str],
    audience: SliceAudience,
) -> None:
    """Set the slice's audience figures of every channel of the send (zeros included: a slice read again
    may no longer hold a channel it held). Rows are written in key order, as everywhere on these tables."""
    figures = [audience.of_channel(position) for position in range(len(channels))]
    await conn.execute(
        f"""INSERT INTO send_channel_audiences (project_id, send_id, slice_no, channel, read_at,
                                                {", ".join(AUDIENCE)})
            SELECT $1, $2, $3, c.channel, now(), {", ".join(f"c.{name}" for name in AUDIENCE)}
            FROM unnest($4::text[], {", ".join(f"${i + 5}::int[]" for i in range(len(AUDIENCE)))})
                AS c(channel, {", ".join(AUDIENCE)})
            ORDER BY c.channel
            ON CONFLICT (project_id, send_id, slice_no, channel) DO UPDATE SET
                {", ".join(f"{name} = excluded.{name}" for name in AUDIENCE)}""",
        project_id,
        send_id,
        slice_no,
        list(channels),
        *([getattr(figure, name) for figure in figures] for name in AUDIENCE),
    )


async def add_outcomes(
    conn: asyncpg.Connection, project_id: uuid.UUID, send_id: uuid.UUID, counts: OutcomeCounts
) -> None:
    """Add outcomes to their slices' rows of their channels, in the current hour."""
    keys = sorted(counts)
    await conn.execute(
        f"""INSERT INTO send_channel_outcomes (project_id, send_id, slice_no, channel, hour,
                                               {", ".join(OUTCOMES)})
            SELECT $1, $2, c.slice_no, c.channel, date_trunc('hour', now(), 'UTC'),
                   {", ".join(f"c.{name}" for name in OUTCOMES)}
            FROM unnest($3::int[], $4::text[], {", ".join(f"${i + 5}::int[]" for i in range(len(OUTCOMES)))})
                AS c(slice_no, channel, {", ".join(OUTCOMES)})
            ORDER BY c.slice_no, c.channel
            ON CONFLICT (project_id, send_id, slice_no, channel, hour) DO UPDATE SET {_ADDED}""",
        project_id,
        send_id,
        [slice_no for slice_no, _ in keys],
        [channel for _, channel in keys],
        *([getattr(counts[key], name) for key in keys] for name in OUTCOMES),
    )


async def channel_counts(
    conn: asyncpg.Connection | asyncpg.Pool,
    project_id: uuid.UUID,
    send_ids: Iterable[uuid.UUID],
    *,
    hourly: bool,
) -> list[ChannelCounts]:
    """The counters of ``send_ids`` per send and channel, and per hour when ``hourly`` (oldest first)."""
    hour = ", hour" if hourly else ""
    rows = await conn.fetch(
        f"""SELECT send_id, channel{hour}, {_SUMS} FROM ({_ROWS}) AS c
            GROUP BY send_id, channel{hour} ORDER BY send_id{hour}, channel""",
        project_id,
        list(send_ids),
    )
    return [
        ChannelCounts(
            row["send_id"],
            row["channel"],
            row["hour"] if hourly else None,
            {name: row[name] for name in COUNTERS},
        )
        for row in rows
    ]


def per_send(counts: Iterable[ChannelCounts]) -> dict[uuid.UUID, dict[str, Mapping[str, int]]]:
    """Counts of all hours (``hourly=False``) by send, then channel."""
    found: dict[uuid.UUID, dict[str, Mapping[str, int]]] = {}
    for counted in counts:
        found.setdefault(counted.send_id, {})[counted.channel] = counted.counters
    return found
