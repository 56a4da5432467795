"""Automations as the API sees them: versions saved and checked, activated, paused, archived, read, listed.

Every state change and every update locks the automation's row; the runner's steps hold it shared
(:mod:`kernel.engage.automations.runner`), so a pause never interleaves with a step: once PauseAutomation
answers, no wait of the automation fires, and none is lost (each entry keeps when its wait ends, and
activation plans the timers again from that).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from herald.v1 import automations_pb2 as pb
from herald.v1 import messages_pb2
from kernel.engage.automations import store
from kernel.engage.automations.entry_timers import WAIT, automation_prefix, exit_entry, schedule_wait
from kernel.engage.automations.graph import Graph, parse_graph
from kernel.engage.automations.profile_watch import follow
from kernel.engage.automations.references import check_references
from kernel.engage.automations.store import AutomationRow
from kernel.engage.automations.views import STATES, automation_of, definition_of, to_message
from kernel.engage.automations.wait_kinds import awaited_events
from kernel.engage.segments import Vocabulary
from kernel.engage.templates.sending import read_ref
from kernel.engage.templates.store import TemplateStore
from kernel.errors import FailedPrecondition, InvalidArgument, NotFound
from kernel.plugins import ChannelManager, UnknownChannel
from kernel.profiles.attributes import AttributeLimits
from kernel.projects import parse_id
from kernel.request_ids import Answer, check_request_id
from kernel.scheduler import Scheduler, drop_pending
from kernel.stats.goals import check_goal

#: The fields UpdateAutomation changes (paths of Automation).
UPDATABLE = frozenset(
    {
        "name",
        "trigger",
        "entry_filter",
        "steps",
        "exit_events",
        "reentry",
        "reentry_period",
        "max_profiles_inside",
        "conversion_event",
        "conversion_window",
    }
)
_STATE_NAMES = {number: name for name, number in STATES.items()}


class Automations:
    def __init__(
        self,
        pool: asyncpg.Pool,
        channels: ChannelManager,
        templates: TemplateStore,
        limits: AttributeLimits,
        scheduler: Scheduler,
        sweep_seconds: float,
    ) -> None:
        """``sweep_seconds``: the interval of a segment trigger's sweep (its first one is that far)."""
        self._pool = pool
        self._channels = channels
        self._templates = templates
        self._vocabulary = Vocabulary.of(channels)
        self._limits = limits
        self._scheduler = scheduler
        self._sweep_seconds = sweep_seconds

    async def create(
        self, project_id: uuid.UUID, request: pb.CreateAutomationRequest
    ) -> Answer[pb.Automation]:
        client_key = check_request_id(request.request_id) or None
        async with self._pool.acquire() as conn:
            automation, _ = await self._checked(conn, project_id, None, request.automation)
        async with self._pool.acquire() as conn, conn.transaction():
            row = await store.insert(conn, project_id, uuid.uuid4(), client_key, definition_of(automation))
        if row is not None:
            return Answer(to_message(row))
        assert client_key is not None
        first = await store.of_request(self._pool, project_id, client_key)
        if first is None:
            raise NotFound("the automation of this request_id was deleted", "request_id")
        return Answer(to_message(first), replayed=True)

    async def update(self, project_id: uuid.UUID, request: pb.UpdateAutomationRequest) -> pb.Automation:
        """``request.update_mask`` was checked by the API (paths among :data:`UPDATABLE`)."""
        automation_id = parse_id(request.automation.automation_id, "automation.automation_id")
        async with self._pool.acquire() as conn, conn.transaction():
            state = await self._lock(conn, project_id, automation_id, "automation.automation_id")
            if state == "archived":
                raise FailedPrecondition("the automation is archived", "automation.automation_id")
            row = await self._read(conn, project_id, automation_id)
            automation = automation_of(dict(row.definition))
            request.update_mask.MergeMessage(
                request.automation, automation, replace_message_field=True, replace_repeated_field=True
            )
            automation, graph = await self._checked(conn, project_id, automation_id, automation)
            await store.insert_version(
                conn, project_id, automation_id, row.version + 1, definition_of(automation)
            )
            if state != "draft":
                await _watch(
                    conn, project_id, automation_id, graph, self._sweep_seconds, active=state == "active"
                )
            return to_message(await self._read(conn, project_id, automation_id))

    async def activate(self, project_id: uuid.UUID, automation_id: str) -> pb.Automation:
        identifier = parse_id(automation_id, "automation_id")
        async with self._pool.acquire() as conn, conn.transaction():
            state = await self._lock(conn, project_id, identifier)
            if state == "archived":
                raise FailedPrecondition("the automation is archived", "automation_id")
            if state != "active":
                row = await self._read(conn, project_id, identifier)
                graph = parse_graph(automation_of(dict(row.definition)), self._vocabulary, self._limits)
                await _watch(conn, project_id, identifier, graph, self._sweep_seconds, active=True)
                for entry in await store.all_inside(conn, project_id, identifier):
                    if entry.wait_until is not None:
                        await schedule_wait(conn, project_id, entry, entry.wait_until)
                await store.set_state(conn, project_id, identifier, "active")
            answer = to_message(await self._read(conn, project_id, identifier))
        self._scheduler.wake()
        return answer

    async def pause(self, project_id: uuid.UUID, automation_id: str) -> pb.Automation:
        identifier = parse_id(automation_id, "automation_id")
        async with self._pool.acquire() as conn, conn.transaction():
            state = await self._lock(conn, project_id, identifier)
            if state in ("draft", "archived"):
                raise FailedPrecondition(f"the automation is {state}", "automation_id")
            if state == "active":
                row = await self._read(conn, project_id, identifier)
                graph = parse_graph(automation_of(dict(row.definition)), self._vocabulary, self._limits)
                await _watch(conn, project_id, identifier, graph, self._sweep_seconds, active=False)
                await drop_pending(conn, project_id, WAIT, automation_prefix(identifier))
                await store.set_state(conn, project_id, identifier, "paused")
            return to_message(await self._read(conn, project_id, identifier))

    async def archive(self, project_id: uuid.UUID, automation_id: str) -> pb.Automation:
        identifier = parse_id(automation_id, "automation_id")
        async with self._pool.acquire() as conn, conn.transaction():
            state = await self._lock(conn, project_id, identifier)
            if state != "archived":
                await store.clear_triggers(conn, project_id, identifier)
                await follow(conn, project_id, identifier, None, self._sweep_seconds)
                for entry in await store.all_inside(conn, project_id, identifier):
                    await exit_entry(conn, project_id, entry, "archived")
                await store.set_state(conn, project_id, identifier, "archived")
            return to_message(await self._read(conn, project_id, identifier))

    async def get(self, project_id: uuid.UUID, automation_id: str) -> pb.Automation:
        identifier = parse_id(automation_id, "automation_id")
        row = await store.read(self._pool, project_id, identifier)
        if row is None:
            raise NotFound("no such automation in this project", "automation_id")
        return to_message(row)

    async def list(
        self, project_id: uuid.UUID, states: list[int], size: int, after: tuple[datetime, uuid.UUID] | None
    ) -> list[AutomationRow]:
        """Rows rather than messages: the caller pages them (one more than ``size``)."""
        names = []
        for index, state in enumerate(states):
            if state not in _STATE_NAMES:
                raise InvalidArgument("not an automation state", f"states[{index}]")
            names.append(_STATE_NAMES[state])
        return await store.page(self._pool, project_id, size, names, after)

    async def _checked(
        self,
        conn: asyncpg.Connection,
        project_id: uuid.UUID,
        automation_id: uuid.UUID | None,
        automation: pb.Automation,
    ) -> tuple[pb.Automation, Graph]:
        """The automation as a version stores it (its send steps' template versions fixed), and its graph;
        INVALID_ARGUMENT naming the field under ``automation``. ``automation_id``: None while created."""
        graph = parse_graph(automation, self._vocabulary, self._limits)
        indexes = {step.step_id: index for index, step in enumerate(automation.steps)}
        await check_references(conn, project_id, automation_id, graph, indexes)
        check_goal(automation, "automation.")
        fixed = pb.Automation()
        fixed.CopyFrom(automation)
        for index, step in enumerate(fixed.steps):
            if step.WhichOneof("kind") != "send":
                continue
            field = f"automation.steps[{index}].send"
            await self._fix_template(project_id, step.send.channel, step.send.template, field)
            for number, fallback in enumerate(step.send.fallbacks):
                await self._fix_template(
                    project_id, fallback.channel, fallback.template, f"{field}.fallbacks[{number}]"
                )
        return fixed, graph

    async def _fix_template(
        self, project_id: uuid.UUID, channel: str, template: messages_pb2.TemplateRef, field: str
    ) -> None:
        """The channel is loaded and the template exists; its version 0 becomes the latest."""
        try:
            self._channels.channel(channel)
        except UnknownChannel:
            raise InvalidArgument(f"unknown channel {channel!r}", f"{field}.channel") from None
        saved = await read_ref(self._templates, project_id, template, f"{field}.template")
        template.version = saved.version

    @staticmethod
    async def _lock(
        conn: asyncpg.Connection,
        project_id: uuid.UUID,
        automation_id: uuid.UUID,
        field: str = "automation_id",
    ) -> str:
        state = await store.lock(conn, project_id, automation_id)
        if state is None:
            raise NotFound("no such automation in this project", field)
        return state

    @staticmethod
    async def _read(
        conn: asyncpg.Connection, project_id: uuid.UUID, automation_id: uuid.UUID
    ) -> AutomationRow:
        row = await store.read(conn, project_id, automation_id)
        assert row is not None, "read under the automation's lock"
        return row


async def _watch(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    automation_id: uuid.UUID,
    graph: Graph,
    sweep_seconds: float,
    *,
    active: bool,
) -> None:
    """What ingestion looks for: the trigger while active, the exit and awaited events always (profiles
    inside); what profile writes and scans follow for a profile trigger while active."""
    await store.set_triggers(
        conn,
        project_id,
        automation_id,
        graph.trigger_event if active else None,
        sorted(graph.exit_events),
        awaited_events(graph.steps.values()),
    )
    await follow(conn, project_id, automation_id, graph.profile_trigger if active else None, sweep_seconds)
