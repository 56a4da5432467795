"""Tracked events: validation of a batch, and storing batches of them in one transaction.

Validation happens before anything is queued or written, so one bad event rejects its call and stores
nothing. Storage takes several callers' batches at once (see :mod:`kernel.profiles.group_commit`) and
reports each caller's own counts: one transaction resolves (or creates) every referenced profile, locks
them against a concurrent merge or erasure and inserts the events, skipping ``event_id`` values the
project already has.

A profile's last-seen time is not written here: it is the newest event's time, read from the events'
primary key when asked for (see :data:`kernel.profiles.timeline.LAST_SEEN`). Rewriting one profile row
per event cost PostgreSQL more than a third of an event's insert (measured); a ``FOR KEY SHARE`` lock
writes no new row version.
"""

from __future__ import annotations

import functools
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import asyncpg
import orjson

from herald.v1 import profiles_pb2
from kernel.errors import HeraldError, InvalidArgument, NotFound
from kernel.profiles import refs
from kernel.profiles.attributes import AttributeLimits, validate_attributes
from kernel.profiles.group_commit import GroupCommitter, ShuttingDown
from kernel.storage.database import GENERIC_PLANS
from kernel.storage.outages import DATABASE_UNREACHABLE

log = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*")
MAX_NAME_LENGTH = 128
RESERVED_PREFIX = "herald."
MAX_EVENT_ID_LENGTH = 128
MAX_FUTURE_US = 60_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)
MIN_SECONDS = -62_135_596_800  # 0001-01-01T00:00:00Z, the earliest protobuf Timestamp
# An event refreshes last_activity_at (what the inactivity purge reads, in days) only when it is older than
# this, so a steady stream of events rewrites each profile row once an hour, not once per event.
ACTIVITY_REFRESH = "1 hour"
# Exact conversion of epoch microseconds (bigint) to timestamptz: whole seconds, then the remainder.
_FROM_MICROS = "(to_timestamp(div({0}, 1000000)) + mod({0}, 1000000) * interval '1 microsecond')"
# Attempts of a write that deadlocked or raced with a merge or erasure (see EventStore.write).
_ATTEMPTS = 3


@dataclass(slots=True)
class Event:
    """A validated event, ready to store."""

    ref: refs.Ref
    name: str
    # Microseconds since the Unix epoch: cheaper than a datetime on the hot path, and exact.
    occurred_us: int
    # The attributes' stored form (see kernel.profiles.attributes), already serialised to JSON.
    attributes: str
    event_id: str | None


@dataclass(slots=True)
class Counts:
    """What became of a call's events (the TrackEventsResponse fields)."""

    accepted: int = 0
    duplicates: int = 0
    suppressed: int = 0

    def add(self, other: Counts) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.suppressed += other.suppressed


def validate_events(
    messages: Sequence[profiles_pb2.TrackedEvent],
    limits: AttributeLimits,
    max_events: int,
    received_at: datetime,
) -> list[Event]:
    """Every event of a call, validated; the first bad one raises naming ``events[i].<field>``.

    ``received_at`` is the default event time and the reference for the future-time limit.
    """
    if len(messages) > max_events:
        raise InvalidArgument(f"at most {max_events} events per call, got {len(messages)}", "events")
    received_us = to_micros(received_at)
    latest_us = received_us + MAX_FUTURE_US
    events = []
    for index, message in enumerate(messages):
        try:
            events.append(_validate_event(message, limits, received_us, latest_us))
        except InvalidArgument as error:
            raise error.within(f"events[{index}]") from None
    return events


def to_micros(moment: datetime) -> int:
    return (moment - EPOCH) // ONE_MICROSECOND


def _validate_event(
    message: profiles_pb2.TrackedEvent, limits: AttributeLimits, received_us: int, latest_us: int
) -> Event:
    ref = refs.check_ref(message.profile)
    name = _check_name(message.name)
    occurred_us = received_us
    if message.HasField("time"):
        time = message.time
        if time.seconds < MIN_SECONDS or not 0 <= time.nanos < 1_000_000_000:
            raise InvalidArgument("out of range (year 1 to now)", "time")
        occurred_us = time.seconds * 1_000_000 + time.nanos // 1000
        if occurred_us > latest_us:
            raise InvalidArgument("more than a minute in the future", "time")
    event_id = message.event_id or None
    if event_id is not None:
        if len(event_id) > MAX_EVENT_ID_LENGTH:
            raise InvalidArgument(f"at most {MAX_EVENT_ID_LENGTH} characters", "event_id")
        if not event_id.isprintable():
            raise InvalidArgument("must not contain control characters", "event_id")
    attributes = "{}"
    if message.attributes:
        attributes = orjson.dumps(validate_attributes(message.attributes, limits)).decode()
    return Event(ref, name, occurred_us, attributes, event_id)


