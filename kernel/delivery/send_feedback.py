"""Per-send feedback statistics: how many delivered, opened, clicked, bounced, ... events each bulk send
received, per channel, in total and per hour; and how many messages were opened and clicked.

The message log keeps no per-message feedback (it is append-only, and a row per open would make it
grow with every webhook), so the counts are kept here, added to once per webhook batch, in one
statement: the totals (``send_feedback``, read by GetSend), the hours (``send_feedback_hours``, the
hour the provider says the event happened, UTC) and the messages opened or clicked
(``send_feedback_messages``). Events count as the providers reported them: an open reported twice (a
provider redelivering a webhook it thinks lost, a reader opening the message again) counts twice in
``events``; ``messages`` counts an open or a click only for the first one of its message, which is what
an open or click rate is made of. Delivery and bounce reports, once per message, need no such row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from kernel.channels import FeedbackKind

#: send id -> channel -> feedback kind -> events.
FeedbackCounts = dict[uuid.UUID, dict[str, dict[str, int]]]
#: The kinds counted once per message beside their events.
PER_MESSAGE = (FeedbackKind.OPENED.value, FeedbackKind.CLICKED.value)

# Rows are written in key order in each table, so that two batches of the same sends never wait on each
# other in a cycle. A message's first open is counted in the hour of its earliest open in the batch.
_COUNT = """
WITH event AS (
    SELECT * FROM unnest($3::uuid[], $4::uuid[], $5::text[], $6::timestamptz[])
        AS e(send_id, message_id, kind, hour)
), firsts AS (
    INSERT INTO send_feedback_messages (project_id, send_id, message_id, kind)
    SELECT DISTINCT $1::uuid, send_id, message_id, kind FROM event WHERE kind = any($7::text[])
    ORDER BY 2, 3, 4
    ON CONFLICT DO NOTHING
    RETURNING send_id, message_id, kind
), first_hours AS (
    SELECT f.send_id, f.kind, min(e.hour) AS hour FROM firsts f
    JOIN event e USING (send_id, message_id, kind)
    GROUP BY f.send_id, f.message_id, f.kind
), hourly AS (
    SELECT send_id, kind, hour, e.events, coalesce(f.messages, 0) AS messages
    FROM (SELECT send_id, kind, hour, count(*) AS events FROM event GROUP BY send_id, kind, hour) AS e
    LEFT JOIN (SELECT send_id, kind, hour, count(*) AS messages FROM first_hours
               GROUP BY send_id, kind, hour) AS f USING (send_id, kind, hour)
), hours AS (
    INSERT INTO send_feedback_hours (project_id, send_id, channel, kind, hour, events, messages)
    SELECT $1, send_id, $2, kind, hour, events, messages FROM hourly ORDER BY send_id, kind, hour
    ON CONFLICT (project_id, send_id, channel, kind, hour) DO UPDATE
    SET events = send_feedback_hours.events + excluded.events,
        messages = send_feedback_hours.messages + excluded.messages
)
INSERT INTO send_feedback (project_id, send_id, channel, kind, events, messages)
SELECT $1, send_id, $2, kind, sum(events), sum(messages) FROM hourly
GROUP BY send_id, kind ORDER BY send_id, kind
ON CONFLICT (project_id, send_id, channel, kind)
DO UPDATE SET events = send_feedback.events + excluded.events,
              messages = send_feedback.messages + excluded.messages
"""


@dataclass(frozen=True, slots=True)
class SendReport:
    """A provider's report on a bulk message."""

    send_id: uuid.UUID
    message_id: uuid.UUID
    kind: FeedbackKind
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class FeedbackTally:
    """Reports of one kind on a send's channel, in one hour or (``hour`` None) in all."""

    send_id: uuid.UUID
    channel: str
    kind: str
    hour: datetime | None
    events: int
    #: Messages reported for the first time (opens and clicks; 0 for the other kinds).
    messages: int


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


async def count_feedback(
    conn: asyncpg.Connection, project_id: uuid.UUID, channel: str, reports: Iterable[SendReport]
) -> None:
    """Add ``reports`` (of ``channel``), one statement for the batch, in ``conn``'s transaction."""
    batch = list(reports)
    if not batch:
        return
    await conn.execute(
        _COUNT,
        project_id,
        channel,
        [report.send_id for report in batch],
        [report.message_id for report in batch],
        [report.kind.value for report in batch],
        [_hour(report.occurred_at) for report in batch],
        list(PER_MESSAGE),
    )


async def feedback_counts(
    conn: asyncpg.Connection | asyncpg.Pool, project_id: uuid.UUID, send_ids: Sequence[uuid.UUID]
) -> FeedbackCounts:
    """The feedback events counted so far for ``send_ids`` (a send without any is absent)."""
    counts: FeedbackCounts = {}
    for tally in await feedback_tallies(conn, project_id, send_ids, hourly=False):
        counts.setdefault(tally.send_id, {}).setdefault(tally.channel, {})[tally.kind] = tally.events
    return counts


async def feedback_tallies(
    conn: asyncpg.Connection | asyncpg.Pool,
    project_id: uuid.UUID,
    send_ids: Sequence[uuid.UUID],
    *,
    hourly: bool,
) -> list[FeedbackTally]:
    """The reports on ``send_ids`` by send, channel and kind; per hour when ``hourly`` (oldest first)."""
    table, hour = ("send_feedback_hours", "hour") if hourly else ("send_feedback", "NULL::timestamptz")
    rows = await conn.fetch(
        f"""SELECT send_id, channel, kind, {hour} AS hour, events, messages FROM {table}
            WHERE project_id = $1 AND send_id = any($2::uuid[]) ORDER BY send_id, {hour}, channel, kind""",
        project_id,
        list(send_ids),
    )
    return [FeedbackTally(*row) for row in rows]
