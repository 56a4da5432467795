"""Conversions: profiles who did an event within a window after a message of a set of sends.

A conversion is attributed to the last message the profile received from the sends (a campaign's) before
the event, and counts when the event came within the window after that message; a profile converts at
most once per send however many events it did. The event index by name and time
(``events_name_time``) bounds the events read to those after the sends' first message; the message log's
index by profile finds each one's last message.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

import asyncpg

_CONVERTED = """
WITH first_message AS (
    SELECT min(logged_at) AS at FROM message_log
    WHERE project_id = $1 AND send_id = any($2::uuid[]) AND outcome = 'sent'
)
SELECT last.send_id, count(DISTINCT e.profile_id) AS converted
FROM first_message f
JOIN events e ON e.project_id = $1 AND e.name = $3 AND e.occurred_at >= f.at
CROSS JOIN LATERAL (
    SELECT m.send_id, m.logged_at FROM message_log m
    WHERE m.project_id = $1 AND m.profile_id = e.profile_id AND m.send_id = any($2::uuid[])
      AND m.outcome = 'sent' AND m.logged_at <= e.occurred_at
    ORDER BY m.logged_at DESC LIMIT 1
) AS last
WHERE e.occurred_at < last.logged_at + $4::interval
GROUP BY last.send_id
"""


async def conversions(
    conn: asyncpg.Connection | asyncpg.Pool,
    project_id: uuid.UUID,
    send_ids: Sequence[uuid.UUID],
    event: str,
    window: timedelta,
) -> dict[uuid.UUID, int]:
    """Profiles converted per send (every send of ``send_ids``, 0 for none): ``event`` within ``window``
    after the last message of ``send_ids`` they received before it."""
    rows = await conn.fetch(_CONVERTED, project_id, list(send_ids), event, window)
    found = {row["send_id"]: row["converted"] for row in rows}
    return {send_id: found.get(send_id, 0) for send_id in send_ids}
