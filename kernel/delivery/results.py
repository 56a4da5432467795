"""Recording what became of transactional messages retried by the workers (bulk messages: see
:mod:`kernel.delivery.slice_outcomes`): one bulk UPDATE of their rows and the consequences (dead addresses
pruned, unsubscribes suppressed), in one transaction.

Only rows still leased by this worker are updated: if the worker was taken for dead and another took a
message over, the other's result is the one recorded. A message whose status is final loses what only a
message not yet final needs: its due time and its kept payload.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from kernel.channels import ChannelSpec, FailureReason, Outcome, SendResult
from kernel.delivery.claims import among
from kernel.delivery.outcomes import Attempt, apply_consequences
from kernel.delivery.retry import RetryPolicy
from kernel.outhooks import EventType, OutgoingEvent, followed_sql, publish

# Rows are found through "= any(array)" on the primary key, never a join with the arrays: a join's plan
# follows statistics of status and lease_owner that the workers keep changing, and a bad one scans the
# table once per row. Accepted messages (nearly all) share one statement; per-row values come from a
# jsonb map keyed by message id.
_SENT = f"""
UPDATE messages SET status = 'sent', attempts = attempts + 1, provider_id = {{provider_id}},
       failure_reason = '', detail = '', lease_until = NULL, updated_at = now(){{final}}
WHERE project_id = $1 AND {among("message_id", "$3::uuid[]")} AND status = 'leased' AND lease_owner = $2
RETURNING message_id, profile_id, channel, provider_id,
          {followed_sql("$1", EventType.MESSAGE_SENT)} AS followed"""
# One provider id for the whole batch (SparkPost's transmission id) or one per message (looked up by id).
_SHARED = "$4"
_VARYING = "coalesce($5::jsonb ->> message_id::text, $4)"
# A transactional message leased has its lease's end as due time (see kernel.delivery.claims).
_TRANSACTIONAL_SENT = ", next_attempt_at = NULL, payload = NULL"
_SENT_STATEMENTS = {
    varying: _SENT.format(provider_id=_VARYING if varying else _SHARED, final=_TRANSACTIONAL_SENT)
    for varying in (False, True)
}
_OTHERS = f"""
WITH updated AS (
    UPDATE messages m SET
        status = CASE WHEN $5 = 'cancelled' AND $4::jsonb -> m.message_id::text ->> 0 IN ('retry', 'planned')
                      THEN 'cancelled' ELSE $4::jsonb -> m.message_id::text ->> 0 END,
        attempts = m.attempts + ($4::jsonb -> m.message_id::text ->> 5)::int,
        provider_id = $4::jsonb -> m.message_id::text ->> 1,
        failure_reason = $4::jsonb -> m.message_id::text ->> 2,
        detail = $4::jsonb -> m.message_id::text ->> 3,
        next_attempt_at = CASE
            WHEN $5 <> 'cancelled' AND $4::jsonb -> m.message_id::text ->> 0 IN ('retry', 'planned')
            THEN now() + make_interval(secs => ($4::jsonb -> m.message_id::text ->> 4)::float8) END,
        lease_until = NULL, updated_at = now(){{final}}
    WHERE m.project_id = $1 AND {among("m.message_id", "$3::uuid[]")} AND m.status = 'leased'
      AND m.lease_owner = $2
    RETURNING m.status AS status, $4::jsonb -> m.message_id::text ->> 0 AS outcome
)
SELECT count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'expired') AS expired,
       count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
       count(*) FILTER (WHERE outcome = 'retry') AS retries,
       count(*) FILTER (WHERE outcome = 'planned') AS deferred
