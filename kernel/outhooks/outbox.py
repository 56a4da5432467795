"""The outbox (``outhook_deliveries``): events published in the transaction of the fact they report,
then leased, settled or dropped by the deliverers of every kernel.

A publisher first asks :func:`subscribed` (one probe of a partial index on the project's enabled
endpoints, a few rows at most), or reads :func:`followed_sql` from a statement it makes anyway, and builds
its events only for the types someone follows: a project without endpoints pays that probe per batch of
facts, and nothing else. :func:`publish` then fans the events out
to the subscribed endpoints in one statement (the outbox, ``outhook_deliveries``). Both run in the
caller's transaction, so an event exists if and only if its fact committed: nothing reported that was
rolled back, nothing lost between the fact and the outbox. The probe is not cached: an endpoint receives
every event committed after its own creation, on every kernel.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from kernel.outhooks.events import EventType, OutgoingEvent

_SUBSCRIBED = """SELECT array_agg(DISTINCT t) FROM outhook_endpoints, unnest(event_types) AS t
                  WHERE project_id = $1 AND enabled"""
_FAN_OUT = """
INSERT INTO outhook_deliveries (project_id, endpoint_id, event_id, event_type, profile_id, occurred_at, data)
SELECT $1, s.endpoint_id, e.event_id, e.event_type, e.profile_id, coalesce(e.occurred_at, now()), e.data
FROM outhook_endpoints s
JOIN unnest($2::uuid[], $3::text[], $4::uuid[], $5::timestamptz[], $6::jsonb[])
    AS e(event_id, event_type, profile_id, occurred_at, data)
  ON e.event_type = any(s.event_types)
WHERE s.project_id = $1 AND s.enabled
"""


def followed_sql(project: str, event_type: EventType) -> str:
    """An SQL boolean: whether some enabled endpoint of ``project`` (a parameter, e.g. ``$1``) follows
    ``event_type``. Not correlated with any row, it is evaluated once per statement: a hot statement
    returns it as a column (``AS followed``) and reports for free whether to :func:`publish`."""
    return f"""EXISTS (SELECT FROM outhook_endpoints WHERE project_id = {project} AND enabled
                       AND '{event_type.value}' = any(event_types))"""


async def subscribed(conn: asyncpg.Connection, project_id: uuid.UUID) -> frozenset[EventType]:
    """The event types some enabled endpoint of the project follows."""
    types = await conn.fetchval(_SUBSCRIBED, project_id)
    return frozenset(EventType(t) for t in types or ())


async def publish(conn: asyncpg.Connection, project_id: uuid.UUID, events: Sequence[OutgoingEvent]) -> None:
    """Queue ``events`` for every endpoint of the project subscribed to them (one statement)."""
    if not events:
        return
    await conn.execute(
        _FAN_OUT,
        project_id,
        [event.event_id for event in events],
        [event.type.value for event in events],
        [event.profile_id for event in events],
        [event.occurred_at for event in events],
        [event.data for event in events],
    )


async def publish_to(
    conn: asyncpg.Connection, project_id: uuid.UUID, endpoint_id: uuid.UUID, event: OutgoingEvent
) -> None:
    """Queue ``event`` for one endpoint of the project, whatever it subscribed to; an endpoint that is gone
    or disabled gets nothing."""
    await conn.execute(
        """INSERT INTO outhook_deliveries
               (project_id, endpoint_id, event_id, event_type, profile_id, occurred_at, data)
           SELECT project_id, endpoint_id, $3, $4, $5, coalesce($6, now()), $7 FROM outhook_endpoints
           WHERE project_id = $1 AND endpoint_id = $2 AND enabled""",
        project_id,
        endpoint_id,
        event.event_id,
        event.type.value,
        event.profile_id,
        event.occurred_at,
        event.data,
    )


async def forget_profile_events(
    conn: asyncpg.Connection, project_id: uuid.UUID, profile_ids: Sequence[uuid.UUID]
) -> None:
    """Drop the undelivered events about erased profiles (they may carry identifiers of the person)."""
    await conn.execute(
        "DELETE FROM outhook_deliveries WHERE project_id = $1 AND profile_id = any($2::uuid[])",
        project_id,
        list(profile_ids),
    )


async def move_profile_events(
    conn: asyncpg.Connection, project_id: uuid.UUID, source: uuid.UUID, target: uuid.UUID
) -> None:
    """A merged profile's undelivered events now concern the profile it joined (whose erasure drops them)."""
    await conn.execute(
        "UPDATE outhook_deliveries SET profile_id = $3 WHERE project_id = $1 AND profile_id = $2",
        project_id,
        source,
        target,
    )


