"""Whom a bulk message id names: its send, found from the id alone, and the profile it was sent to.

A bulk message id starts with the first 8 bytes of its send's id (:mod:`kernel.delivery.send_ids`),
which the unique index ``sends_message_id_prefix_v2`` finds. The message log holds the recipient but is
indexed by profile only (one index keeps its appends cheap), so the profile is looked for among the
holders of the event's address (by its key, as the id was computed: folded for an email; the folded form
probes the index), and, when several profiles share the address, narrowed to those whose log row has the
id. When none of them has one (the day was dropped past retention, the message still waits for a retry),
every holder is kept, as for an event without an id.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

import asyncpg

from kernel.profiles.identifier_keys import folded, identifier_key_sql

# One statement for a webhook batch. The log is probed only for an address several profiles hold
# (CASE evaluates its branch only when needed), through its index on (project, profile).
_RECIPIENTS = f"""
WITH event AS (
    SELECT * FROM unnest($3::uuid[], $4::text[]) AS e(message_id, address)
), holder AS (
    SELECT event.message_id, s.send_id, a.profile_id,
           count(a.profile_id) OVER (PARTITION BY event.message_id) AS holders
    FROM event
    JOIN sends s ON s.project_id = $1 AND $2 = any(s.channels)
     AND substr(uuid_send(s.send_id), 1, 8) = substr(uuid_send(event.message_id), 1, 8)
    LEFT JOIN profile_addresses a ON a.project_id = $1 AND a.kind = $5
     AND {folded("a.value")} = {folded("event.address")}
     AND {identifier_key_sql("a.kind", "a.value")} = {identifier_key_sql("a.kind", "event.address")}
)
SELECT message_id, send_id, profile_id,
       CASE WHEN holders > 1 THEN EXISTS (
           SELECT FROM message_log l
           WHERE l.project_id = $1 AND l.profile_id = holder.profile_id AND l.message_id = holder.message_id)
       END AS logged
FROM holder
"""


@dataclass(frozen=True, slots=True)
class BulkRecipient:
    send_id: uuid.UUID
    #: Empty when no profile holds the address any more.
    profile_ids: list[uuid.UUID] = field(default_factory=list)


async def bulk_recipients(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    channel: str,
    address_kind: str,
    addresses: Mapping[uuid.UUID, str],
) -> dict[uuid.UUID, BulkRecipient]:
    """The send and recipients of each message id of ``addresses`` (id -> the address the provider
    reported) that is a bulk message id of ``channel`` in the project; the other ids are left out."""
    if not addresses:
        return {}
    rows = await conn.fetch(
        _RECIPIENTS, project_id, channel, list(addresses), list(addresses.values()), address_kind
    )
    holders: dict[uuid.UUID, BulkRecipient] = {}
    logged: dict[uuid.UUID, list[uuid.UUID]] = {}
    for row in rows:
        recipient = holders.setdefault(row["message_id"], BulkRecipient(row["send_id"]))
        if row["profile_id"] is not None:
            recipient.profile_ids.append(row["profile_id"])
        if row["logged"]:
            logged.setdefault(row["message_id"], []).append(row["profile_id"])
    return {
        message_id: BulkRecipient(recipient.send_id, logged.get(message_id) or recipient.profile_ids)
        for message_id, recipient in holders.items()
    }
