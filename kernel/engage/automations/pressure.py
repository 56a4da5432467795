"""An automation's send step judged by its project's marketing pressure rules (:mod:`kernel.engage.pressure`)
as its message is about to be stored, in the walk's transaction, with the same verdicts as a bulk send's
messages and counted in the same ``marketing_touches``
(:func:`kernel.engage.pressure.touches.judge_together`).

A message the rules keep is not stored: the step records why as a fact (capped, grace_period,
quiet_hours_dropped, quiet_hours_delayed). Delayed, the entry waits at the send step until the quiet hours
end, on a wait's durable timer (an exit event, a pause or an archive treat it as any wait), and the step is
judged again then, on the caps as they stand.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from kernel.engage.automations.facts import Fact, StepFact
from kernel.engage.automations.store import Entry
from kernel.engage.pressure.store import ProjectPressure
from kernel.engage.pressure.touches import Candidate, judge_together


@dataclass(frozen=True, slots=True)
class Held:
    """The rules kept the step's message; ``until``: when to judge it again (None: dropped)."""

    until: datetime | None


@dataclass(frozen=True, slots=True)
class Judged:
    """A send step's message about to be stored for an entry."""

    entry: Entry
    step_id: str
    message_id: str
    channel: str
    label: str


async def hold_together(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    pressure: ProjectPressure | None,
    judged: Sequence[Judged],
) -> tuple[list[Held | None], list[StepFact]]:
    """Per message, None when it may go now (it is counted then), else what the rules make of it; and the
    facts that record why the held ones were (for the caller to store with the others). ``pressure``: the
    project's rules (None: it has none)."""
    if pressure is None or not judged:
        return [None] * len(judged), []
    candidates = [Candidate(j.message_id, j.entry.profile_id, j.channel, j.label) for j in judged]
    _, verdicts = await judge_together(conn, project_id, pressure.rules, pressure.zone, candidates)
    held: list[Held | None] = []
    found: list[StepFact] = []
    for one, verdict in zip(judged, verdicts, strict=True):
        if verdict.reason is None:
            held.append(None)
        else:
            found.append(StepFact(project_id, one.entry, one.step_id, Fact(verdict.reason.value)))
            held.append(Held(verdict.until))
    return held, found
