"""Bulk import: streamed batches of profiles, each stored as UpsertProfile stores a profile.

Each message of the stream is one transaction (one commit per up to 1000 profiles). Its profiles, given
as requests or as a JSONL file's lines (:mod:`kernel.profiles.import_lines`), are validated one by one (a
bad one is rejected with its field and reason), then the valid ones are stored together
(:mod:`kernel.profiles.store_changes`), where a suppressed person, an unknown profile id or a profile over
a limit is rejected alone. A line's rejection names the field by the line's keys. The counts of a
message join the stream's totals only once its transaction has committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from herald.v1 import profiles_pb2
from kernel.channels.kinds import LoadedKinds
from kernel.errors import HeraldError, InvalidArgument
from kernel.profiles.attributes import AttributeLimits
from kernel.profiles.batch_upsert import Applied, UpsertContext
from kernel.profiles.changes import ProfileChanges, parse_upsert
from kernel.profiles.import_lines import line_changes, line_field
from kernel.profiles.store_changes import store_changes

MAX_PROFILES_PER_MESSAGE = 1000
MAX_REJECTIONS = 1000
#: Profiles validated between two turns of the event loop. A message's validation takes milliseconds, and
#: the writes of the messages stored meanwhile wait for the loop between their statements (one of them
#: holding the project's address-writers lock until its commit is sent: kernel.profiles.shared_addresses).
_LINES_BETWEEN_YIELDS = 50


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


@dataclass(frozen=True, slots=True)
class _Requests:
    """A message's profiles as UpsertProfile requests; a refused field is named as the request names it."""

    items: Sequence[profiles_pb2.UpsertProfileRequest]

    def changes(
        self, offset: int, limits: AttributeLimits, kinds: LoadedKinds, now: datetime
    ) -> ProfileChanges:
        return parse_upsert(self.items[offset], limits, kinds, now)

    def field_name(self, offset: int, request_field: str) -> str:
        return request_field


@dataclass(frozen=True, slots=True)
class _Lines:
    """A message's profiles as a JSONL file's lines; a refused field is named by the line's keys."""

    items: Sequence[bytes]

    def changes(
        self, offset: int, limits: AttributeLimits, kinds: LoadedKinds, now: datetime
    ) -> ProfileChanges:
        return line_changes(self.items[offset], limits, kinds, now)

    def field_name(self, offset: int, request_field: str) -> str:
        return line_field(self.items[offset], request_field)


async def _apply(
    pool: asyncpg.Pool, context: UpsertContext, given: _Requests | _Lines, first_index: int
) -> ImportTally:
    count = len(given.items)
    batch = ImportTally(received=count)
    now = datetime.now(UTC)
    valid: list[tuple[int, ProfileChanges]] = []
    for offset in range(count):
        if offset and not offset % _LINES_BETWEEN_YIELDS:
            await asyncio.sleep(0)
        try:
            valid.append((offset, given.changes(offset, context.limits, context.kinds, now)))
        except HeraldError as error:
            batch.reject(_rejection(first_index + offset, error))
    if valid:
        outcomes = await store_changes(pool, context, [changes for _, changes in valid])
        for (offset, _), outcome in zip(valid, outcomes, strict=True):
            if isinstance(outcome, Applied):
                batch.imported += 1
                batch.created += outcome.created
            elif isinstance(outcome, HeraldError):
                named = type(outcome)(outcome.reason, given.field_name(offset, outcome.field))
                batch.reject(_rejection(first_index + offset, named))
            else:
                batch.reject(_rejection(first_index + offset, outcome))
    batch.rejections.sort(key=lambda rejection: rejection.index)
    return batch


async def import_message(
    pool: asyncpg.Pool,
    context: UpsertContext,
    message: profiles_pb2.ImportProfilesRequest,
    tally: ImportTally,
    message_field: str,
) -> None:
    """Apply one message of the stream (its profiles, or its JSONL lines) and add its outcome to ``tally``.

    More than :data:`MAX_PROFILES_PER_MESSAGE` profiles or lines, or both profiles and lines, is
    INVALID_ARGUMENT (``<message_field>.profiles`` or ``.jsonl_lines``) and stores nothing of this message.
    """
    profiles, lines = message.profiles, message.jsonl_lines
    if profiles and lines:
        raise InvalidArgument("give profiles or jsonl_lines, not both", f"{message_field}.jsonl_lines")
    given = _Lines(lines) if lines else _Requests(profiles)
    if len(given.items) > MAX_PROFILES_PER_MESSAGE:
        raise InvalidArgument(
            f"at most {MAX_PROFILES_PER_MESSAGE} profiles per message",
            f"{message_field}.{'jsonl_lines' if lines else 'profiles'}",
        )
    tally.add(await _apply(pool, context, given, tally.received))
