"""Stored versions parsed into graphs, kept: a saved version never changes."""

from __future__ import annotations

import uuid

import asyncpg

from kernel.engage.automations import store
from kernel.engage.automations.graph import Graph, parse_graph
from kernel.engage.automations.views import automation_of
from kernel.engage.segments import Vocabulary
from kernel.profiles.attributes import AttributeLimits

#: Versions kept parsed; beyond, the cache starts again (a kernel runs a project's few automations).
_KEPT = 1024


class Graphs:
    def __init__(self, vocabulary: Vocabulary, limits: AttributeLimits) -> None:
        self._vocabulary = vocabulary
        self._limits = limits
        self._parsed: dict[tuple[uuid.UUID, uuid.UUID, int], Graph] = {}

    async def get(
        self, conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID, version: int
    ) -> Graph:
        key = (project_id, automation_id, version)
        graph = self._parsed.get(key)
        if graph is None:
            definition = await store.version_definition(conn, project_id, automation_id, version)
            graph = parse_graph(automation_of(dict(definition)), self._vocabulary, self._limits)
            if len(self._parsed) >= _KEPT:
                self._parsed.clear()
            self._parsed[key] = graph
        return graph