@functools.lru_cache(maxsize=4096)
def _check_name(name: str) -> str:
    """Event names are few and repeat: each valid one is checked once (errors are never cached)."""
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidArgument("must be a letter followed by letters, digits, '_', '.' or '-'", "name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidArgument(f"at most {MAX_NAME_LENGTH} characters", "name")
    if name.startswith(RESERVED_PREFIX):
        raise InvalidArgument(f"names starting with {RESERVED_PREFIX!r} are reserved for Herald", "name")
    return name


@dataclass(frozen=True, slots=True)
class StoredEvents:
    """The events one transaction stored (duplicates and vanished profiles left out), as columns."""

    project_id: uuid.UUID
    profile_ids: Sequence[uuid.UUID]
    names: Sequence[str]
    #: Each event's properties in stored form, as JSON text.
    attributes: Sequence[str]


class EventFollower(Protocol):
    """What stored events set going elsewhere (automations' triggers and exit events), written in the
    events' own transaction: an acknowledged event never misses what follows it, and a rolled-back one
    sets nothing going."""

    async def follow(self, conn: asyncpg.Connection, events: StoredEvents) -> bool:
        """Write what ``events`` set going; True when there is something for :meth:`committed` to tell."""
        ...

    def committed(self) -> None:
        """The transaction in which :meth:`follow` answered True has committed."""
        ...


class EventStore:
    """Writes batches of validated events; one transaction per :meth:`write`."""

    def __init__(
        self, pool: asyncpg.Pool, *, durable: bool = True, follower: EventFollower | None = None
    ) -> None:
        """``durable`` False acknowledges a write before its WAL reaches the disk (PostgreSQL's
        asynchronous commit; the ``event_commit = "fast"`` setting): nothing is ever corrupted, but a
        PostgreSQL or machine crash can lose the last fraction of a second of acknowledged events."""
        self._pool = pool
        self._follower = follower
        # One round trip for the transaction's settings. Its statements are keyed by ids and unnested
        # arrays, so a plan made without the parameters is theirs too: planned once per connection
        # (force_generic_plan) instead of at every execution, the pool's default (see
        # kernel.storage.database), which cost single-event calls half again PostgreSQL's CPU.
        self._session = GENERIC_PLANS + ("" if durable else "; SET LOCAL synchronous_commit = off")

    async def write(self, project_id: uuid.UUID, batches: list[list[Event]]) -> list[Counts | HeraldError]:
        """Store ``batches`` (one per caller) together; each gets its counts, or its own error.

        A batch naming an unknown ``profile_id`` gets NOT_FOUND and nothing of it is stored; the others
        are unaffected. A database error raises and stores nothing of any batch. The transaction is
        tried again when PostgreSQL aborts it for a deadlock (two writers locking the same profiles or
        creating the same identities), or when a concurrent merge or erasure removed a profile it had
        resolved: resolved again, a merged anonymous id names the surviving profile. When that race
        outlasts the attempts, those events are dropped and counted as suppressed.
        """
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    await conn.execute(self._session)
                    outcomes, stored = await _write(
                        conn, project_id, batches, last_attempt=attempt == _ATTEMPTS
                    )
                    followed = (
                        stored is not None
                        and self._follower is not None
                        and await self._follower.follow(conn, stored)
                    )
                if followed:
                    assert self._follower is not None
                    self._follower.committed()
                return outcomes
            except asyncpg.DeadlockDetectedError:
                if attempt == _ATTEMPTS:
                    raise
                log.info("event write deadlocked (attempt %s), retrying", attempt)
            except _ProfilesVanished:
                log.info("profiles merged or erased during an event write (attempt %s), retrying", attempt)
        raise AssertionError("unreachable")


class _ProfilesVanished(Exception):
    """A resolved profile was merged or erased before the write locked it."""


@dataclass(slots=True)
class _Rows:
    """The column arrays of one INSERT; each batch's rows are the slice ``spans[i]``."""

    profile_ids: list[uuid.UUID] = field(default_factory=list)
    times: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    event_ids: list[str | None] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)
    profiles: set[uuid.UUID] = field(default_factory=set)
    spans: dict[int, slice] = field(default_factory=dict)


