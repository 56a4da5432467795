"""An automation's send step judged by its project's marketing pressure rules (:mod:`kernel.engage.pressure`)
as its message is about to be stored, in the walk's transaction, with the same verdicts as a bulk send's
messages and counted in the same ``marketing_touches`` (:func:`kernel.engage.pressure.touches.judge_one`).

A message the rules keep is not stored: the step records why as a fact (capped, grace_period,
quiet_hours_dropped, quiet_hours_delayed). Delayed, the entry waits at the send step until the quiet hours
end, on a wait's durable timer (an exit event, a pause or an archive treat it as any wait), and the step is
judged again then, on the caps as they stand.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from kernel.engage.automations import facts
from kernel.engage.automations.facts import Fact
from kernel.engage.automations.store import Entry
from kernel.engage.pressure.store import rules_of
from kernel.engage.pressure.touches import Candidate, judge_one


@dataclass(frozen=True, slots=True)
class Held:
    """The rules kept the step's message; ``until``: when to judge it again (None: dropped)."""

    until: datetime | None


async def hold(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    entry: Entry,
    step_id: str,
    message_id: str,
    channel: str,
    label: str,
) -> Held | None:
    """None when the message may go now (it is counted then); else what the rules make of it, recorded as
    the step's fact."""
    pressure = (await rules_of(conn, [project_id])).get(project_id)
    if pressure is None:
        return None
    candidate = Candidate(message_id, entry.profile_id, channel, label)
    _, verdict = await judge_one(conn, project_id, pressure.rules, pressure.zone, candidate)
    if verdict.reason is None:
        return None
    await facts.record(conn, project_id, entry, step_id, Fact(verdict.reason.value))
    return Held(verdict.until)
