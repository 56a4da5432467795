"""Bulk sends as the API sees them: create (checked, idempotent), read with progress, pause, resume, cancel.

CreateSend stores the send and, for a listed audience, the resolved profile ids, in one transaction, and
returns: sending is the workers' job (:mod:`kernel.delivery.worker`). Every state change locks the send
row, so it is serialised with the workers' slicing and pacing (the statements: :mod:`kernel.delivery.slices`).
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import asyncpg

from herald.v1 import common_pb2
from herald.v1 import messages_pb2 as pb
from kernel.api.timestamps import from_datetime
from kernel.channels.configs import ChannelConfigs
from kernel.channels.pauses import ChannelPause, lift, pauses_of
from kernel.delivery import slices
from kernel.delivery.audience_share import ShareRange
from kernel.delivery.channel_counts import channel_counts, per_send
from kernel.delivery.segment_audience import store_segment_audience
from kernel.delivery.send_definition import (
    PACE_SECONDS,
    SendDefinition,
    ZoneFilter,
    audience_refs,
    check_channel_rules,
    parse_send,
)
from kernel.delivery.send_events import send_event
from kernel.delivery.send_feedback import feedback_counts
from kernel.delivery.send_ids import PREFIX_INDEX, new_send_id
from kernel.delivery.send_spec import channel_priority_of, saved_refs_of, templates_of
from kernel.delivery.slices import COUNTERS, FINAL, SendCounts, complete_if_done, log_send_event, send_counts
from kernel.delivery.translations import Translations
from kernel.engage.segments import Selection, Vocabulary, freeze_selection, parse_selection
from kernel.errors import FailedPrecondition, InvalidArgument, NotFound
from kernel.plugins import ChannelManager
from kernel.profiles.attributes import AttributeLimits
from kernel.profiles.refs import Ref
from kernel.request_ids import Answer

log = logging.getLogger(__name__)

STATES = {
    "running": pb.SEND_STATE_RUNNING,
    "paused": pb.SEND_STATE_PAUSED,
    "cancelled": pb.SEND_STATE_CANCELLED,
    "completed": pb.SEND_STATE_COMPLETED,
}
#: The log event of a move to each state.
_EVENTS = {"paused": "paused", "running": "resumed"}
_PURPOSES = {"marketing": common_pb2.PURPOSE_MARKETING, "transactional": common_pb2.PURPOSE_TRANSACTIONAL}
_UNITS = {seconds: unit for unit, seconds in PACE_SECONDS.items()}
#: The Send fields that are a sum over the slices as they are (planned and pending are derived).
_COUNTERS = tuple(name for name in COUNTERS if name != "planned")
# Listed refs to profile ids: profile ids directly, custom and anonymous ids through their identities.
_RESOLVE = """
WITH refs AS (
    SELECT p.profile_id FROM unnest($3::uuid[]) AS r(id)
    LEFT JOIN profiles p ON p.project_id = $1 AND p.profile_id = r.id
    UNION ALL
    SELECT i.profile_id FROM unnest($4::text[], $5::text[]) AS r(kind, value)
    LEFT JOIN profile_identities i ON i.project_id = $1 AND i.kind = r.kind AND i.value = r.value
),
stored AS (
    INSERT INTO send_audience (project_id, send_id, profile_id)
    SELECT DISTINCT $1::uuid, $2::uuid, profile_id FROM refs WHERE profile_id IS NOT NULL
    ON CONFLICT DO NOTHING
)
SELECT count(*) FILTER (WHERE profile_id IS NULL) FROM refs
"""


def send_id_of(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise InvalidArgument("must be a UUID", "send_id") from None


class Sends:
    def __init__(
        self,
        pool: asyncpg.Pool,
        channels: ChannelManager,
        configs: ChannelConfigs,
        default_rate: str,
        limits: AttributeLimits,
    ) -> None:
        self._pool = pool
        self._limits = limits
        self._channels = channels
        self._configs = configs
        self._default_rate = default_rate

    async def create(
        self,
        project_id: uuid.UUID,
        request: pb.CreateSendRequest,
        saved: Mapping[str, Translations] | None = None,
        zones: ZoneFilter | None = None,
        share: ShareRange | None = None,
    ) -> Answer[pb.Send]:
        """``saved``: the saved templates ``request.saved_templates`` names, as the caller read them.
        ``zones``: only recipients in these time zones (a campaign's local-time release); ``share``: only
        the profiles in this hash range (an A/B test's part); the public request can ask for neither."""
        definition, refs, selection = self.check(request, saved)
        definition = dataclasses.replace(definition, recipient_zones=zones, audience_share=share)
        for index, spec in enumerate(definition.channels):
            try:
                await self._configs.get(project_id, spec.name)
            except NotFound:
                raise FailedPrecondition(
                    f"channel {spec.name!r} is not configured in this project", f"channels[{index}]"
                ) from None
        async with self._pool.acquire() as conn, conn.transaction():
            audience = "list" if refs is not None else "all"
            if selection is not None:
                frozen = await freeze_selection(conn, project_id, selection, datetime.now(UTC))
                definition, audience = dataclasses.replace(definition, audience=frozen), "segment"
            send_id = await self._insert(conn, project_id, definition, audience)
            if send_id is None:
                first = await slices.send_row_of_request(conn, project_id, definition.request_id)
                return Answer(await self._message(conn, project_id, first), replayed=True)
            if refs is not None:
                await self._store_audience(conn, project_id, send_id, refs)
            elif definition.audience is not None:
                await store_segment_audience(conn, project_id, send_id, definition.audience)
            send = await self._read(conn, project_id, send_id)
        send_event(
            "created",
            project_id,
            send_id,
            state=pb.SendState.Name(send.state),
            channels=list(send.channels),
            audience=audience,
        )
        return Answer(send)

    def check(
        self, request: pb.CreateSendRequest, saved: Mapping[str, Translations] | None = None
    ) -> tuple[SendDefinition, list[Ref] | None, Selection | None]:
        """The request's definition, listed profiles and segment selection, each checked: what CreateSend
        refuses before it reads the database (a campaign checks its drafts with it)."""
        definition = parse_send(request, self._channels, self._default_rate, saved)
        for spec in definition.channels:
            translations = definition.translations.get(spec.name)
            if translations is None:
                field = f'templates["{spec.name}"]'
                check_channel_rules(self._channels, spec, request.templates[spec.name], field)
                continue
            for tag, template in translations.templates.items():
                field = f'saved_templates["{spec.name}"].languages["{tag}"]'
                check_channel_rules(self._channels, spec, template.message, field)
        selection = (
            parse_selection(request.segments, "segments", Vocabulary.of(self._channels), self._limits)
            if request.WhichOneof("audience") == "segments"
            else None
        )
        return definition, audience_refs(request), selection

    async def get(self, project_id: uuid.UUID, send_id: str) -> pb.Send:
        """The read's five statements on one pooled connection: each released to the pool is reset
        (a round trip and four statements), and a caller watching a send calls this often."""
        async with self._pool.acquire() as conn:
            return await self._read(conn, project_id, send_id_of(send_id))

    async def pause(self, project_id: uuid.UUID, send_id: str) -> pb.Send:
        return await self._move(project_id, send_id, "paused", ("running",))

    async def resume(self, project_id: uuid.UUID, send_id: str) -> pb.Send:
        """Also lifts the pauses of the send's channels: the operator who resumes it has looked."""
        send = await self._move(project_id, send_id, "running", ("paused",))
        if not send.paused_channels:
            return send
        if lifted := await lift(self._pool, project_id, [pause.channel for pause in send.paused_channels]):
            log.warning("channels %s of project %s: resumed by ResumeSend %s", lifted, project_id, send_id)
        return await self.get(project_id, send_id)

    async def cancel(self, project_id: uuid.UUID, send_id: str) -> pb.Send:
        """Waiting messages become cancelled in the same transaction; slices in flight finish their
        provider batches, and what they would retry is cancelled too."""
        identifier = send_id_of(send_id)
        async with self._pool.acquire() as conn, conn.transaction():
            state = await self._lock(conn, project_id, identifier)
            if state == "completed":
                raise FailedPrecondition("the send is completed", "send_id")
            if state != "cancelled":
                await slices.cancel(conn, project_id, identifier)
                await log_send_event(conn, "cancelled", project_id, identifier)
            return await self._read(conn, project_id, identifier)

    async def _move(
        self, project_id: uuid.UUID, send_id: str, target: str, sources: Sequence[str]
    ) -> pb.Send:
        identifier = send_id_of(send_id)
        async with self._pool.acquire() as conn, conn.transaction():
            state = await self._lock(conn, project_id, identifier)
            if state in sources:
                await slices.set_state(conn, project_id, identifier, target)
                await log_send_event(conn, _EVENTS[target], project_id, identifier)
                await complete_if_done(conn, project_id, identifier)
            elif state != target:
                raise FailedPrecondition(f"the send is {state}", "send_id")
            return await self._read(conn, project_id, identifier)

    @staticmethod
    async def _lock(conn: asyncpg.Connection, project_id: uuid.UUID, send_id: uuid.UUID) -> str:
        state = await slices.lock_state(conn, project_id, send_id)
        if state is None:
            raise NotFound("no such send in this project", "send_id")
        return str(state)

    @staticmethod
    async def _insert(
        conn: asyncpg.Connection,
        project_id: uuid.UUID,
        definition: SendDefinition,
        audience: str,
    ) -> uuid.UUID | None:
        """The new send's id, or None when the request id names an existing send."""
        while True:
            try:
                async with conn.transaction():
                    return await slices.insert_send(conn, project_id, new_send_id(), definition, audience)
            except asyncpg.UniqueViolationError as error:
                if error.constraint_name != PREFIX_INDEX:
                    raise

    @staticmethod
    async def _store_audience(
        conn: asyncpg.Connection, project_id: uuid.UUID, send_id: uuid.UUID, refs: list[Ref]
    ) -> None:
        ids = [uuid.UUID(ref.value) for ref in refs if ref.kind == "profile_id"]
        identities = [(ref.identity_kind, ref.value) for ref in refs if ref.kind != "profile_id"]
        kinds, values = (list(column) for column in zip(*identities, strict=True)) if identities else ([], [])
        unknown = await conn.fetchval(_RESOLVE, project_id, send_id, ids, kinds, values)
        await slices.set_unknown_profiles(conn, project_id, send_id, unknown)

    @classmethod
    async def _read(
        cls, conn: asyncpg.Connection | asyncpg.Pool, project_id: uuid.UUID, send_id: uuid.UUID
    ) -> pb.Send:
        return await cls._message(conn, project_id, await slices.send_row(conn, project_id, send_id))

    @staticmethod
    async def _message(
        conn: asyncpg.Connection | asyncpg.Pool, project_id: uuid.UUID, row: asyncpg.Record | None
    ) -> pb.Send:
        if row is None:
            raise NotFound("no such send in this project", "send_id")
        counts = await send_counts(conn, project_id, [row["send_id"]])
        by_channel = per_send(await channel_counts(conn, project_id, [row["send_id"]], hourly=False))
        feedback = await feedback_counts(conn, project_id, [row["send_id"]])
        pauses = await pauses_of(conn, project_id, row["channels"])
        return to_message(
            row,
            counts[row["send_id"]],
            by_channel.get(row["send_id"], {}),
            feedback.get(row["send_id"], {}),
            pauses,
        )


def to_message(
    row: asyncpg.Record,
    counts: SendCounts,
    by_channel: Mapping[str, Mapping[str, int]],
    feedback: Mapping[str, Mapping[str, int]],
    pauses: Sequence[ChannelPause],
) -> pb.Send:
    send = pb.Send(
        send_id=str(row["send_id"]),
        name=row["name"],
        state=STATES[row["state"]],
        purpose=_PURPOSES[row["purpose"]],
        channels=row["channels"],
        outbox_complete=row["planned_at"] is not None,
        planned=counts.counters["planned"],
        pending=counts.pending,
        unknown_profiles=row["unknown_profiles"],
        created_at=from_datetime(row["created_at"]),
        templates=templates_of(row["spec"]),
        saved_templates=saved_refs_of(row["spec"]),
        channel_priority=channel_priority_of(row["spec"]),
        **{name: counts.counters[name] for name in _COUNTERS},
    )
    if row["pace_count"] is not None:
        send.pacing.count = int(row["pace_count"])
        send.pacing.unit = _UNITS.get(row["pace_seconds"], pb.PACE_UNIT_UNSPECIFIED)
    if row["completed_at"] is not None:
        send.finished_at.CopyFrom(from_datetime(row["completed_at"]))
    for channel in row["channels"]:
        if channel in feedback:
            send.feedback.add(channel=channel, events=feedback[channel])
    for channel in row["channels"]:
        if channel in by_channel:
            counters = by_channel[channel]
            send.by_channel.add(
                channel=channel,
                pending=counters["planned"] - sum(counters[name] for name in FINAL),
                feedback=feedback.get(channel, {}),
                **{name: counters[name] for name in COUNTERS},
            )
    for pause in pauses:
        send.paused_channels.add(
            channel=pause.channel,
            reason=pause.reason,
            send_id=str(pause.send_id),
            paused_at=from_datetime(pause.paused_at),
        )
    return send
