"""What an automation's profile trigger follows while it is active, set with its state and versions:
the watch that profile writes read, the segment's first members, and the chain of periodic scans."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg

from kernel.engage.automations import watch_store
from kernel.engage.automations.date_triggers import DATE
from kernel.engage.automations.scans import start_chain, stop_chain
from kernel.engage.automations.segment_triggers import take_members
from kernel.engage.automations.trigger_kinds import AttributeChange, DateAttribute, ProfileTrigger
from kernel.scheduler import drop_pending


def _watch_of(trigger: ProfileTrigger) -> tuple[str, str]:
    if isinstance(trigger, AttributeChange):
        return "attribute", trigger.key
    if isinstance(trigger, DateAttribute):
        return "date", trigger.key
    return "segment", trigger.segment_id


async def follow(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    automation_id: uuid.UUID,
    trigger: ProfileTrigger | None,
    sweep_seconds: float,
) -> None:
    """Follow ``trigger`` from now on (None: nothing, the automation is paused, archived or has an event
    trigger). An attribute or segment followed already is kept (a segment keeps its members, so an
    update loses no transition); a date trigger plans again (its offset or time of day may be new)."""
    watch = None if trigger is None else _watch_of(trigger)
    if (
        watch is not None
        and watch[0] != "date"
        and watch == await watch_store.current(conn, project_id, automation_id)
    ):
        return
    await watch_store.replace(conn, project_id, automation_id, watch)
    await stop_chain(conn, project_id, automation_id)
    await drop_pending(conn, project_id, DATE, f"{automation_id}/")
    if watch is None or watch[0] == "attribute":
        return
    now = await conn.fetchval("SELECT now()")
    if watch[0] == "segment":
        await take_members(conn, project_id, automation_id, watch[1])
        await start_chain(conn, project_id, automation_id, now + timedelta(seconds=sweep_seconds))
    else:
        await start_chain(conn, project_id, automation_id, now)
