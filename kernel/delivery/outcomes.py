"""What a send result does to the world beyond its message row: the profiles' addresses, the
suppression list.

Shared by transactional sends and the bulk sender (:mod:`kernel.delivery.results`), so both react to a
dead token or an unsubscribed recipient the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from kernel.channels import ChannelSpec, FailureReason, SendResult
from kernel.delivery.suppressions import suppress_address
from kernel.profiles.newest_addresses import settle_newest


@dataclass(frozen=True, slots=True)
class Attempt:
    #: A bulk message's in text form, a transactional message's as stored.
    message_id: uuid.UUID | str
    address: str
    result: SendResult


async def apply_consequences(
    conn: asyncpg.Connection, project_id: uuid.UUID, spec: ChannelSpec, attempts: Sequence[Attempt]
) -> None:
    """Prune the addresses found dead and suppress those whose owner unsubscribed at the provider."""
    kind = spec.capabilities.address_kind
    dead = [a.address for a in attempts if a.result.prunes_address]
    if dead:
        await prune_addresses(conn, project_id, kind, dead)
    for attempt in attempts:
        if attempt.result.reason is FailureReason.UNSUBSCRIBED:
            await suppress_address(conn, project_id, kind, attempt.address, "unsubscribed", spec.name)


async def prune_addresses(
    conn: asyncpg.Connection, project_id: uuid.UUID, kind: str, addresses: list[str]
) -> None:
    """Remove dead addresses from every profile of the project: a dead token is dead for everyone. Their
    holders' newest of the kind is settled again (kernel.profiles.newest_addresses), under the lock that
    the settling takes to order it with the other address writers."""
    holders = await conn.fetch(
        """DELETE FROM profile_addresses WHERE project_id = $1 AND kind = $2 AND value = any($3::text[])
           RETURNING profile_id""",
        project_id,
        kind,
        addresses,
    )
    await settle_newest(conn, project_id, [row[0] for row in holders])
