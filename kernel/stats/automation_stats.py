"""The statistics of an automation: per step of each version, each version's (its steps' added together,
with its entries), and the automation's (its versions' added together), read in one snapshot.

An entry is counted where it is: inside at the step it waits at, or left from the step it left at (an
end step, or the step it waited at when an exit event or the archive removed it). Facts and messages
belong to the step that recorded them (:mod:`kernel.engage.automations.facts`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import asyncpg

from herald.v1 import automations_pb2
from kernel.engage.automations import store
from kernel.engage.automations.views import automation_of
from kernel.errors import NotFound
from kernel.projects import parse_id
from kernel.stats import automation_counts
from kernel.stats.automation_counts import StepKey
from kernel.stats.goals import Goal, goal_of

#: Figures counted per message (:data:`automation_counts.REPORTED`'s and the messages' outcomes).
MESSAGE_FIGURES = ("sent", "failed", "delivered", "bounced", "opened", "clicked")


def _added(one: dict[str, int], other: dict[str, int]) -> None:
    for name, count in other.items():
        one[name] = one.get(name, 0) + count


@dataclass(slots=True)
class Passage:
    """What entries did somewhere: an automation, a version or a step (which has no ``entered``)."""

    entered: int = 0
    inside: int = 0
    left_by_reason: dict[str, int] = field(default_factory=dict)
    #: Per message figure (:data:`MESSAGE_FIGURES`).
    messages: dict[str, int] = field(default_factory=dict)
    converted: int = 0
    #: Per fact kind.
    facts: dict[str, int] = field(default_factory=dict)

    def add(self, other: Passage) -> None:
        self.entered += other.entered
        self.inside += other.inside
        self.converted += other.converted
        _added(self.left_by_reason, other.left_by_reason)
        _added(self.messages, other.messages)
        _added(self.facts, other.facts)

    @property
    def left(self) -> int:
        return sum(self.left_by_reason.values())


@dataclass(slots=True)
class StepFigures:
    step_id: str
    #: The step's kind, as Step's oneof names it ("" for a step its version does not list).
    kind: str
    passage: Passage = field(default_factory=Passage)


@dataclass(slots=True)
class VersionFigures:
    version: int
    #: The version's entries, its steps' figures added together.
    total: Passage
    #: In the order the version lists them, then any other step found.
    steps: list[StepFigures]


@dataclass(slots=True)
class AutomationFigures:
    automation_id: uuid.UUID
    goal: Goal | None
    total: Passage
    #: Oldest first.
    versions: list[VersionFigures]


async def automation_stats(pool: asyncpg.Pool, project_id: uuid.UUID, text: str) -> AutomationFigures:
    """GetAutomationStats."""
    automation_id = parse_id(text, "automation_id")
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        row = await store.read(conn, project_id, automation_id)
        if row is None:
            raise NotFound("no such automation in this project", "automation_id")
        goal = goal_of(automation_of(dict(row.definition)))
        steps = await _steps(conn, project_id, automation_id)
        entered: dict[int, int] = {}
        for counted in await automation_counts.entries(conn, project_id, automation_id):
            entered[counted.key[0]] = entered.get(counted.key[0], 0) + counted.entries
            passage = _at(steps, counted.key).passage
            if counted.inside:
                passage.inside += counted.entries
            else:
                _added(passage.left_by_reason, {counted.reason: counted.entries})
        for key, kinds in (await automation_counts.facts(conn, project_id, automation_id)).items():
            _added(_at(steps, key).passage.facts, kinds)
        for sent in await automation_counts.messages(conn, project_id, automation_id):
            _added(_at(steps, sent.key).passage.messages, dict(sent.counts))
        if goal is not None:
            converted = await automation_counts.conversions(conn, project_id, automation_id, goal)
            for key, count in converted.items():
                _at(steps, key).passage.converted += count
    versions = [
        _version(version, entered.get(version, 0), listed)
        for version, listed in sorted(steps.items())
        if entered.get(version) or any(step.passage != Passage() for step in listed.values())
    ]
    total = Passage()
    for version in versions:
        total.add(version.total)
    return AutomationFigures(automation_id, goal, total, versions)


def _version(version: int, entered: int, steps: dict[str, StepFigures]) -> VersionFigures:
    total = Passage(entered=entered)
    for step in steps.values():
        total.add(step.passage)
    return VersionFigures(version, total, list(steps.values()))


def _at(steps: dict[int, dict[str, StepFigures]], key: StepKey) -> StepFigures:
    version, step_id = key
    return steps.setdefault(version, {}).setdefault(step_id, StepFigures(step_id, ""))


async def _steps(
    conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID
) -> dict[int, dict[str, StepFigures]]:
    """Every version's steps as it lists them, with their kinds, nothing counted yet."""
    rows = await conn.fetch(
        """SELECT version, definition FROM automation_versions
           WHERE project_id = $1 AND automation_id = $2 ORDER BY version""",
        project_id,
        automation_id,
    )
    steps: dict[int, dict[str, StepFigures]] = {}
    for row in rows:
        listed: list[automations_pb2.Step] = list(automation_of(dict(row["definition"])).steps)
        steps[row["version"]] = {
            step.step_id: StepFigures(step.step_id, step.WhichOneof("kind") or "") for step in listed
        }
    return steps
