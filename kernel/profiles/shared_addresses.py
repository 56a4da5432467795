"""The ``shared`` marker of ``profile_addresses``: set on every row whose folded address another row holds.

A bulk send's audience read (:mod:`kernel.delivery.audience_scan`) looks for the other holders of an
address only on marked rows, so a row left unmarked while another holds its folded form would be sent
twice. Every writer that adds a row (an upsert's additions, a merge's moves) therefore marks, after adding,
each of its folded addresses that two rows now hold, and does so under the project's address-writers
lock, taken by the marking itself and held until commit (migration 0060): of two writers of the same
address, the one that marks second waits for the first one's commit, and its marking statement (a new
snapshot) sees the first one's row and its own. The rows themselves are written before the lock is taken,
so that writers wait for each other only from their marking to their commit, not while they write.
Removing rows never waits for it and never clears a mark: a row still marked after the other holders left
costs the read one probe, which finds it alone.

The lock is one per project: per-address advisory locks would take a slot of PostgreSQL's shared lock
table for each address of an import's round. It serialises the marking of one project's writes across
kernels, from their marking statement to their commit, which follows soon after. A transaction may wait
for it while holding profile rows (a merge holds both profiles; a write of several rounds holds the first
rounds'): the rare deadlock this allows with a holder waiting for one of those rows is retried as any other
(kernel.storage.deadlocks).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from kernel.profiles.identifier_keys import folded
from kernel.profiles.locks import lock_key
from kernel.storage.packed_text import packed, unpacked


def writers_lock(project_id: uuid.UUID) -> int:
    """The key of the project's address-writers lock, taken by the statements that mark (here and in
    :mod:`kernel.profiles.newest_addresses`)."""
    return lock_key(project_id, "address writers", "")


# In the column's collation, so that the folded-address index serves the comparison (folding is done in
# "C": compared in it, the probe read the whole table for each address).
_MARK_ADDED = f"""
SELECT mark_shared_addresses($1, $2, array_agg(kind), array_agg(folded))
FROM (SELECT kind, {folded("value")} COLLATE "default" AS folded
      FROM unnest({unpacked("$3")}, {unpacked("$4")}) AS x(kind, value)) AS added"""
_MARK_HELD = """
SELECT mark_shared_addresses($1, $2, array_agg(kind), array_agg(folded))
FROM (SELECT kind, folded FROM profile_addresses WHERE project_id = $1 AND profile_id = $3) AS held"""


async def mark_added(
    conn: asyncpg.Connection, project_id: uuid.UUID, kinds: Sequence[str], values: Sequence[str]
) -> None:
    """Mark the holders of the addresses just added, those that another row also holds; the lock is then
    held until commit."""
    await conn.execute(_MARK_ADDED, project_id, writers_lock(project_id), packed(kinds), packed(values))


async def mark_held(conn: asyncpg.Connection, project_id: uuid.UUID, profile_id: uuid.UUID) -> None:
    """Mark the holders of every address the profile holds, those that another row also holds; the lock is
    then held until commit."""
    # The profile's addresses read through the primary key: with the statistics of before an import (an
    # empty table), a scan of the table looks as cheap.
    await conn.execute("SET LOCAL enable_seqscan = off")
    await conn.execute(_MARK_HELD, project_id, writers_lock(project_id), profile_id)
    await conn.execute("RESET enable_seqscan")
