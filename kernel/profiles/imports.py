"""Bulk import: streamed batches of profiles, each stored as UpsertProfile stores a profile.

Each message of the stream is one transaction (one commit per up to 1000 profiles). Its profiles are
validated one by one (a bad one is rejected with its field and reason), then the valid ones are written
set-based (:mod:`kernel.profiles.batch_upsert`), where a suppressed person or an unknown profile id is
rejected alone. When the batch as a whole fails in the database (a profile over a limit, a value
PostgreSQL refuses, a profile merged away meanwhile), it is rolled back and applied line by line, each
profile in its own savepoint, so that one bad row never loses the others. The counts of a message join
the stream's totals only once its transaction has committed.

Batches lock profile rows in profile id order, but event ingestion may lock some of them in another
order; when PostgreSQL breaks such a deadlock by failing our transaction, the whole message is applied
again from scratch (nothing of it was stored).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from herald.v1 import profiles_pb2
from kernel.errors import HeraldError, InvalidArgument
from kernel.profiles.batch_upsert import Applied, UpsertContext, upsert_batch
from kernel.profiles.changes import ProfileChanges, parse_upsert
from kernel.profiles.split_batch import SplitBatch
from kernel.profiles.upsert import upsert_changes

MAX_PROFILES_PER_MESSAGE = 1000
MAX_REJECTIONS = 1000
_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Rejection:
    """A profile that was not stored: its position in the whole stream, the field at fault and why."""

    index: int
    field: str
    reason: str


@dataclass(slots=True)
class ImportTally:
    """The running totals of one import stream."""

    imported: int = 0
    created: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    # Stream index of the next profile.
    received: int = 0

    def reject(self, rejection: Rejection) -> None:
        self.rejected += 1
        self.rejections.append(rejection)

    def add(self, batch: ImportTally) -> None:
        self.imported += batch.imported
        self.created += batch.created
        self.rejected += batch.rejected
        self.rejections.extend(batch.rejections[: MAX_REJECTIONS - len(self.rejections)])
        self.received += batch.received


def _rejection(index: int, error: HeraldError | asyncpg.DataError) -> Rejection:
    if isinstance(error, HeraldError):
        return Rejection(index, error.field, error.reason)
    # Input the validation let through but PostgreSQL refuses (e.g. a NUL character in a string).
    return Rejection(index, "", f"refused by the database: {error}")


async def _apply(
    conn: asyncpg.Connection,
    context: UpsertContext,
    profiles: Sequence[profiles_pb2.UpsertProfileRequest],
    first_index: int,
) -> ImportTally:
    batch = ImportTally(received=len(profiles))
    now = datetime.now(UTC)
    valid: list[tuple[int, ProfileChanges]] = []
    for offset, request in enumerate(profiles):
        try:
            valid.append((offset, parse_upsert(request, context.limits, context.kinds, now)))
        except HeraldError as error:
            batch.reject(_rejection(first_index + offset, error))
    async with conn.transaction():
        try:
            async with conn.transaction():
                outcomes = await upsert_batch(conn, context, [changes for _, changes in valid])
        except asyncpg.TransactionRollbackError:
            raise  # a deadlock: the whole message is applied again
        except (SplitBatch, asyncpg.PostgresError):
            outcomes = [await _apply_one(conn, context, changes) for _, changes in valid]
        for (offset, _), outcome in zip(valid, outcomes, strict=True):
            if isinstance(outcome, Applied):
                batch.imported += 1
                batch.created += outcome.created
            else:
                batch.reject(_rejection(first_index + offset, outcome))
    batch.rejections.sort(key=lambda rejection: rejection.index)
    return batch


async def _apply_one(
    conn: asyncpg.Connection, context: UpsertContext, changes: ProfileChanges
) -> Applied | HeraldError | asyncpg.DataError:
    try:
        async with conn.transaction():
            return await upsert_changes(conn, context, changes)
    except (HeraldError, asyncpg.DataError) as error:
        return error


async def import_message(
    pool: asyncpg.Pool,
    context: UpsertContext,
    profiles: Sequence[profiles_pb2.UpsertProfileRequest],
    tally: ImportTally,
    message_field: str,
) -> None:
    """Apply one message of the stream and add its outcome to ``tally``.

    More than :data:`MAX_PROFILES_PER_MESSAGE` profiles is INVALID_ARGUMENT (``<message_field>.profiles``)
    and stores nothing of this message.
    """
    if len(profiles) > MAX_PROFILES_PER_MESSAGE:
        raise InvalidArgument(
            f"at most {MAX_PROFILES_PER_MESSAGE} profiles per message", f"{message_field}.profiles"
        )
    tally.add(await _apply_with_retries(pool, context, profiles, tally.received))


async def _apply_with_retries(
    pool: asyncpg.Pool,
    context: UpsertContext,
    profiles: Sequence[profiles_pb2.UpsertProfileRequest],
    first_index: int,
) -> ImportTally:
    async with pool.acquire() as conn:
        for _ in range(_ATTEMPTS - 1):
            try:
                return await _apply(conn, context, profiles, first_index)
            except asyncpg.DeadlockDetectedError:
                continue
        return await _apply(conn, context, profiles, first_index)