async def _write(
    conn: asyncpg.Connection, project_id: uuid.UUID, batches: list[list[Event]], *, last_attempt: bool
) -> tuple[list[Counts | HeraldError], StoredEvents | None]:
    """Each batch's outcome, and the events stored (None: none)."""
    outcomes: list[Counts | HeraldError] = [Counts() for _ in batches]
    profiles = await _check_profile_ids(conn, project_id, batches, outcomes)
    live = [i for i, outcome in enumerate(outcomes) if isinstance(outcome, Counts)]
    identities = {e.ref for i in live for e in batches[i] if e.ref.kind != "profile_id"}
    if identities:
        # Sorted, so that two writers creating the same new identities insert them in the same order.
        ordered = sorted(identities, key=lambda r: (r.kind, r.value))
        profiles.update((await refs.resolve(conn, project_id, ordered, create=True)).profiles)
    rows = _columns(batches, live, profiles, outcomes)
    if not rows.profile_ids:
        return outcomes, None
    vanished, duplicates = await _store(conn, project_id, rows)
    if vanished and not last_attempt:
        raise _ProfilesVanished
    for i in live:
        counts = outcomes[i]
        assert isinstance(counts, Counts)
        span = rows.spans[i]
        counts.accepted = span.stop - span.start
        if duplicates:
            old = sum(1 for e in rows.event_ids[span] if e in duplicates)
            counts.duplicates += old
            counts.accepted -= old
        if vanished:
            dropped = sum(1 for p in rows.profile_ids[span] if p in vanished)
            counts.suppressed += dropped
            counts.accepted -= dropped
    return outcomes, _stored(project_id, rows, vanished, duplicates)


def _stored(
    project_id: uuid.UUID, rows: _Rows, vanished: set[uuid.UUID], duplicates: set[str]
) -> StoredEvents:
    if not vanished and not duplicates:
        return StoredEvents(project_id, rows.profile_ids, rows.names, rows.attributes)
    kept = [
        i
        for i, (profile_id, event_id) in enumerate(zip(rows.profile_ids, rows.event_ids, strict=True))
        if profile_id not in vanished and event_id not in duplicates
    ]
    return StoredEvents(
        project_id,
        [rows.profile_ids[i] for i in kept],
        [rows.names[i] for i in kept],
        [rows.attributes[i] for i in kept],
    )


async def _check_profile_ids(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    batches: list[list[Event]],
    outcomes: list[Counts | HeraldError],
) -> dict[refs.Ref, uuid.UUID]:
    """Resolve the ``profile_id`` references; a batch naming an unknown one gets NOT_FOUND."""
    by_id = {e.ref for batch in batches for e in batch if e.ref.kind == "profile_id"}
    if not by_id:
        return {}
    found = (await refs.resolve(conn, project_id, by_id, create=False)).profiles
    for i, batch in enumerate(batches):
        for j, event in enumerate(batch):
            if event.ref.kind == "profile_id" and event.ref not in found:
                outcomes[i] = NotFound("no profile has this id", f"events[{j}].profile.profile_id")
                break
    return found


def _columns(
    batches: list[list[Event]],
    live: list[int],
    profiles: dict[refs.Ref, uuid.UUID],
    outcomes: list[Counts | HeraldError],
) -> _Rows:
    """The rows to insert. Unresolved references (suppressed identifiers) are counted, not inserted, and
    an event id seen earlier in these batches is a duplicate without asking the database."""
    rows = _Rows()
    seen_ids: set[str] = set()
    for i in live:
        counts = outcomes[i]
        assert isinstance(counts, Counts)
        start = len(rows.profile_ids)
        for event in batches[i]:
            profile_id = profiles.get(event.ref)
            if profile_id is None:
                counts.suppressed += 1
                continue
            event_id = event.event_id
            if event_id is not None:
                if event_id in seen_ids:
                    counts.duplicates += 1
                    continue
                seen_ids.add(event_id)
            rows.profile_ids.append(profile_id)
            rows.times.append(event.occurred_us)
            rows.names.append(event.name)
            rows.event_ids.append(event_id)
            rows.attributes.append(event.attributes)
            rows.profiles.add(profile_id)
        rows.spans[i] = slice(start, len(rows.profile_ids))
    return rows


