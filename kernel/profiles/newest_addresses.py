"""The ``superseded`` marker of ``profile_addresses``: set on every row that a newer address of its kind
in the same profile outranks (newest: the latest ``updated_at``, then the least value).

A channel whose kind reaches the newest address only (``Reach.NEWEST``: an inbox, a phone) sends to the
unmarked row of each profile and kind: the bulk audience read (:mod:`kernel.delivery.audience_scan`)
takes it as it finds it instead of ranking every profile's addresses for each slice. Every writer that
adds, updates or removes a profile's rows therefore settles the marks of the profiles it wrote to, after
writing and under the project's address-writers lock (:mod:`kernel.profiles.shared_addresses`), taken
before its first address write: a second writer of the same profile waits for the first one's commit, and
its settling statement (a new snapshot) sees the first one's rows. The rows of a profile that held none
of their kind are marked as they are inserted (:data:`SUPERSEDED_AMONG_ADDED`), so that an import of new
profiles needs no second statement; a row inserted alone in its profile and kind, as SQL seeds write
them, is right unmarked.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

import asyncpg

#: The rank of an address among its profile's addresses of its kind, the newest first (``a``: the table).
_NEWEST_FIRST = "PARTITION BY a.profile_id, a.kind ORDER BY a.updated_at DESC, a.value"

#: Of rows inserted together (one ``updated_at``), from columns ``profile_id``, ``kind`` and ``value``,
#: whether each is superseded by another of them: all but the least value of each profile and kind. Right
#: as it stands for profiles that held none of the kind; the others are settled after.
SUPERSEDED_AMONG_ADDED = "row_number() OVER (PARTITION BY profile_id, kind ORDER BY value) > 1"

# Only the rows whose mark changes are updated, by their ctid; each profile's rows are read on their own
# (the OFFSET 0 keeps the read a subquery run per profile, through the primary key). Planned with neither
# sequential nor bitmap scans: during an import the table's statistics are those of before it (a nearly
# empty table), and the profiles' rows were then read by a scan of all the project's addresses.
_SETTLE = f"""
UPDATE profile_addresses t SET superseded = NOT t.superseded
WHERE t.ctid = any(ARRAY(
    SELECT r.ctid FROM unnest($2::uuid[]) AS p(profile_id)
    CROSS JOIN LATERAL (
        SELECT a.ctid, a.superseded, row_number() OVER ({_NEWEST_FIRST}) > 1 AS outranked
        FROM profile_addresses a
        WHERE a.project_id = $1 AND a.profile_id = p.profile_id OFFSET 0) AS r
    WHERE r.superseded <> r.outranked))"""


async def settle_newest(
    conn: asyncpg.Connection, project_id: uuid.UUID, profile_ids: Collection[uuid.UUID]
) -> None:
    """Mark the superseded addresses of ``profile_ids`` and unmark their newest, after they were written
    (under the address-writers lock, :func:`kernel.profiles.shared_addresses.lock_address_writers`)."""
    if profile_ids:
        await conn.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off")
        await conn.execute(_SETTLE, project_id, list(set(profile_ids)))
        await conn.execute("RESET enable_seqscan; RESET enable_bitmapscan")
