"""Profile changes stored together in one transaction, each with its own outcome.

Shared by ImportProfiles (the profiles of one message) and UpsertProfile (concurrent calls of a project,
see :mod:`kernel.profiles.upsert_groups`), so that both store exactly the same rows. The batch is written
set-based (:mod:`kernel.profiles.batch_upsert`); when it cannot stand as a whole (a profile over a limit,
a value PostgreSQL refuses, a profile merged away meanwhile), it is rolled back and its profiles applied
one by one, each in a savepoint, so that one bad profile never loses the others.

Batches lock profile rows in profile id order, but event ingestion may lock some of them in another
order; when PostgreSQL breaks such a deadlock by failing our transaction, the whole batch is applied
again from scratch (nothing of it was stored).
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from kernel.errors import HeraldError
from kernel.profiles.batch_upsert import Applied, UpsertContext, upsert_batch
from kernel.profiles.changes import ProfileChanges
from kernel.profiles.split_batch import SplitBatch
from kernel.profiles.upsert import upsert_changes
from kernel.storage.deadlocks import retry_deadlocks

#: Stored, refused by Herald, or refused by PostgreSQL (a value the validation let through).
StoreOutcome = Applied | HeraldError | asyncpg.DataError


async def store_changes(
    pool: asyncpg.Pool, context: UpsertContext, batch: Sequence[ProfileChanges]
) -> list[StoreOutcome]:
    """Store ``batch`` in one transaction; one outcome per profile, in order."""
    async with pool.acquire() as conn:
        outcomes = await retry_deadlocks(lambda: _store(conn, context, batch))
    if context.follower is not None:
        context.follower.committed()
    return outcomes


async def _store(
    conn: asyncpg.Connection, context: UpsertContext, batch: Sequence[ProfileChanges]
) -> list[StoreOutcome]:
    if len(batch) == 1:
        # Its own transaction is all a lone profile needs.
        return [await _store_one(conn, context, batch[0])]
    # No savepoint around the batch: when it cannot stand, its transaction is rolled back and the
    # profiles are applied one by one in another, which is rare, while the savepoint cost every batch
    # two more round trips.
    try:
        async with conn.transaction():
            return list(await upsert_batch(conn, context, batch))
    except asyncpg.TransactionRollbackError:
        raise  # a deadlock: the whole batch is applied again
    except (SplitBatch, asyncpg.PostgresError):
        pass
    async with conn.transaction():
        return [await _store_one(conn, context, changes) for changes in batch]


async def _store_one(
    conn: asyncpg.Connection, context: UpsertContext, changes: ProfileChanges
) -> StoreOutcome:
    """One profile in its own transaction, or in a savepoint of the caller's."""
    try:
        async with conn.transaction():
            return await upsert_changes(conn, context, changes)
    except (HeraldError, asyncpg.DataError) as error:
        return error
