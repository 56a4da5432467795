"""Whether a tracked event is the one a profile's wait_for_event step awaits."""

from __future__ import annotations

import asyncpg

from kernel.engage.automations.matching import event_matches
from kernel.engage.automations.wait_kinds import WaitForEvent


async def awaits(conn: asyncpg.Connection, step: WaitForEvent, name: str, attributes: str) -> bool:
    """Whether ``step`` waits for the event ``name`` whose properties (stored form, JSON text) are
    ``attributes``."""
    return step.event == name and await event_matches(conn, step.properties, attributes)