FROM updated
"""
_TRANSACTIONAL_OTHERS = _OTHERS.format(
    final=", payload = CASE WHEN $4::jsonb -> m.message_id::text ->> 0 = 'retry' THEN m.payload END"
)
#: A transactional message belongs to no send, so nothing cancels it.
_NO_SEND = "running"


@dataclass(slots=True)
class BatchOutcome:
    """What became of each message of one claimed batch: the accepted ones in columns, the others (few)
    as rows ``[status, provider_id, reason, detail, delay, attempted]`` keyed by message id."""

    sent_ids: list[uuid.UUID] = field(default_factory=list)
    sent_provider_ids: list[str] = field(default_factory=list)
    others: dict[str, list[Any]] = field(default_factory=dict)
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
        self.others[str(message_id)] = [status, provider_id, reason, detail[:1000], delay, int(attempted)]

    def sent(self, message_ids: Sequence[uuid.UUID], provider_ids: Sequence[str]) -> None:
        """Accepted messages, in bulk (the common case)."""
        self.sent_ids += message_ids
        self.sent_provider_ids += provider_ids

    def settle(
        self,
        spec: ChannelSpec,
        message_id: uuid.UUID,
        address: str,
        result: SendResult,
        *,
        attempts: int,
        age: float,
        policy: RetryPolicy,
        rng: random.Random,
    ) -> str:
        """A result the provider did not accept, for a message tried ``attempts`` times before, first
        ``age`` seconds ago: failed for good (with its consequences), or due again after the retry
        policy's delay, or expired when that would be past the maximum age. Returns the status given."""
        if result.outcome is Outcome.FAILED:
            self.add(
                message_id,
                "failed",
                attempted=True,
                reason=failure_reason(result),
                detail=result.detail,
                provider_id=result.provider_id,
            )
            if result.prunes_address or result.reason is FailureReason.UNSUBSCRIBED:
                self.consequences.append((spec, Attempt(message_id, address, result)))
            return "failed"
        delay = policy.next_delay(attempts + 1, result.retry_after, age, rng)
        if delay is None:
            self.add(message_id, "expired", attempted=True, detail=result.detail)
            return "expired"
        self.add(message_id, "retry", attempted=True, detail=result.detail, delay=delay)
        return "retry"


def failure_reason(result: SendResult) -> str:
    """The reason a permanent failure is recorded with (``rejected`` when the channel gave none)."""
    return result.reason.value if result.reason else FailureReason.REJECTED.value


async def record_transactional(
    conn: asyncpg.Connection, project_id: uuid.UUID, owner: str, outcome: BatchOutcome
) -> None:
    """Store the outcome of transactional messages of ``project_id`` that ``owner`` still holds."""
    async with conn.transaction():
        await _record_sent(conn, project_id, owner, outcome)
        if outcome.others:
            ids = [uuid.UUID(message_id) for message_id in outcome.others]
            await conn.fetchrow(_TRANSACTIONAL_OTHERS, project_id, owner, ids, outcome.others, _NO_SEND)
        await _apply_consequences(conn, project_id, outcome)


async def _record_sent(
    conn: asyncpg.Connection, project_id: uuid.UUID, owner: str, outcome: BatchOutcome
) -> int:
    """Store the accepted messages and report them to outgoing webhooks; returns how many were still
    held by ``owner``."""
    if not outcome.sent_ids:
        return 0
    common = outcome.sent_provider_ids[0]
    varying = {
        str(message_id): provider_id
        for message_id, provider_id in zip(outcome.sent_ids, outcome.sent_provider_ids, strict=True)
        if provider_id != common
    }
    statement = _SENT_STATEMENTS[bool(varying)]
    arguments = (project_id, owner, outcome.sent_ids, common, *([varying] if varying else []))
    sent = await conn.fetch(statement, *arguments)
    if sent and sent[0]["followed"]:
        await publish(conn, project_id, [_sent_event(row) for row in sent])
    return len(sent)


def _sent_event(row: asyncpg.Record) -> OutgoingEvent:
    data = {
        "channel": row["channel"],
        "message_id": str(row["message_id"]),
        "profile_id": str(row["profile_id"] or ""),
        "provider_id": row["provider_id"],
    }
    return OutgoingEvent(EventType.MESSAGE_SENT, data, row["profile_id"])


async def _apply_consequences(conn: asyncpg.Connection, project_id: uuid.UUID, outcome: BatchOutcome) -> None:
    by_channel: dict[str, list[Attempt]] = defaultdict(list)
    specs = {}
    for spec, attempt in outcome.consequences:
        by_channel[spec.name].append(attempt)
        specs[spec.name] = spec
    for name, attempts in by_channel.items():
        await apply_consequences(conn, project_id, specs[name], attempts)
