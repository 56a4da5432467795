"""Publishing: what any part of Herald calls, inside the transaction of the fact it reports.

A publisher first asks :func:`subscribed` (one probe of a partial index on the project's enabled
endpoints, a few rows at most) and builds its events only for the types someone follows: a project without
endpoints pays that probe per batch of facts, and nothing else. :func:`publish` then fans the events out
to the subscribed endpoints in one statement (the outbox, ``outhook_deliveries``). Both run in the
caller's transaction, so an event exists if and only if its fact committed: nothing reported that was
rolled back, nothing lost between the fact and the outbox. The probe is not cached: an endpoint receives
every event committed after its own creation, on every kernel.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

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
