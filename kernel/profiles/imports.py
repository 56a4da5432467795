"""Bulk import: streamed batches of profiles, each profile applied exactly as UpsertProfile applies it.

Each message of the stream is one transaction (one commit per up to 1000 profiles, not one per profile)
and each profile runs in its own savepoint inside it, so that a bad profile is rolled back and reported
alone while the rest of its batch is stored. The counts of a message join the stream's totals only once
its transaction has committed.

A batch locks the rows of up to 1000 profiles in file order while event ingestion may lock some of them
in another order; when PostgreSQL breaks such a deadlock by failing our transaction, the whole message
is applied again from scratch (nothing of it was stored).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from herald.v1 import profiles_pb2
from kernel.channels.kinds import LoadedKinds
from kernel.errors import HeraldError, InvalidArgument
from kernel.profiles.attributes import AttributeLimits
from kernel.profiles.upsert import upsert_profile

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

    def add(self, batch: ImportTally) -> None:
        self.imported += batch.imported
        self.created += batch.created
        self.rejected += batch.rejected
        self.rejections.extend(batch.rejections[: MAX_REJECTIONS - len(self.rejections)])
        self.received += batch.received


@dataclass(frozen=True, slots=True)
class ImportContext:
    project_id: uuid.UUID
    limits: AttributeLimits
    kinds: LoadedKinds
    max_addresses: int


def _rejection(index: int, error: HeraldError | asyncpg.DataError) -> Rejection:
    if isinstance(error, HeraldError):
        return Rejection(index, error.field, error.reason)
    # Input the validation let through but PostgreSQL refuses (e.g. a NUL character in a string).
    return Rejection(index, "", f"refused by the database: {error}")


async def _apply(
    conn: asyncpg.Connection,
    context: ImportContext,
    profiles: Sequence[profiles_pb2.UpsertProfileRequest],
    first_index: int,
) -> ImportTally:
    batch = ImportTally(received=len(profiles))
    async with conn.transaction():
        for offset, request in enumerate(profiles):
            try:
                async with conn.transaction():
                    _, created = await upsert_profile(
                        conn,
                        context.project_id,
                        request,
                        context.limits,
                        context.kinds,
                        context.max_addresses,
                    )
            except (HeraldError, asyncpg.DataError) as error:
                batch.rejected += 1
                batch.rejections.append(_rejection(first_index + offset, error))
                continue
            batch.imported += 1
            batch.created += created
    return batch


async def import_message(
    pool: asyncpg.Pool,
    context: ImportContext,
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
    context: ImportContext,
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
