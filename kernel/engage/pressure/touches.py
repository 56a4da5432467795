"""Every statement on ``marketing_touches``: the marketing messages each profile was given, taken when a
batch's messages are judged, or automation steps' messages (:func:`judge_together`).

A batch is judged in one transaction that first takes the project's pressure lock, reads its profiles'
touches, judges each message in order (one admitted earlier in the batch counts for the next), and
records the admitted ones before commit. The caller sends only after the commit: two workers racing on a
profile see each other's touches, and a crash can leave a message counted and unsent (it comes back with
the same id, already counted), never sent and uncounted.

One lock per project rather than one per profile: advisory locks live in PostgreSQL's shared lock table
(``max_locks_per_transaction`` slots per connection), which a slice of up to 100,000 profiles per
transaction would exhaust; a row lock per profile would write a row per message. The project's judging
is serialised across its workers, which costs them only the few statements of a batch's judging.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg

from kernel.engage.pressure.rules import PressureRules
from kernel.engage.pressure.verdicts import SEND, Touch, Verdict, judge
from kernel.engage.pressure.zones import recipient_zones


@dataclass(frozen=True, slots=True)
class Candidate:
    """A marketing message about to be sent."""

    message_id: str
    profile_id: uuid.UUID
    channel: str
    label: str


async def judge_batch(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    rules: PressureRules,
    project_zone: ZoneInfo,
    candidates: Sequence[Candidate],
) -> tuple[datetime, list[Verdict]]:
    """When they were judged (the database's clock), and the verdict on each candidate, in order; the
    admitted ones are counted (see the module)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", _project_lock(project_id))
        return await _judge(conn, project_id, rules, project_zone, candidates)


async def judge_together(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    rules: PressureRules,
    project_zone: ZoneInfo,
    candidates: Sequence[Candidate],
) -> tuple[datetime, list[Verdict]]:
    """Messages of automation steps judged, and counted if admitted, in the caller's transaction (a walk,
    or a batch of walks).

    The project's pressure lock is taken shared and each profile's exclusively (in a fixed order, their
    hashes': two batches of overlapping profiles wait, never deadlock): walks of different profiles judge
    side by side, two of one profile take turns, and a bulk batch (the project's lock exclusively) waits
    for the walks judging under it and they for it, so bulk and automation messages count together. All
    are held until the caller's transaction ends, when its touches are visible."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))", _project_lock(project_id)
    )
    await conn.execute(
        """SELECT pg_advisory_xact_lock(h)
           FROM (SELECT DISTINCT hashtextextended($1 || '/' || p::text, 0) AS h
                 FROM unnest($2::uuid[]) AS p ORDER BY h) AS s""",
        _project_lock(project_id),
        [c.profile_id for c in candidates],
    )
    return await _judge(conn, project_id, rules, project_zone, candidates)


def _project_lock(project_id: uuid.UUID) -> str:
    return f"herald.pressure:{project_id}"


async def _judge(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    rules: PressureRules,
    project_zone: ZoneInfo,
    candidates: Sequence[Candidate],
) -> tuple[datetime, list[Verdict]]:
    """The verdicts, the locks held; the admitted candidates' touches stored."""
    profiles = sorted({c.profile_id for c in candidates})
    now, history, counted = await _history(conn, project_id, profiles, rules)
    zones = await recipient_zones(conn, project_id, profiles, project_zone) if rules.quiet_hours else {}
    verdicts: list[Verdict] = []
    admitted: list[Candidate] = []
    for candidate in candidates:
        if candidate.message_id in counted:
            verdict = SEND
        else:
            zone = zones.get(candidate.profile_id, project_zone)
            touches = history[candidate.profile_id]
            verdict = judge(rules, now, zone, touches, candidate.channel, candidate.label)
            if verdict.reason is None:
                touches.append(Touch(now, candidate.channel, candidate.label))
                counted.add(candidate.message_id)
                admitted.append(candidate)
        verdicts.append(verdict)
    if admitted:
        await conn.execute(
            """INSERT INTO marketing_touches
                   (project_id, profile_id, message_id, touched_at, channel, label)
               SELECT $1, t.profile_id, t.message_id, $2, t.channel, t.label
               FROM unnest($3::uuid[], $4::uuid[], $5::text[], $6::text[])
                   AS t(profile_id, message_id, channel, label)
               ON CONFLICT DO NOTHING""",
            project_id,
            now,
            [c.profile_id for c in admitted],
            [c.message_id for c in admitted],
            [c.channel for c in admitted],
            [c.label for c in admitted],
        )
    return now, verdicts


async def _history(
    conn: asyncpg.Connection, project_id: uuid.UUID, profiles: list[uuid.UUID], rules: PressureRules
) -> tuple[datetime, Mapping[uuid.UUID, list[Touch]], set[str]]:
    """The database's time (read once the locks are held, so that it orders the touches of racing
    workers), the profiles' touches within the rules' reach, and the ids of every touch they hold; touches
    beyond the reach are deleted on the way."""
    rows = await conn.fetch(
        """WITH clock AS (SELECT clock_timestamp() AS now),
                gone AS (DELETE FROM marketing_touches
                         WHERE project_id = $1 AND profile_id = any($2::uuid[])
                           AND touched_at <= (SELECT now FROM clock) - $3::interval)
           SELECT c.now, t.profile_id, t.message_id::text, t.touched_at, t.channel, t.label
           FROM clock c LEFT JOIN marketing_touches t
               ON t.project_id = $1 AND t.profile_id = any($2::uuid[])""",
        project_id,
        profiles,
        rules.lookback,
    )
    history: defaultdict[uuid.UUID, list[Touch]] = defaultdict(list)
    counted: set[str] = set()
    for row in rows:
        if row["profile_id"] is not None:
            history[row["profile_id"]].append(Touch(row["touched_at"], row["channel"], row["label"]))
            counted.add(row["message_id"])
    return rows[0]["now"], history, counted
