"""What a save checks in the database for the steps that name something of the project: the automation a
redirect step enters, the endpoint a webhook step calls, the saved segments a decision reads.

Each is checked at the save only: a redirect's automation may be paused or archived later, an endpoint
deleted, a segment deleted; the runner then does what the step's documentation says (enters nothing,
posts nothing, answers no).
"""

from __future__ import annotations

import uuid

import asyncpg

from kernel.engage.automations.graph import Graph
from kernel.engage.automations.step_kinds import Decision, Redirect, Webhook
from kernel.engage.segments.freeze import inline
from kernel.errors import InvalidArgument


async def check_references(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    automation_id: uuid.UUID | None,
    graph: Graph,
    step_indexes: dict[str, int],
) -> None:
    """INVALID_ARGUMENT naming the step's field under ``automation``; ``automation_id``: the automation
    saved (None while created), ``step_indexes``: each step's index in ``automation.steps``."""
    for step_id, step in graph.steps.items():
        field = f"automation.steps[{step_indexes[step_id]}]"
        if isinstance(step, Redirect):
            await _check_redirect(conn, project_id, automation_id, step, f"{field}.redirect.automation_id")
        elif isinstance(step, Webhook):
            found = await conn.fetchval(
                "SELECT true FROM outhook_endpoints WHERE project_id = $1 AND endpoint_id = $2",
                project_id,
                step.endpoint_id,
            )
            if not found:
                raise InvalidArgument(
                    "no such webhook endpoint in this project", f"{field}.webhook.endpoint_id"
                )
        elif isinstance(step, Decision) and step.condition is not None:
            await inline(conn, project_id, step.condition, f"{field}.decision.condition")


async def _check_redirect(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    automation_id: uuid.UUID | None,
    step: Redirect,
    field: str,
) -> None:
    if step.automation_id == automation_id:
        raise InvalidArgument("a redirect enters another automation, not this one", field)
    state = await conn.fetchval(
        "SELECT state FROM automations WHERE project_id = $1 AND automation_id = $2",
        project_id,
        step.automation_id,
    )
    if state is None:
        raise InvalidArgument("no such automation in this project", field)
    if state == "archived":
        raise InvalidArgument("the automation is archived", field)
