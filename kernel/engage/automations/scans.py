"""The periodic work of an active automation with a segment or date trigger: a chain of timers, one
pending at a time, each planning the next. A segment's sweep queues a check of each profile whose
membership moved without a write (conditions relative to now); a date scan plans the coming occurrences.
Activation starts the chain, a pause or archive drops it, and a scan finding the automation no longer
active (or its trigger changed) ends it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg

from kernel.engage.automations import date_triggers, segment_triggers, store
from kernel.engage.automations.entering import Entering
from kernel.engage.automations.runner import LeaseLost
from kernel.engage.automations.segment_triggers import SEGMENT, check_payload
from kernel.engage.automations.trigger_kinds import DateAttribute, SegmentTransition
from kernel.scheduler import Job, Scheduler, drop_pending, finish, schedule, schedule_now

#: The scheduler's kind for an automation's periodic scan; its key: "<automation>/<due instant>".
SCAN = "automation.scan"


async def start_chain(
    conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID, due: datetime
) -> None:
    await schedule(conn, project_id, SCAN, f"{automation_id}/{due.isoformat()}", due)


async def stop_chain(conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID) -> None:
    await drop_pending(conn, project_id, SCAN, f"{automation_id}/")


class Scans:
    def __init__(
        self, entering: Entering, scheduler: Scheduler, sweep_seconds: float, date_scan_seconds: float
    ) -> None:
        self._entering = entering
        self._scheduler = scheduler
        self._sweep = timedelta(seconds=sweep_seconds)
        self._date_scan = timedelta(seconds=date_scan_seconds)

    async def on_scan(self, job: Job) -> None:
        automation_id = uuid.UUID(job.key.split("/")[0])
        project_id = job.project_id
        async with self._entering.pool.acquire() as conn, conn.transaction():
            if not await finish(conn, job):
                raise LeaseLost(f"{job.kind} {job.key}")
            current = await store.share_state(conn, project_id, automation_id)
            if current is None or current[0] != "active":
                return
            graph = await self._entering.graphs.get(conn, project_id, automation_id, current[1])
            trigger = graph.profile_trigger
            now = await conn.fetchval("SELECT now()")
            if isinstance(trigger, SegmentTransition):
                moved = await segment_triggers.moved(conn, project_id, automation_id, trigger.segment_id)
                if moved:
                    payloads = [check_payload(profile_id, automation_id) for profile_id in moved]
                    await schedule_now(conn, project_id, SEGMENT, payloads)
                interval = self._sweep
            elif isinstance(trigger, DateAttribute):
                await date_triggers.plan(conn, project_id, automation_id, trigger, now)
                interval = self._date_scan
            else:
                return
            due = now + interval
            await schedule(conn, project_id, SCAN, f"{automation_id}/{due.isoformat()}", due)
        self._scheduler.wake()
