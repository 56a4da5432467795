"""Event ingestion's part in automations: the events that enter or remove profiles become one job (a
batch, see :mod:`kernel.engage.automations.event_batches`), in the events' own transaction.

The alternative, entering profiles in the ingestion transaction itself, would put the entry filters,
re-entry checks and first sends on the event hot path, and in the transaction of every other caller whose
events share its group commit. The batch costs ingestion one indexed read per transaction (which names
are watched: usually none) and one insert when some are; it commits with the events, so an acknowledged
event never loses its entry, and the ingesting kernel wakes its scheduler after the commit, which runs it
at once.
"""

from __future__ import annotations

import asyncpg

from kernel.engage.automations.event_batches import BATCH, BatchPayload
from kernel.engage.automations.profile_follower import queue_segment_checks
from kernel.engage.automations.watch_store import watched_events
from kernel.profiles.events import StoredEvents
from kernel.scheduler import Scheduler, schedule_now


class TriggerFollower:
    """An :class:`~kernel.profiles.events.EventFollower`."""

    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler

    async def follow(self, conn: asyncpg.Connection, events: StoredEvents) -> bool:
        watched, segments = await watched_events(conn, events.project_id, events.names)
        if segments:
            # A tracked event may move its profile into or out of a followed segment.
            await queue_segment_checks(conn, events.project_id, events.profile_ids)
        if not watched:
            return segments
        kept = [index for index, name in enumerate(events.names) if name in watched]
        batch = BatchPayload(
            [str(events.profile_ids[index]) for index in kept],
            [events.names[index] for index in kept],
            [events.attributes[index] for index in kept],
        )
        await schedule_now(conn, events.project_id, BATCH, [batch.as_json()])
        return True

    def committed(self) -> None:
        self._scheduler.wake()
