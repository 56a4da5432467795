"""Date-attribute triggers (a birthday, a subscription's end): the profiles whose date falls, with the
trigger's offset, on a local day whose time of day comes within the scan's window get a durable timer at
that instant; the timer enters the profile if the attribute still gives that day.

Instants are computed by PostgreSQL from the local wall time in the recipient's zone (its ``timezone``
attribute when PostgreSQL knows it, else the project's): 09:00 on a DST change day is 09:00 of the new
offset. A local time in the spring gap is read at the offset before the change (02:30 in a 02:00-03:00
gap is 03:30 new time); one that occurs twice (autumn) is the second, at the new offset. Every year
(``every_year``) a 29 February is celebrated on 28 February in years without one. A timer is named by
the occurrence's local day, so a profile enters once per occurrence however many scans find it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import asyncpg

from kernel.engage.automations.entering import Entering
from kernel.engage.automations.graph import Graph
from kernel.engage.automations.trigger_kinds import DateAttribute
from kernel.engage.segments.compiler import TIMEZONE_ATTRIBUTE
from kernel.scheduler import Job, schedule

#: The scheduler's kind for a profile's date occurrence; its key: "<automation>/<profile>/<local day>",
#: its payload: profile_id, day, instant (as planned).
DATE = "automation.date"
#: How far ahead a scan plans the occurrences: more than a scan's interval, so that a scan missed (every
#: kernel down) leaves the timers already planned.
LOOKAHEAD = timedelta(days=2)

_OCCURRENCES = f"""
WITH dated AS (
    SELECT p.profile_id, z.zone,
           CASE p.attributes -> $2 ->> 't'
               WHEN 's' THEN automation_text_date(p.attributes -> $2 ->> 'v')
               WHEN 'd' THEN ((p.attributes -> $2 ->> 'v')::timestamptz AT TIME ZONE z.zone)::date
           END AS day
    FROM profiles p
    CROSS JOIN LATERAL (SELECT CASE
        WHEN p.attributes -> '{TIMEZONE_ATTRIBUTE}' ->> 'v' IN (SELECT name FROM pg_timezone_names)
        THEN p.attributes -> '{TIMEZONE_ATTRIBUTE}' ->> 'v'
        ELSE (SELECT timezone FROM projects WHERE project_id = $1) END AS zone) z
    WHERE p.project_id = $1 AND p.attributes ? $2 AND ($9::uuid IS NULL OR p.profile_id = $9)
), occurring AS (
    SELECT d.profile_id, d.zone, o.day
    FROM dated d
    CROSS JOIN LATERAL (
        SELECT d.day + $3::int AS day WHERE NOT $4::boolean
        UNION ALL
        SELECT CASE WHEN to_char(d.day, 'MM-DD') = '02-29'
                         AND NOT ((y % 4 = 0 AND y % 100 <> 0) OR y % 400 = 0)
                    THEN make_date(y, 2, 28)
                    ELSE make_date(y, extract(month FROM d.day)::int, extract(day FROM d.day)::int)
               END + $3::int
        FROM generate_series(extract(year FROM $7::timestamptz)::int - 2,
                             extract(year FROM $7::timestamptz)::int + 2) AS y
        WHERE $4::boolean
    ) o
    WHERE d.day IS NOT NULL
)
SELECT profile_id, day, instant
FROM occurring CROSS JOIN LATERAL (
    SELECT (day + make_time($5::int, $6::int, 0)) AT TIME ZONE zone AS instant) i
WHERE instant >= $7 AND instant < $8
ORDER BY profile_id, day
"""


@dataclass(frozen=True, slots=True)
class Occurrence:
    profile_id: uuid.UUID
    #: The local day it falls on.
    day: date
    instant: datetime


async def occurrences(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    trigger: DateAttribute,
    since: datetime,
    until: datetime,
    profile_id: uuid.UUID | None = None,
) -> list[Occurrence]:
    """The occurrences whose instant is in [since, until), of every profile or of ``profile_id``."""
    rows = await conn.fetch(
        _OCCURRENCES,
        project_id,
        trigger.key,
        trigger.offset_days,
        trigger.every_year,
        trigger.hour,
        trigger.minute,
        since,
        until,
        profile_id,
    )
    return [Occurrence(row["profile_id"], row["day"], row["instant"]) for row in rows]


async def plan(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    automation_id: uuid.UUID,
    trigger: DateAttribute,
    now: datetime,
) -> int:
    """Store the timers of the occurrences from ``now`` to :data:`LOOKAHEAD` later; how many are new."""
    planned = 0
    for found in await occurrences(conn, project_id, trigger, now, now + LOOKAHEAD):
        planned += await schedule(
            conn,
            project_id,
            DATE,
            f"{automation_id}/{found.profile_id}/{found.day.isoformat()}",
            found.instant,
            {
                "profile_id": str(found.profile_id),
                "day": found.day.isoformat(),
                "instant": found.instant.isoformat(),
            },
        )
    return planned


class DateTriggers:
    def __init__(self, entering: Entering) -> None:
        self._entering = entering

    async def on_due(self, job: Job) -> None:
        automation_id, profile_id = (uuid.UUID(part) for part in job.key.split("/")[:2])
        day = date.fromisoformat(job.payload["day"])
        instant = datetime.fromisoformat(job.payload["instant"])

        async def decide(conn: asyncpg.Connection, automation_id: uuid.UUID, graph: Graph) -> str | None:
            trigger = graph.profile_trigger
            if not isinstance(trigger, DateAttribute):
                return None
            # The attribute (or the zone) may have changed since planned: the day must still be one.
            found = await occurrences(
                conn,
                job.project_id,
                trigger,
                instant - timedelta(days=1),
                instant + timedelta(days=1),
                profile_id,
            )
            return "{}" if any(occurrence.day == day for occurrence in found) else None

        await self._entering.enter(job, profile_id, [automation_id], decide)
