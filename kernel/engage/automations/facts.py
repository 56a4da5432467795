"""Facts of an entry at a step, appended to ``automation_step_facts`` in the transaction that walks the step.

Statistics count them per automation, version and step; decisions read them for an entry (was the message
of step ``push`` opened?). A message fact names its message, whose provider feedback is the step's.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import asyncpg

from kernel.engage.automations.store import Entry


class Fact(StrEnum):
    #: A send step stored a message for the entry (``message_id`` names it).
    MESSAGE = "message"
    #: The entry passed a checkpoint step (its name is the step's, in the automation version).
    CHECKPOINT = "checkpoint"
    #: The project's pressure rules kept the step's message (no message is stored), one fact per reason
    #: (:class:`kernel.engage.pressure.Reason`): a frequency cap was reached, the grace period since the
    #: profile's last marketing message had not passed, it was due in quiet hours (dropped, or delayed to
    #: their end, when the step is judged again).
    CAPPED = "capped"
    GRACE_PERIOD = "grace_period"
    QUIET_HOURS_DROPPED = "quiet_hours_dropped"
    QUIET_HOURS_DELAYED = "quiet_hours_delayed"


async def record(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    entry: Entry,
    step_id: str,
    fact: Fact,
    message_ids: Sequence[uuid.UUID] = (),
) -> None:
    """One fact, or one per message when ``message_ids`` are given."""
    await conn.execute(
        """INSERT INTO automation_step_facts
               (project_id, automation_id, version, step_id, entry_id, fact, message_id)
           SELECT $1, $2, $3, $4, $5, $6, m FROM unnest($7::uuid[]) AS m""",
        project_id,
        entry.automation_id,
        entry.version,
        step_id,
        entry.entry_id,
        fact.value,
        list(message_ids) or [None],
    )


@dataclass(frozen=True, slots=True)
class StepFact:
    """One fact to record (:func:`record_together`)."""

    project_id: uuid.UUID
    entry: Entry
    step_id: str
    fact: Fact
    message_id: uuid.UUID | None = None


async def record_together(conn: asyncpg.Connection, found: Sequence[StepFact]) -> None:
    """:func:`record` for the facts of several entries in one statement, in their order."""
    if not found:
        return
    await conn.execute(
        """INSERT INTO automation_step_facts
               (project_id, automation_id, version, step_id, entry_id, fact, message_id)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::uuid[], $6::text[],
                                $7::uuid[])""",
        [f.project_id for f in found],
        [f.entry.automation_id for f in found],
        [f.entry.version for f in found],
        [f.step_id for f in found],
        [f.entry.entry_id for f in found],
        [f.fact.value for f in found],
        [f.message_id for f in found],
    )


async def step_messages(
    conn: asyncpg.Connection, project_id: uuid.UUID, entry: Entry, step_id: str
) -> list[uuid.UUID]:
    """The messages the entry's passage through a send step stored."""
    rows = await conn.fetch(
        """SELECT message_id FROM automation_step_facts
           WHERE project_id = $1 AND automation_id = $2 AND entry_id = $3 AND step_id = $4
             AND fact = 'message'""",
        project_id,
        entry.automation_id,
        entry.entry_id,
        step_id,
    )
    return [row["message_id"] for row in rows]
