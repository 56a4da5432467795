"""The send steps' messages of a batch of walks, stored in one statement: each row as
:meth:`kernel.delivery.transactional.TransactionalSender.insert_leased` writes one (leased to its first
attempt, due again when the lease runs out, then sent by a sender worker with the same id)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from kernel.channels import ChannelSpec, OutboundMessage
from kernel.delivery.payloads import payload
from kernel.delivery.transactional import OWNER


@dataclass(frozen=True, slots=True)
class MessageRow:
    profile_id: uuid.UUID
    spec: ChannelSpec
    message: OutboundMessage


async def insert_leased_together(
    conn: asyncpg.Connection, project_id: uuid.UUID, lease: timedelta, rows: Sequence[MessageRow]
) -> None:
    if not rows:
        return
    await conn.execute(
        """INSERT INTO messages
               (project_id, message_id, profile_id, channel, address, status, lease_owner, lease_until,
                next_attempt_at, first_attempt_at, payload)
           SELECT $1, m.message_id, m.profile_id, m.channel, m.address, 'leased', $2, now() + $3::interval,
                  now() + $3::interval, now(), m.payload
           FROM unnest($4::uuid[], $5::uuid[], $6::text[], $7::text[], $8::jsonb[])
               AS m(message_id, profile_id, channel, address, payload)""",
        project_id,
        OWNER,
        lease,
        [uuid.UUID(row.message.message_id) for row in rows],
        [row.profile_id for row in rows],
        [row.spec.name for row in rows],
        [row.message.address for row in rows],
        [payload(row.message) for row in rows],
    )
