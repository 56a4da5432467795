"""What a send result does to the world: the message row, the profiles' addresses, the suppression list.

Shared by transactional sends and the bulk sender, so both react to a dead token or an unsubscribed
recipient the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from kernel.channels import ChannelSpec, FailureReason, Outcome, SendResult
from kernel.delivery.suppressions import suppress_address

#: Retry delay when the provider gave none: the bulk sender's backoff policy refines this.
DEFAULT_RETRY_SECONDS = 30.0

_STATUS = {Outcome.ACCEPTED: "sent", Outcome.RETRY: "retry", Outcome.FAILED: "failed"}


@dataclass(frozen=True, slots=True)
class Attempt:
    message_id: uuid.UUID
    address: str
    result: SendResult


async def record_outcomes(
    conn: asyncpg.Connection, project_id: uuid.UUID, spec: ChannelSpec, attempts: Sequence[Attempt]
) -> None:
    """Store each attempt's result; prune dead addresses; suppress addresses refused for good."""
    await conn.executemany(
        """UPDATE messages SET status = $3, attempts = attempts + 1, provider_id = $4, failure_reason = $5,
                  detail = $6, next_attempt_at = CASE WHEN $3 = 'retry'
                      THEN now() + make_interval(secs => $7) END,
                  lease_owner = NULL, lease_until = NULL, updated_at = now()
           WHERE project_id = $1 AND message_id = $2""",
        [
            (
                project_id,
                a.message_id,
                _STATUS[a.result.outcome],
                a.result.provider_id,
                a.result.reason.value if a.result.reason else "",
                a.result.detail[:1000],
                a.result.retry_after if a.result.retry_after is not None else DEFAULT_RETRY_SECONDS,
            )
            for a in attempts
        ],
    )
    await apply_consequences(conn, project_id, spec, attempts)


async def apply_consequences(
    conn: asyncpg.Connection, project_id: uuid.UUID, spec: ChannelSpec, attempts: Sequence[Attempt]
) -> None:
    """Prune the addresses found dead and suppress those whose owner unsubscribed at the provider."""
    kind = spec.capabilities.address_kind.value
    dead = [a.address for a in attempts if a.result.prunes_address]
    if dead:
        await prune_addresses(conn, project_id, kind, dead)
    for attempt in attempts:
        if attempt.result.reason is FailureReason.UNSUBSCRIBED:
            await suppress_address(conn, project_id, kind, attempt.address, "unsubscribed", spec.name)


async def prune_addresses(
    conn: asyncpg.Connection, project_id: uuid.UUID, kind: str, addresses: list[str]
) -> None:
    """Remove dead addresses from every profile of the project: a dead token is dead for everyone."""
    await conn.execute(
        "DELETE FROM profile_addresses WHERE project_id = $1 AND kind = $2 AND value = any($3::text[])",
        project_id,
        kind,
        addresses,
    )
