"""Conversions: profiles who did an event within a window after a message of a set of sends.

A conversion is attributed to the last message the profile received from the sends (a campaign's) before
the event, and counts when the event came within the window after that message; a profile converts at
most once per send however many events it did, with its first converting event (whose hour it counts
in). The event index by name and time (``events_name_time``) bounds the events read to those from the
sends' first message to the window's end after their last; the message log's index by profile finds each
one's last message.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

_CONVERTED = """
WITH messages AS (
    SELECT min(logged_at) AS first, max(logged_at) AS last FROM message_log
    WHERE project_id = $1 AND send_id = any($2::uuid[]) AND outcome = 'sent'
), converted AS (
    SELECT DISTINCT ON (e.profile_id, last.send_id) last.send_id, last.channel, e.occurred_at
    FROM messages f
    JOIN events e ON e.project_id = $1 AND e.name = $3
        AND e.occurred_at >= f.first AND e.occurred_at < f.last + $4::interval
    CROSS JOIN LATERAL (
        SELECT m.send_id, m.channel, m.logged_at FROM message_log m
        WHERE m.project_id = $1 AND m.profile_id = e.profile_id AND m.send_id = any($2::uuid[])
          AND m.outcome = 'sent' AND m.logged_at <= e.occurred_at
        ORDER BY m.logged_at DESC LIMIT 1
    ) AS last
    WHERE e.occurred_at < last.logged_at + $4::interval
    ORDER BY e.profile_id, last.send_id, e.occurred_at
)
SELECT send_id, channel, date_trunc('hour', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour,
       count(*) AS converted
FROM converted GROUP BY 1, 2, 3
"""


@dataclass(frozen=True, slots=True)
class Converted:
    """Profiles converted by messages of one send on one channel, in one hour (UTC) of their events."""

    send_id: uuid.UUID
    channel: str
    hour: datetime
    profiles: int


async def converted(
    conn: asyncpg.Connection | asyncpg.Pool,
    project_id: uuid.UUID,
    send_ids: Sequence[uuid.UUID],
    event: str,
    window: timedelta,
) -> list[Converted]:
    """Profiles converted per send, channel and hour: ``event`` within ``window`` after the last message
    of ``send_ids`` they received before it."""
    rows = await conn.fetch(_CONVERTED, project_id, list(send_ids), event, window)
    return [Converted(*row) for row in rows]


async def conversions(
    conn: asyncpg.Connection | asyncpg.Pool,
    project_id: uuid.UUID,
    send_ids: Sequence[uuid.UUID],
    event: str,
    window: timedelta,
) -> dict[uuid.UUID, int]:
    """Profiles converted per send (every send of ``send_ids``, 0 for none), as :func:`converted`."""
    found = dict.fromkeys(send_ids, 0)
    for part in await converted(conn, project_id, send_ids, event, window):
        found[part.send_id] += part.profiles
    return found
