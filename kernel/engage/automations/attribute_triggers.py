"""Attribute-change triggers: a watched attribute changed by a profile write (its own transaction queued
the job, :mod:`kernel.engage.automations.profile_follower`) enters the profile into the automations whose
trigger that change matches."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg

from kernel.engage.automations import watch_store
from kernel.engage.automations.entering import Entering
from kernel.engage.automations.graph import Graph
from kernel.engage.automations.trigger_kinds import AttributeChange
from kernel.profiles.followers import AttributeChanged
from kernel.scheduler import Job

#: The scheduler's kind for a watched attribute's change; its payload: profile_id, key, before, after.
ATTRIBUTE = "automation.attribute"


def change_payload(change: AttributeChanged) -> dict[str, Any]:
    return {
        "profile_id": str(change.profile_id),
        "key": change.key,
        "before": change.before,
        "after": change.after,
    }


class AttributeTriggers:
    def __init__(self, entering: Entering) -> None:
        self._entering = entering

    async def on_change(self, job: Job) -> None:
        key, before, after = job.payload["key"], job.payload["before"], job.payload["after"]

        async def decide(conn: asyncpg.Connection, automation_id: uuid.UUID, graph: Graph) -> str | None:
            trigger = graph.profile_trigger
            if isinstance(trigger, AttributeChange) and trigger.key == key and trigger.matches(before, after):
                return json.dumps({key: after} if after is not None else {})
            return None

        async with self._entering.pool.acquire() as conn:
            watching = await watch_store.watching(conn, job.project_id, "attribute")
        automations = [automation_id for automation_id, subject in watching if subject == key]
        await self._entering.enter(job, uuid.UUID(job.payload["profile_id"]), automations, decide)
