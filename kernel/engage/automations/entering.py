"""Entering one profile into the automations a profile trigger names, as a scheduler job: one transaction
with the job marked done (a run whose lease went to another scheduler rolls back, so each job takes effect
once), locks in the runner's order (profile, then each automation shared), first sends attempted after the
commit."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from kernel.engage.automations import store
from kernel.engage.automations.graph import Graph
from kernel.engage.automations.graphs import Graphs
from kernel.engage.automations.runner import AutomationRunner, LeaseLost
from kernel.engage.automations.sending import Planned
from kernel.scheduler import Job, finish

#: Whether the profile enters the automation of this graph (its latest version): what templates print
#: as ``{{ event.x }}`` (stored attribute form, JSON text) if so, else None.
Decide = Callable[[asyncpg.Connection, uuid.UUID, Graph], Awaitable[str | None]]


class Entering:
    def __init__(self, pool: asyncpg.Pool, graphs: Graphs, runner: AutomationRunner) -> None:
        self.pool = pool
        self.graphs = graphs
        self._runner = runner

    async def enter(
        self, job: Job, profile_id: uuid.UUID, automation_ids: Sequence[uuid.UUID], decide: Decide
    ) -> None:
        planned: list[Planned] = []
        async with self.pool.acquire() as conn, conn.transaction():
            if not await finish(conn, job):
                raise LeaseLost(f"{job.kind} {job.key}")
            if not await store.lock_profile(conn, job.project_id, profile_id):
                return
            for automation_id in sorted(automation_ids):
                current = await store.share_state(conn, job.project_id, automation_id)
                if current is None or current[0] != "active":
                    continue
                graph = await self.graphs.get(conn, job.project_id, automation_id, current[1])
                attributes = await decide(conn, automation_id, graph)
                if attributes is not None:
                    planned += await self._runner.enter(
                        conn, job.project_id, automation_id, current[1], profile_id, attributes
                    )
        await self._runner.attempt(planned)
