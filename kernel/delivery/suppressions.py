"""The delivery suppression list: addresses never to be sent to again, kept as salted hashes.

An address is blocked when a provider reported it dead for good (hard bounce, spam complaint,
unsubscribe), and also when it belongs to a person erased with suppression. Both lists hash
``kind:address`` with the project's salt (see :mod:`kernel.profiles.gdpr`), so checking needs the
address while the stored list reveals none.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

import asyncpg


def address_hash_sql(kind: str, value: str) -> str:
    """The SQL expression of an address's salted hash, from SQL expressions of its kind and value (the
    project row must be joined as ``p``)."""
    return f"sha256(p.suppression_salt || convert_to({kind} || ':' || {value}, 'UTF8'))"


_HASH = address_hash_sql("w.kind", "w.value")


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
        f"""SELECT w.kind, w.value, coalesce(d.reason, 'erased') AS reason
            FROM unnest($2::text[], $3::text[]) AS w(kind, value)
            JOIN projects p ON p.project_id = $1
            LEFT JOIN delivery_suppressions d ON d.project_id = $1 AND d.identifier_sha256 = {_HASH}
                AND ($4 OR d.reason <> 'unsubscribed')
            LEFT JOIN suppressed_identifiers s ON s.project_id = $1 AND s.identifier_sha256 = {_HASH}
            WHERE d.identifier_sha256 IS NOT NULL OR s.identifier_sha256 IS NOT NULL""",
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
            SELECT $1, {_HASH}, $4, $5
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
