"""Where a profile's wait ends, for every kind of wait step: the instant its timer is due, and the step
its timer leads to."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from kernel.engage.automations.graph import AnyWait, Wait
from kernel.engage.automations.wait_kinds import WaitForEvent
from kernel.engage.automations.wall_clock import next_wall_time
from kernel.engage.pressure.zones import recipient_zones
from kernel.projects import Projects


class WaitEnds:
    def __init__(self, projects: Projects) -> None:
        self._projects = projects

    async def due(
        self, conn: asyncpg.Connection, project_id: uuid.UUID, profile_id: uuid.UUID, step: AnyWait
    ) -> datetime:
        """When the wait that the profile starts now at ``step`` ends (a wait for an event: its timeout)."""
        now = datetime.now(UTC)
        if isinstance(step, Wait):
            return now + timedelta(seconds=step.seconds)
        if isinstance(step, WaitForEvent):
            return now + timedelta(seconds=step.timeout_seconds)
        project_zone = ZoneInfo((await self._projects.get(project_id, conn)).timezone)
        zones = await recipient_zones(conn, project_id, [profile_id], project_zone)
        return next_wall_time(now, zones.get(profile_id, project_zone), step.at, step.weekdays)


def after_timer(step: AnyWait) -> str:
    """The step a wait's timer leads to: a wait for an event's timeout branch, any other wait's next."""
    return step.timeout_next if isinstance(step, WaitForEvent) else step.next
