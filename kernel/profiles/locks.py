"""Transaction-scoped advisory locks on identifiers (a custom id, a push token), not on rows.

Rows cannot be locked before they exist; these locks serialise the transactions that may create or move
the same identifier (two Identify calls for one login, two profiles registering one device token), and
end with the transaction. Keys are taken in sorted order so that two holders of several never deadlock.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable

import asyncpg


def lock_key(project_id: uuid.UUID, namespace: str, value: str) -> int:
    """A signed 64-bit key (PostgreSQL's bigint) for one identifier of one project."""
    digest = hashlib.blake2b(f"{project_id}\0{namespace}\0{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock_identifiers(
    conn: asyncpg.Connection, project_id: uuid.UUID, identifiers: Iterable[tuple[str, str]]
) -> None:
    """Wait for, then hold until commit, the locks of the (namespace, value) ``identifiers``."""
    keys = sorted({lock_key(project_id, namespace, value) for namespace, value in identifiers})
    # One statement for them all, taken in the array's order.
    await conn.execute(
        "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) WITH ORDINALITY AS u(k, n) ORDER BY n",
        keys,
    )
