"""Per-send feedback statistics: how many delivered, opened, clicked, bounced, ... events each bulk send
received, per channel.

The message log keeps no per-message feedback (it is append-only, and a row per open would make it
grow with every webhook), so the counts are kept here, one row per send, channel and kind, added to once
per webhook batch. They count the events the providers reported: an open reported twice (by a provider
redelivering a webhook it thinks lost) counts twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

import asyncpg

from kernel.channels import FeedbackKind

#: send id -> channel -> feedback kind -> events.
FeedbackCounts = dict[uuid.UUID, dict[str, dict[str, int]]]


async def count_feedback(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    channel: str,
    events: Iterable[tuple[uuid.UUID, FeedbackKind]],
) -> None:
    """Add ``events`` (send id, kind), one statement for the batch, in ``conn``'s transaction. Rows are
    updated in key order, so that two batches of the same sends never wait on each other in a cycle."""
    pairs = list(events)
    if not pairs:
        return
    await conn.execute(
        """INSERT INTO send_feedback (project_id, send_id, channel, kind, events)
           SELECT $1, send_id, $2, kind, count(*) FROM unnest($3::uuid[], $4::text[]) AS e(send_id, kind)
           GROUP BY send_id, kind ORDER BY send_id, kind
           ON CONFLICT (project_id, send_id, channel, kind)
           DO UPDATE SET events = send_feedback.events + excluded.events""",
        project_id,
        channel,
        [send_id for send_id, _ in pairs],
        [kind.value for _, kind in pairs],
    )


async def feedback_counts(
    conn: asyncpg.Connection | asyncpg.Pool, project_id: uuid.UUID, send_ids: Sequence[uuid.UUID]
) -> FeedbackCounts:
    """The feedback counted so far for ``send_ids`` (a send without any is absent)."""
    counts: FeedbackCounts = {}
    for row in await conn.fetch(
        """SELECT send_id, channel, kind, events FROM send_feedback
           WHERE project_id = $1 AND send_id = any($2::uuid[])""",
        project_id,
        list(send_ids),
    ):
        counts.setdefault(row["send_id"], {}).setdefault(row["channel"], {})[row["kind"]] = row["events"]
    return counts
