"""Profile writes' part in automations (a :class:`~kernel.profiles.followers.ProfileFollower`): a watched
attribute's change becomes a job, and with a segment followed every profile written is checked again in
a job, both in the write's own transaction (never lost on a crash; a rolled-back write queues nothing).

A project without such automations pays one index probe per write transaction (``automation_watches``);
a group commit of many UpsertProfile calls shares it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from kernel.engage.automations import watch_store
from kernel.engage.automations.attribute_triggers import ATTRIBUTE, change_payload
from kernel.engage.automations.merging import hand_over_entries
from kernel.engage.automations.segment_triggers import SEGMENT, check_payload
from kernel.engage.automations.watch_store import ProfileWatches
from kernel.profiles.followers import AttributeChanged, Watched
from kernel.scheduler import Scheduler, schedule_now


class ProfileTriggerFollower:
    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler
        # Set when a job was queued: a wake after a rolled-back write only polls once for nothing.
        self._queued = False

    async def watched(self, conn: asyncpg.Connection, project_id: uuid.UUID) -> Watched | None:
        return await watch_store.profile_watches(conn, project_id)

    async def follow(
        self,
        conn: asyncpg.Connection,
        project_id: uuid.UUID,
        watched: Watched,
        changed: Sequence[AttributeChanged],
        written: Sequence[uuid.UUID],
    ) -> None:
        assert isinstance(watched, ProfileWatches)
        if changed:
            await schedule_now(conn, project_id, ATTRIBUTE, [change_payload(change) for change in changed])
            self._queued = True
        if watched.segments and written:
            await queue_segment_checks(conn, project_id, written)
            self._queued = True

    async def merged(
        self, conn: asyncpg.Connection, project_id: uuid.UUID, source: uuid.UUID, target: uuid.UUID
    ) -> None:
        await hand_over_entries(conn, project_id, source, target)

    def committed(self) -> None:
        if self._queued:
            self._queued = False
            self._scheduler.wake()


async def queue_segment_checks(
    conn: asyncpg.Connection, project_id: uuid.UUID, profile_ids: Sequence[uuid.UUID]
) -> None:
    await schedule_now(
        conn, project_id, SEGMENT, [check_payload(profile_id) for profile_id in dict.fromkeys(profile_ids)]
    )
