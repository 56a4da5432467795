"""Event ingestion's part in automations: the events that enter or remove profiles become jobs, in the
events' own transaction.

The alternative, entering profiles in the ingestion transaction itself, would put the entry filters,
re-entry checks and first sends on the event hot path, and in the transaction of every other caller whose
events share its group commit. A job per matching event costs ingestion one indexed read per transaction
(which names are watched: usually none) and one insert when some are; it commits with the events, so an
acknowledged event never loses its entry, and the ingesting kernel wakes its scheduler after the commit,
which runs it at once.
"""

from __future__ import annotations

import asyncpg

from kernel.engage.automations.profile_follower import queue_segment_checks
from kernel.engage.automations.runner import EVENT, event_payload
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
        payloads = [
            event_payload(profile_id, name, attributes)
            for profile_id, name, attributes in zip(
                events.profile_ids, events.names, events.attributes, strict=True
            )
            if name in watched
        ]
        await schedule_now(conn, events.project_id, EVENT, payloads)
        return True

    def committed(self) -> None:
        self._scheduler.wake()
