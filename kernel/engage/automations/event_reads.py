"""What the tracked events and ends of waits handled in one transaction read alike, read once there: the
automations an event name concerns, an automation's state and version under its shared lock (held to
the commit, so what was read stays true for the transaction's later jobs), and the project and its
marketing pressure rules that the send steps read."""

from __future__ import annotations

import uuid

import asyncpg

from kernel.engage.automations import store
from kernel.engage.pressure.store import ProjectPressure, rules_of
from kernel.projects import Project, Projects


class EventReads:
    """The reads of one transaction; a transaction handling one job reads as often with a new one."""

    def __init__(self, projects: Projects) -> None:
        self._projects = projects
        self._project: dict[uuid.UUID, Project] = {}
        self._pressure: dict[uuid.UUID, ProjectPressure | None] = {}
        self._triggers: dict[tuple[uuid.UUID, str], list[tuple[uuid.UUID, str]]] = {}
        self._states: dict[tuple[uuid.UUID, uuid.UUID], tuple[str, int] | None] = {}

    async def triggered_by(
        self, conn: asyncpg.Connection, project_id: uuid.UUID, name: str
    ) -> list[tuple[uuid.UUID, str]]:
        key = (project_id, name)
        if key not in self._triggers:
            self._triggers[key] = await store.triggered_by(conn, project_id, name)
        return self._triggers[key]

    async def share_state(
        self, conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID
    ) -> tuple[str, int] | None:
        key = (project_id, automation_id)
        if key not in self._states:
            self._states[key] = await store.share_state(conn, project_id, automation_id)
        return self._states[key]

    async def project(self, conn: asyncpg.Connection, project_id: uuid.UUID) -> Project:
        if project_id not in self._project:
            self._project[project_id] = await self._projects.get(project_id, conn)
        return self._project[project_id]

    async def pressure(self, conn: asyncpg.Connection, project_id: uuid.UUID) -> ProjectPressure | None:
        """The project's marketing pressure rules; None: it has none."""
        if project_id not in self._pressure:
            self._pressure[project_id] = (await rules_of(conn, [project_id])).get(project_id)
        return self._pressure[project_id]
