"""The ``shared`` marker of ``profile_addresses``: set on every row whose folded address another row holds.

A bulk send's audience read (:mod:`kernel.delivery.audience_scan`) looks for the other holders of an
address only on marked rows, so a row left unmarked while another holds its folded form would be sent
twice. Every writer that adds a row (an upsert's additions, a merge's moves) therefore marks, after adding,
each of its folded addresses that two rows now hold, and does so under the project's address-writers
lock, taken before it writes any address row: a second writer of the same address then waits for the first
one's commit, and its marking statement (a new snapshot) sees the first one's row. Removing rows never
waits for it and never clears a mark: a row still marked after the other holders left costs the read one
probe, which finds it alone.

The lock is one per project: per-address advisory locks would take a slot of PostgreSQL's shared lock
table for each address of an import's round. It serialises the address writes of one project's rounds
across kernels (a kernel writes one round of a project at a time) from their first address statement to
their commit, which follows soon after. A transaction may wait for it while holding profile rows (a
merge holds both profiles; a write of several rounds holds the first rounds'): the rare deadlock this
allows with a holder waiting for one of those rows is retried as any other (kernel.storage.deadlocks).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

import asyncpg

from kernel.profiles.identifier_keys import folded
from kernel.profiles.locks import lock_identifiers

_WRITERS_LOCK = ("address writers", "")

# The folded addresses two rows hold now, marked on each of their rows not marked yet. Each is probed in
# the folded-address index on its own (the OFFSET 0 keeps the probe a subquery run per address, and the
# rows are then updated by their ctid): a join of the shared addresses to the table could be planned as a
# scan of all the project's addresses, and during an import the table's statistics are those of before.
_MARK = """
WITH held AS ({held}),
shared AS (
    SELECT h.kind, h.folded FROM held h
    WHERE EXISTS (SELECT FROM profile_addresses o
                  WHERE o.project_id = $1 AND o.kind = h.kind AND o.folded = h.folded OFFSET 1))
UPDATE profile_addresses a SET shared = true
WHERE a.ctid = any(ARRAY(
    SELECT r.ctid FROM shared s
    CROSS JOIN LATERAL (SELECT o.ctid FROM profile_addresses o
                        WHERE o.project_id = $1 AND o.kind = s.kind AND o.folded = s.folded
                          AND NOT o.shared OFFSET 0) AS r))"""
# In the column's collation, so that the folded-address index serves the comparison (folding is done in
# "C": compared in it, the probe read the whole table for each address).
_MARK_ADDED = _MARK.format(
    held=f'SELECT DISTINCT kind, {folded("value")} COLLATE "default" AS folded '
    "FROM unnest($2::text[], $3::text[]) AS x(kind, value)"
)
_MARK_HELD = _MARK.format(
    held="SELECT DISTINCT kind, folded FROM profile_addresses WHERE project_id = $1 AND profile_id = $2"
)


async def lock_address_writers(
    conn: asyncpg.Connection, project_id: uuid.UUID, identifiers: Iterable[tuple[str, str]] = ()
) -> None:
    """Hold, until commit, the project's address-writers lock (take it before writing any address row),
    and with it, in the same statement, the locks of ``identifiers`` (:func:`lock_identifiers`)."""
    await lock_identifiers(conn, project_id, [_WRITERS_LOCK, *identifiers])


async def mark_added(
    conn: asyncpg.Connection, project_id: uuid.UUID, kinds: Sequence[str], values: Sequence[str]
) -> None:
    """Mark the holders of the addresses just added, those that another row also holds."""
    await _mark(conn, _MARK_ADDED, project_id, list(kinds), list(values))


async def mark_held(conn: asyncpg.Connection, project_id: uuid.UUID, profile_id: uuid.UUID) -> None:
    """Mark the holders of every address the profile holds, those that another row also holds."""
    await _mark(conn, _MARK_HELD, project_id, profile_id)


async def _mark(conn: asyncpg.Connection, statement: str, *args: object) -> None:
    # Planned without sequential scans, the probes included: with the statistics of before an import (an
    # empty table), a scan of the table per address probed looks as cheap as the index.
    await conn.execute("SET LOCAL enable_seqscan = off")
    await conn.execute(statement, *args)
    await conn.execute("RESET enable_seqscan")