async def _store(
    conn: asyncpg.Connection, project_id: uuid.UUID, rows: _Rows
) -> tuple[set[uuid.UUID], set[str]]:
    """One statement: lock the profiles against a merge or erasure (``FOR KEY SHARE``, which writes no
    row version), refresh a stale ``last_activity_at``, and insert the events of the profiles that still
    exist, skipping event ids the project already holds. Returns the profiles that no longer exist and
    the event ids that were already there.

    The profiles are locked in id order, so that concurrent writers never wait on each other in a cycle
    (key-share locks do not conflict with each other; only the hourly activity refresh does, and a
    deadlock there is detected and the write retried).
    """
    ids = sorted(rows.profiles)
    record = await conn.fetchrow(
        f"""WITH locked AS (
                SELECT p.profile_id FROM profiles p
                WHERE p.project_id = $1 AND p.profile_id = any($2::uuid[])
                ORDER BY p.profile_id
                FOR KEY SHARE),
            touched AS (
                UPDATE profiles p SET last_activity_at = now()
                WHERE p.project_id = $1 AND p.profile_id = any($2::uuid[])
                  AND p.last_activity_at < now() - interval '{ACTIVITY_REFRESH}'),
            wanted AS (
                SELECT * FROM unnest($3::uuid[], $4::bigint[], $5::text[], $6::text[], $7::text[])
                    AS r(profile_id, t, name, client_event_id, attributes)
                WHERE r.profile_id IN (SELECT profile_id FROM locked)),
            inserted AS (
                INSERT INTO events (project_id, profile_id, occurred_at, name, client_event_id, attributes)
                SELECT $1, profile_id, {_FROM_MICROS.format("t")}, name, client_event_id, attributes::jsonb
                FROM wanted
                ON CONFLICT (project_id, client_event_id) WHERE client_event_id IS NOT NULL DO NOTHING
                RETURNING client_event_id)
            SELECT array(SELECT unnest($2::uuid[]) EXCEPT SELECT profile_id FROM locked) AS vanished,
                   array(SELECT client_event_id FROM wanted WHERE client_event_id IS NOT NULL
                         EXCEPT SELECT client_event_id FROM inserted) AS duplicates""",
        project_id,
        ids,
        rows.profile_ids,
        rows.times,
        rows.names,
        rows.event_ids,
        rows.attributes,
    )
    return set(record["vanished"]), set(record["duplicates"])


class IngestionFailed(Exception):
    """Events were not stored for a reason other than the caller's input; ``transient``: worth a retry."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


# Errors after which the same call may well succeed: the database is unreachable, restarting or
# overloaded, a deadlock outlasted its retries, or this kernel is shutting down.
_TRANSIENT = (
    ShuttingDown,
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.InsufficientResourcesError,
    asyncpg.OperatorInterventionError,
    asyncpg.DeadlockDetectedError,
)


def _transient_reason(error: BaseException) -> str:
    """What a client may be told: never the exception's own text, which can hold internal details."""
    if isinstance(error, ShuttingDown):
        return "this server is shutting down"
    if isinstance(error, DATABASE_UNREACHABLE):
        return "database unreachable"
    return "database busy"


class EventIngestion:
    """The event write path of one kernel: validated batches in, counts out, with group commit.

    Concurrent calls of a project share a transaction (see :mod:`kernel.profiles.group_commit`);
    ``max_delay`` bounds how long a call waits for company, ``max_size`` how many events one write holds.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        max_delay: float,
        max_size: int,
        concurrency: int,
        durable: bool = True,
        follower: EventFollower | None = None,
    ) -> None:
        self._committer: GroupCommitter[uuid.UUID, list[Event], Counts] = GroupCommitter(
            "events",
            EventStore(pool, durable=durable, follower=follower).write,
            max_delay=max_delay,
            max_size=max_size,
            concurrency=concurrency,
        )

    async def track(self, project_id: uuid.UUID, events: list[Event]) -> Counts:
        """Store ``events`` (one call's, validated). Raises HeraldError for the caller's own errors,
        :class:`IngestionFailed` when nothing was stored for another reason."""
        if not events:
            return Counts()
        try:
            return await self._committer.submit(project_id, events, len(events))
        except HeraldError:
            raise
        except _TRANSIENT as error:
            reason = _transient_reason(error)
            raise IngestionFailed(f"events not stored, retry: {reason}", transient=True) from error
        except Exception as error:
            raise IngestionFailed("events not stored: internal error", transient=False) from error

    async def run(self) -> None:
        await self._committer.run()

    async def close(self) -> None:
        """Write what is queued, then refuse new events (at shutdown, before the pool closes)."""
        await self._committer.close()