@dataclass(frozen=True, slots=True)
class Pending:
    """One leased event of one endpoint."""

    event_id: uuid.UUID
    event_type: str
    occurred_at: datetime
    data: dict[str, Any]
    #: Failed attempts so far.
    attempts: int


@dataclass(frozen=True, slots=True)
class Lease:
    """Due events of one endpoint, held by one deliverer until settled (or until ``lease`` runs out,
    should its kernel die mid-call)."""

    project_id: uuid.UUID
    endpoint_id: uuid.UUID
    events: list[Pending]


# The endpoint with the oldest due event (that this deliverer is not already calling at its limit), then
# up to $3 due events of that endpoint, longest due first (the publishing order, retries behind); rows
# another kernel is leasing right now are skipped.
_CLAIM = """
WITH target AS (
    SELECT d.project_id, d.endpoint_id FROM outhook_deliveries d
    JOIN outhook_endpoints e USING (project_id, endpoint_id)
    WHERE d.next_attempt_at <= now() AND e.enabled AND NOT d.endpoint_id = any($2::uuid[])
    ORDER BY d.next_attempt_at LIMIT 1
    FOR UPDATE OF d SKIP LOCKED),
batch AS (
    SELECT d.project_id, d.endpoint_id, d.event_id
    FROM outhook_deliveries d JOIN target t USING (project_id, endpoint_id)
    WHERE d.next_attempt_at <= now()
    ORDER BY d.next_attempt_at LIMIT $3
    FOR UPDATE OF d SKIP LOCKED)
UPDATE outhook_deliveries d SET lease_owner = $1, next_attempt_at = now() + $4::interval
FROM batch b
WHERE d.project_id = b.project_id AND d.endpoint_id = b.endpoint_id AND d.event_id = b.event_id
RETURNING d.project_id, d.endpoint_id, d.event_id, d.event_type, d.occurred_at, d.data, d.attempts
"""
_KEYS = "project_id = $1 AND endpoint_id = $2 AND event_id = any($3::uuid[]) AND lease_owner = $4"


async def claim(
    pool: asyncpg.Pool, owner: uuid.UUID, busy: Sequence[uuid.UUID], size: int, lease: timedelta
) -> Lease | None:
    """Lease up to ``size`` due events of one endpoint not in ``busy``; None when nothing is due."""
    rows = await pool.fetch(_CLAIM, owner, list(busy), size, lease)
    if not rows:
        return None
    events = [
        Pending(r["event_id"], r["event_type"], r["occurred_at"], r["data"], r["attempts"])
        for r in sorted(rows, key=lambda r: (r["occurred_at"], r["event_id"]))
    ]
    return Lease(rows[0]["project_id"], rows[0]["endpoint_id"], events)


async def release(pool: asyncpg.Pool, owner: uuid.UUID, lease: Lease, events: Sequence[Pending]) -> None:
    """Give ``events`` back, due now, untried (they did not fit in the call)."""
    await pool.execute(
        f"UPDATE outhook_deliveries SET lease_owner = NULL, next_attempt_at = now() WHERE {_KEYS}",
        lease.project_id,
        lease.endpoint_id,
        [event.event_id for event in events],
        owner,
    )


