"""Recording what became of a claimed batch: one bulk UPDATE of its messages, the send's counters, and
the consequences (dead addresses pruned, unsubscribes suppressed), in one transaction.

Only rows still leased by this worker are updated: if the worker was taken for dead and another took a
message over, the other's result is the one recorded, so a message is counted once. The send row is
locked first (as CreateSend, CancelSend and the outbox filler do), so a cancellation cannot slip between
reading the send's state and writing the messages: a retry or a deferral of a cancelled send's message
turns it into ``cancelled``. ``lease_owner`` is left in place: it tells which worker sent the message.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from kernel.channels import ChannelSpec
from kernel.delivery.outcomes import Attempt, apply_consequences
from kernel.delivery.send_state import complete_if_done

_UPDATE = """
WITH o AS (
    SELECT * FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::float8[], $9::bool[])
        AS o(message_id, status, provider_id, reason, detail, delay, attempted)
),
updated AS (
    UPDATE messages m SET
        status = CASE WHEN $10 = 'cancelled' AND o.status IN ('retry', 'planned') THEN 'cancelled'
                      ELSE o.status END,
        attempts = m.attempts + o.attempted::int,
        provider_id = o.provider_id, failure_reason = o.reason, detail = o.detail,
        next_attempt_at = CASE WHEN $10 <> 'cancelled' AND o.status IN ('retry', 'planned')
                               THEN now() + make_interval(secs => o.delay) END,
        lease_until = NULL, updated_at = now()
    FROM o
    WHERE m.project_id = $1 AND m.message_id = o.message_id AND m.status = 'leased' AND m.lease_owner = $2
    RETURNING m.status AS status, o.status AS outcome
)
SELECT count(*) FILTER (WHERE status = 'sent') AS sent,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'expired') AS expired,
       count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
       count(*) FILTER (WHERE outcome = 'retry') AS retries,
       count(*) FILTER (WHERE outcome = 'planned') AS deferred
FROM updated
"""


@dataclass(slots=True)
class BatchOutcome:
    """What became of each message of one claimed batch, in columns (one bulk UPDATE)."""

    message_ids: list[uuid.UUID] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    provider_ids: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    delays: list[float | None] = field(default_factory=list)
    attempted: list[bool] = field(default_factory=list)
    #: Failures with consequences (dead address, unsubscribed), with their channel.
    consequences: list[tuple[ChannelSpec, Attempt]] = field(default_factory=list)

    def add(
        self,
        message_id: uuid.UUID,
        status: str,
        *,
        attempted: bool,
        provider_id: str = "",
        reason: str = "",
        detail: str = "",
        delay: float | None = None,
    ) -> None:
        self.message_ids.append(message_id)
        self.statuses.append(status)
        self.provider_ids.append(provider_id)
        self.reasons.append(reason)
        self.details.append(detail[:1000])
        self.delays.append(delay)
        self.attempted.append(attempted)

    def sent(self, message_ids: Sequence[uuid.UUID], provider_ids: Sequence[str]) -> None:
        """Accepted messages, in bulk (the common case)."""
        count = len(message_ids)
        self.message_ids += message_ids
        self.statuses += ["sent"] * count
        self.provider_ids += provider_ids
        self.reasons += [""] * count
        self.details += [""] * count
        self.delays += [None] * count
        self.attempted += [True] * count


async def record(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    send_id: uuid.UUID,
    owner: str,
    outcome: BatchOutcome,
    *,
    paced: bool,
) -> dict[str, int]:
    """Store the batch's outcome; returns the counts of the transitions actually made."""
    async with conn.transaction():
        state = await conn.fetchval(
            "SELECT state FROM sends WHERE project_id = $1 AND send_id = $2 FOR UPDATE", project_id, send_id
        )
        counts = dict(
            await conn.fetchrow(
                _UPDATE,
                project_id,
                owner,
                outcome.message_ids,
                outcome.statuses,
                outcome.provider_ids,
                outcome.reasons,
                outcome.details,
                outcome.delays,
                outcome.attempted,
                state,
            )
        )
        await conn.execute(
            """UPDATE sends SET sent = sent + $3, failed = failed + $4, expired = expired + $5,
                      cancelled = cancelled + $6, retries = retries + $7,
                      pace_released = pace_released - CASE WHEN $8 THEN $9 ELSE 0 END, updated_at = now()
               WHERE project_id = $1 AND send_id = $2""",
            project_id,
            send_id,
            counts["sent"],
            counts["failed"],
            counts["expired"],
            counts["cancelled"],
            counts["retries"],
            paced,
            counts["deferred"],
        )
        by_channel: dict[str, list[Attempt]] = defaultdict(list)
        specs = {}
        for spec, attempt in outcome.consequences:
            by_channel[spec.name].append(attempt)
            specs[spec.name] = spec
        for name, attempts in by_channel.items():
            await apply_consequences(conn, project_id, specs[name], attempts)
        await complete_if_done(conn, project_id, send_id)
    return counts
