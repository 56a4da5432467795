"""Segment triggers: a profile entering or leaving a saved segment enters it into the automations that
follow that transition.

The members each automation follows are kept (``automation_segment_members``), so a transition is seen
once: the job that changes a profile's membership row is the one that enters it. A profile is evaluated
again in a job (not in the write's transaction: a segment may read events and addresses) queued when it
changes (:mod:`kernel.engage.automations.profile_follower`), and when the periodic sweep
(:mod:`kernel.engage.automations.scans`) finds it moved, e.g. by a condition relative to now.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from kernel.engage.automations import watch_store
from kernel.engage.automations.entering import Entering
from kernel.engage.automations.graph import Graph
from kernel.engage.automations.matching import profile_matches
from kernel.engage.automations.trigger_kinds import SegmentTransition
from kernel.engage.segments import Predicate, compile_predicate
from kernel.engage.segments.conditions import SegmentRef
from kernel.engage.segments.freeze import inline
from kernel.errors import InvalidArgument
from kernel.scheduler import Job

#: The scheduler's kind for evaluating a profile's segment memberships again; its payload: profile_id,
#: and automation_id when only that automation's segment is to be evaluated (the sweep's).
SEGMENT = "automation.segment"


def check_payload(profile_id: uuid.UUID, automation_id: uuid.UUID | None = None) -> dict[str, str]:
    payload = {"profile_id": str(profile_id)}
    if automation_id is not None:
        payload["automation_id"] = str(automation_id)
    return payload


async def take_members(
    conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID, segment_id: str
) -> None:
    """The segment's members now become the automation's first members (they do not "enter")."""
    predicate = await _predicate(conn, project_id, segment_id)
    if predicate is not None:
        await watch_store.take_members(conn, project_id, automation_id, predicate)


async def moved(
    conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID, segment_id: str
) -> list[uuid.UUID]:
    """The profiles whose membership changed since last evaluated (the sweep)."""
    predicate = await _predicate(conn, project_id, segment_id)
    return [] if predicate is None else await watch_store.moved(conn, project_id, automation_id, predicate)


async def _predicate(conn: asyncpg.Connection, project_id: uuid.UUID, segment_id: str) -> Predicate | None:
    """The segment compiled over ``p`` with parameters from $3; None once it was deleted (nobody moves)."""
    try:
        condition = await inline(conn, project_id, SegmentRef(segment_id), "segment_id")
    except InvalidArgument:
        return None
    return compile_predicate(condition, datetime.now(UTC), first=3)


class SegmentTriggers:
    def __init__(self, entering: Entering) -> None:
        self._entering = entering

    async def on_check(self, job: Job) -> None:
        profile_id = uuid.UUID(job.payload["profile_id"])

        async def decide(conn: asyncpg.Connection, automation_id: uuid.UUID, graph: Graph) -> str | None:
            trigger = graph.profile_trigger
            if not isinstance(trigger, SegmentTransition):
                return None
            try:
                member = await profile_matches(
                    conn, job.project_id, profile_id, SegmentRef(trigger.segment_id)
                )
            except InvalidArgument:
                return None  # the segment was deleted
            changed = await watch_store.set_member(conn, job.project_id, automation_id, profile_id, member)
            return "{}" if changed and member == trigger.entered else None

        if "automation_id" in job.payload:
            automations = [uuid.UUID(job.payload["automation_id"])]
        else:
            async with self._entering.pool.acquire() as conn:
                watching = await watch_store.watching(conn, job.project_id, "segment")
            automations = [automation_id for automation_id, _ in watching]
        await self._entering.enter(job, profile_id, automations, decide)
