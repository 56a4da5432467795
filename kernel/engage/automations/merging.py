"""A profile merged into another: its journeys through automations go on as the other's.

The merge holds both profiles' rows, and every walk takes its profile's row first, so no walk of either
runs meanwhile. Where both are inside one automation, the surviving profile's journey goes on and the
merged one's ends (reason ``merged``, its wait dropped); the merged one's other journeys, and its entries
that left (the re-entry policies read them), become the survivor's, their waits' timers naming the
survivor (a wait locks the profile its timer names).
"""

from __future__ import annotations

import uuid

import asyncpg

from kernel.engage.automations import store
from kernel.engage.automations.entry_timers import WAIT, entry_prefix, exit_entry
from kernel.scheduler import repoint_pending


async def hand_over_entries(
    conn: asyncpg.Connection, project_id: uuid.UUID, source: uuid.UUID, target: uuid.UUID
) -> None:
    followed = {entry.automation_id for entry in await store.inside_anywhere(conn, project_id, target)}
    for entry in await store.inside_anywhere(conn, project_id, source):
        if entry.automation_id in followed:
            await exit_entry(conn, project_id, entry, "merged")
        else:
            await repoint_pending(conn, project_id, WAIT, entry_prefix(entry), {"profile_id": str(target)})
    await store.hand_over(conn, project_id, source, target)
