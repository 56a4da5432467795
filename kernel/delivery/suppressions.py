"""The delivery suppression list: addresses never to be sent to again, kept as salted hashes.

An address is blocked when a provider reported it dead for good (hard bounce, spam complaint,
unsubscribe), and also when it belongs to a person erased with suppression. Both lists hash the
address's key (its folded spelling, :mod:`kernel.profiles.identifier_keys`) with the project's salt, so
checking needs the address while the stored list reveals none, and no other spelling gets through.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

import asyncpg

from kernel.profiles.identifier_keys import identifier_hash_sql, spelt_hash_sql


def suppression_joins_sql(hashed: str, marketing: str) -> str:
    """The joins that find an address's entries by the hash of its key, from the alias of a row with the
    columns ``hash`` and ``spelt`` (:mod:`kernel.profiles.identifier_keys`) and the SQL expression of
    whether the message is marketing; ``$1`` is the project. Read by :func:`blocking_reason_sql`."""
    return f"""LEFT JOIN delivery_suppressions d ON d.project_id = $1 AND d.identifier_sha256 = {hashed}.hash
        AND ({marketing} OR d.reason <> 'unsubscribed')
    LEFT JOIN suppressed_identifiers x ON x.project_id = $1 AND x.identifier_sha256 = {hashed}.hash"""


def blocking_reason_sql(hashed: str, marketing: str) -> str:
    """Why the address must not be sent to, NULL if it may be (arguments as
    :func:`suppression_joins_sql`).

    A spelling that is not its key may also match an entry stored before keys were folded: those are
    looked up one by one, so that only such spellings pay for it. Of two entries, the reason first by
    name wins, which puts a bounce or complaint before an unsubscribe.
    """
    return f"""coalesce(
        least(d.reason, CASE WHEN {hashed}.spelt IS NOT NULL THEN (
            SELECT min(o.reason) FROM delivery_suppressions o
            WHERE o.project_id = $1 AND o.identifier_sha256 = {hashed}.spelt
              AND ({marketing} OR o.reason <> 'unsubscribed')) END),
        CASE WHEN x.identifier_sha256 IS NOT NULL OR ({hashed}.spelt IS NOT NULL AND EXISTS (
            SELECT FROM suppressed_identifiers o
            WHERE o.project_id = $1 AND o.identifier_sha256 = {hashed}.spelt))
        THEN 'erased' END)"""


async def blocked_addresses(
    conn: asyncpg.Connection | asyncpg.Pool,
    project_id: uuid.UUID,
    addresses: Collection[tuple[str, str]],
    *,
    marketing: bool,
) -> dict[tuple[str, str], str]:
    """Which (address kind, address) pairs must not be sent to, with the reason (bounced, erased, ...).

    An unsubscribe reported by a provider (list-unsubscribe, SMS STOP) blocks marketing messages only;
    bounces, complaints and erasure block everything.
    """
    if not addresses:
        return {}
    kinds, values = zip(*addresses, strict=True)
    rows = await conn.fetch(
        f"""SELECT kind, value, reason FROM (
                SELECT w.kind, w.value, {blocking_reason_sql("w", "$4")} AS reason
                FROM (SELECT w.kind, w.value, {identifier_hash_sql("w.kind", "w.value")} AS hash,
                             {spelt_hash_sql("w.kind", "w.value")} AS spelt
                      FROM unnest($2::text[], $3::text[]) AS w(kind, value)
                      JOIN projects p ON p.project_id = $1) AS w
                {suppression_joins_sql("w", "$4")}) AS judged
            WHERE reason IS NOT NULL""",
        project_id,
        list(kinds),
        list(values),
        marketing,
    )
    return {(r["kind"], r["value"]): r["reason"] for r in rows}


async def suppress_address(
    conn: asyncpg.Connection, project_id: uuid.UUID, kind: str, address: str, reason: str, channel: str
) -> None:
    """Add an address to the list. A bounce or complaint overrides an earlier unsubscribe (which blocked
    marketing only); otherwise the first reason recorded is kept."""
    await conn.execute(
        f"""INSERT INTO delivery_suppressions (project_id, identifier_sha256, reason, channel)
            SELECT $1, {identifier_hash_sql("w.kind", "w.value")}, $4, $5
            FROM projects p, (VALUES ($2::text, $3::text)) AS w(kind, value)
            WHERE p.project_id = $1
            ON CONFLICT (project_id, identifier_sha256) DO UPDATE
                SET reason = excluded.reason, channel = excluded.channel, created_at = now()
                WHERE delivery_suppressions.reason = 'unsubscribed' AND excluded.reason <> 'unsubscribed'""",
        project_id,
        kind,
        address,
        reason,
        channel,
    )
