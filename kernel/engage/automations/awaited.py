"""Events that wait_for_event steps await: which names ingestion must follow for a graph, and whether a
tracked event is the one a profile's step awaits."""

from __future__ import annotations

import asyncpg

from kernel.engage.automations.graph import Graph
from kernel.engage.automations.matching import event_matches
from kernel.engage.automations.wait_kinds import WaitForEvent


def awaited_events(graph: Graph) -> list[str]:
    """The names the graph's wait_for_event steps await, sorted, without repeats."""
    return sorted({step.event for step in graph.steps.values() if isinstance(step, WaitForEvent)})


async def awaits(conn: asyncpg.Connection, step: WaitForEvent, name: str, attributes: str) -> bool:
    """Whether ``step`` waits for the event ``name`` whose properties (stored form, JSON text) are
    ``attributes``."""
    return step.event == name and await event_matches(conn, step.properties, attributes)
