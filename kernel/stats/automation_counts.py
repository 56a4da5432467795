"""What an automation's statistics count, read per version and step: its entries (where they are, why
they left), the facts its steps recorded, its send steps' messages with their providers' reports, and
its conversions.

Every read is bounded by the automation: entries by their primary key (project, automation, entry),
facts by ``automation_step_facts_step`` (counted from the index alone), messages by their primary key,
a message's reports by ``events_message_reports`` (migration 0042: one probe per message, the report
events alone), and conversion events by ``events_name_time`` from the automation's creation, each with
its recipient's entries (``automation_entries_profile``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from kernel.channels import FeedbackKind
from kernel.stats.goals import Goal

#: (version, step id).
StepKey = tuple[int, str]
#: The reports counted per message, each once however often the provider sent it.
REPORTED = (FeedbackKind.DELIVERED, FeedbackKind.BOUNCED, FeedbackKind.OPENED, FeedbackKind.CLICKED)

_ENTRIES = """
SELECT version, step_id, state, coalesce(exit_reason, '') AS reason, count(*) AS entries
FROM automation_entries WHERE project_id = $1 AND automation_id = $2
GROUP BY 1, 2, 3, 4
"""
_FACTS = """
SELECT version, step_id, fact, count(*) AS facts
FROM automation_step_facts WHERE project_id = $1 AND automation_id = $2
GROUP BY 1, 2, 3
"""
_MESSAGES = """
SELECT f.version, f.step_id,
       count(*) FILTER (WHERE m.status = 'sent') AS sent,
       count(*) FILTER (WHERE m.status IN ('failed', 'expired')) AS failed,
       count(*) FILTER (WHERE 'delivered' = any(r.kinds)) AS delivered,
       count(*) FILTER (WHERE 'bounced' = any(r.kinds)) AS bounced,
       count(*) FILTER (WHERE 'opened' = any(r.kinds)) AS opened,
       count(*) FILTER (WHERE 'clicked' = any(r.kinds)) AS clicked
FROM automation_step_facts f
JOIN messages m ON m.project_id = f.project_id AND m.message_id = f.message_id
CROSS JOIN LATERAL (
    SELECT array_agg(DISTINCT substr(e.name, length('herald.message.') + 1)) AS kinds FROM events e
    WHERE e.project_id = f.project_id AND e.name LIKE 'herald.message.%'
      AND e.attributes -> 'message_id' ->> 'v' = m.message_id::text AND e.name = any($3::text[])
) AS r
WHERE f.project_id = $1 AND f.automation_id = $2 AND f.fact = 'message'
GROUP BY 1, 2
"""
_CONVERTED = """
WITH converted AS (
    SELECT DISTINCT ON (last.entry_id) last.version, last.step_id
    FROM automations a
    JOIN events e ON e.project_id = a.project_id AND e.name = $3 AND e.occurred_at >= a.created_at
    CROSS JOIN LATERAL (
        SELECT f.version, f.step_id, f.entry_id, f.at FROM automation_entries n
        JOIN automation_step_facts f
            ON f.project_id = n.project_id AND f.automation_id = n.automation_id AND f.entry_id = n.entry_id
        JOIN messages m ON m.project_id = f.project_id AND m.message_id = f.message_id
        WHERE n.project_id = $1 AND n.profile_id = e.profile_id AND n.automation_id = $2
          AND f.fact = 'message' AND m.status = 'sent' AND f.at <= e.occurred_at
        ORDER BY f.at DESC LIMIT 1
    ) AS last
    WHERE a.project_id = $1 AND a.automation_id = $2 AND e.occurred_at < last.at + $4::interval
    ORDER BY last.entry_id, e.occurred_at
)
SELECT version, step_id, count(*) AS converted FROM converted GROUP BY 1, 2
"""


@dataclass(frozen=True, slots=True)
class Entries:
    """Entries of a version at a step: inside (``reason`` empty), or left from it for ``reason``."""

    key: StepKey
    inside: bool
    reason: str
    entries: int


@dataclass(frozen=True, slots=True)
class Messages:
    """A step's messages: their outcomes, and the messages each report kind was received for."""

    key: StepKey
    counts: Mapping[str, int]


async def entries(conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID) -> list[Entries]:
    rows = await conn.fetch(_ENTRIES, project_id, automation_id)
    return [
        Entries((row["version"], row["step_id"]), row["state"] == "inside", row["reason"], row["entries"])
        for row in rows
    ]


async def facts(
    conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID
) -> dict[StepKey, dict[str, int]]:
    """Each step's facts per kind."""
    counted: dict[StepKey, dict[str, int]] = {}
    for row in await conn.fetch(_FACTS, project_id, automation_id):
        counted.setdefault((row["version"], row["step_id"]), {})[row["fact"]] = row["facts"]
    return counted


async def messages(
    conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID
) -> list[Messages]:
    names = [f"herald.message.{kind.value}" for kind in REPORTED]
    rows = await conn.fetch(_MESSAGES, project_id, automation_id, names)
    return [
        Messages((row["version"], row["step_id"]), {name: row[name] for name in list(row.keys())[2:]})
        for row in rows
    ]


async def conversions(
    conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID, goal: Goal
) -> dict[StepKey, int]:
    """Entries converted, per step of the last message of the automation before the event."""
    rows = await conn.fetch(_CONVERTED, project_id, automation_id, goal.event, goal.window)
    return {(row["version"], row["step_id"]): row["converted"] for row in rows}