async def remove(conn: asyncpg.Connection, owner: uuid.UUID, lease: Lease, events: Sequence[Pending]) -> None:
    """Delete delivered (or dropped) events this deliverer still holds."""
    await conn.execute(
        f"DELETE FROM outhook_deliveries WHERE {_KEYS}",
        lease.project_id,
        lease.endpoint_id,
        [event.event_id for event in events],
        owner,
    )


async def retry_or_drop(
    conn: asyncpg.Connection,
    owner: uuid.UUID,
    lease: Lease,
    delays: dict[uuid.UUID, float],
    max_age: timedelta,
) -> tuple[int, datetime | None]:
    """Each event of ``delays`` due again after its delay (seconds), one more failed attempt counted, or
    dropped if that would be past ``max_age`` after it happened (by the database's clock, which every
    kernel shares). The events of an endpoint disabled meanwhile are parked (see :func:`hold`). Returns
    how many were dropped, and the earliest retry."""
    row = await conn.fetchrow(
        """WITH planned AS (
               SELECT d.event_id, now() + make_interval(secs => u.delay) AS due,
                      d.occurred_at + $6::interval AS too_late
               FROM outhook_deliveries d JOIN unnest($3::uuid[], $5::float8[]) AS u(event_id, delay)
                 ON d.event_id = u.event_id
               WHERE d.project_id = $1 AND d.endpoint_id = $2 AND d.lease_owner = $4),
           dropped AS (
               DELETE FROM outhook_deliveries d USING planned p
               WHERE d.project_id = $1 AND d.endpoint_id = $2 AND d.event_id = p.event_id
                 AND p.due > p.too_late
               RETURNING d.event_id),
           kept AS (
               UPDATE outhook_deliveries d
               SET lease_owner = NULL, attempts = attempts + 1,
                   next_attempt_at = CASE WHEN (SELECT enabled FROM outhook_endpoints
                                                WHERE project_id = $1 AND endpoint_id = $2)
                                          THEN p.due ELSE 'infinity' END
               FROM planned p
               WHERE d.project_id = $1 AND d.endpoint_id = $2 AND d.event_id = p.event_id
                 AND p.due <= p.too_late
               RETURNING d.next_attempt_at)
           SELECT (SELECT count(*) FROM dropped) AS dropped,
                  (SELECT min(next_attempt_at) FROM kept) AS retry""",
        lease.project_id,
        lease.endpoint_id,
        list(delays),
        owner,
        list(delays.values()),
        max_age,
    )
    return row["dropped"], row["retry"]


async def drop_expired(
    conn: asyncpg.Connection, max_age: timedelta
) -> dict[tuple[uuid.UUID, uuid.UUID], int]:
    """Delete the events older than ``max_age`` that no deliverer holds (an endpoint disabled or failing
    for that long); returns how many per (project, endpoint)."""
    rows = await conn.fetch(
        """WITH gone AS (
               DELETE FROM outhook_deliveries
               WHERE occurred_at < now() - $1::interval AND (lease_owner IS NULL OR next_attempt_at < now())
               RETURNING project_id, endpoint_id)
           SELECT project_id, endpoint_id, count(*) AS events FROM gone GROUP BY project_id, endpoint_id""",
        max_age,
    )
    return {(r["project_id"], r["endpoint_id"]): r["events"] for r in rows}


async def hold(conn: asyncpg.Connection, project_id: uuid.UUID, endpoint_id: uuid.UUID, held: bool) -> None:
    """Park a disabled endpoint's waiting events out of the way of every claim (due at infinity; they
    still expire with age), or make them due now when it is enabled again."""
    await conn.execute(
        """UPDATE outhook_deliveries
           SET next_attempt_at = CASE WHEN $3 THEN 'infinity'::timestamptz ELSE now() END
           WHERE project_id = $1 AND endpoint_id = $2 AND lease_owner IS NULL""",
        project_id,
        endpoint_id,
        held,
    )
