"""Bulk import: streamed batches of profiles, each stored as UpsertProfile stores a profile.

Each message of the stream is one transaction (one commit per up to 1000 profiles). Its profiles are
validated one by one (a bad one is rejected with its field and reason), then the valid ones are stored
together (:mod:`kernel.profiles.store_changes`), where a suppressed person, an unknown profile id or a
profile over a limit is rejected alone. The counts of a message join the stream's totals only once its
transaction has committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from herald.v1 import profiles_pb2
from kernel.errors import HeraldError, InvalidArgument
from kernel.profiles.batch_upsert import Applied, UpsertContext
from kernel.profiles.changes import ProfileChanges, parse_upsert
from kernel.profiles.store_changes import store_changes

MAX_PROFILES_PER_MESSAGE = 1000
MAX_REJECTIONS = 1000


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
    pool: asyncpg.Pool,
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
    if valid:
        outcomes = await store_changes(pool, context, [changes for _, changes in valid])
        for (offset, _), outcome in zip(valid, outcomes, strict=True):
            if isinstance(outcome, Applied):
                batch.imported += 1
                batch.created += outcome.created
            else:
                batch.reject(_rejection(first_index + offset, outcome))
    batch.rejections.sort(key=lambda rejection: rejection.index)
    return batch


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
    tally.add(await _apply(pool, context, profiles, tally.received))
