"""Provider feedback (webhooks): events on the profile's timeline, suppressions, pruned tokens, consent.

Each feedback event becomes a ``herald.message.<kind>`` event on the profile that received the message
(found by Herald's message id when the provider echoes it, else by address), with the provider's event id
as idempotency key, so a webhook delivered twice is recorded once. A transactional message id is found in
``messages``; a bulk one names its send and is counted in the send's statistics
(:mod:`kernel.delivery.bulk_recipients`, :mod:`kernel.delivery.send_feedback`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import orjson

from kernel.channels import ChannelSpec, FeedbackEvent, FeedbackKind
from kernel.delivery.bulk_recipients import bulk_recipients
from kernel.delivery.outcomes import prune_addresses
from kernel.delivery.send_feedback import SendReport, count_feedback
from kernel.delivery.suppressions import suppress_address
from kernel.outhooks import FEEDBACK_EVENTS, OutgoingEvent, publish, subscribed
from kernel.profiles.events import Event, EventStore
from kernel.profiles.refs import Ref

log = logging.getLogger(__name__)
#: Feedback that blocks the address: the suppression reason it records.
_SUPPRESS = {
    FeedbackKind.BOUNCED: "bounced",
    FeedbackKind.COMPLAINED: "complained",
    FeedbackKind.UNSUBSCRIBED: "unsubscribed",
}
#: Feedback that withdraws marketing consent on the channel.
_OPT_OUT = {FeedbackKind.COMPLAINED, FeedbackKind.UNSUBSCRIBED}


@dataclass(frozen=True, slots=True)
class FeedbackSummary:
    events: int
    recorded_on_profiles: int


@dataclass(frozen=True, slots=True)
class _Concerned:
    """Whom an event concerns: the profiles it is recorded on, and the bulk send of its message."""

    profile_ids: list[uuid.UUID]
    send_id: uuid.UUID | None = None


def _text_problem(event: FeedbackEvent) -> str | None:
    """Why ``event`` cannot be stored, if it cannot: plugins build events from what a provider sent, and
    PostgreSQL's text refuses a NUL byte that JSON and forms carry happily."""
    if not isinstance(event, FeedbackEvent) or not isinstance(event.kind, FeedbackKind):
        return "not a FeedbackEvent of a known kind"
    texts = {
        "address": event.address,
        "message_id": event.message_id,
        "provider_event_id": event.provider_event_id,
        "detail": event.detail,
        "url": event.url,
    }
    for name, value in texts.items():
        if not isinstance(value, str):
            return f"{name} is not a string"
        if "\x00" in value:
            return f"{name} contains a NUL byte"
    if not event.address:
        return "address is empty"
    if not isinstance(event.occurred_at, datetime) or event.occurred_at.tzinfo is None:
        return "occurred_at is not a time with a time zone"
    return None


def storable(channel: str, feedback: Sequence[FeedbackEvent]) -> list[FeedbackEvent]:
    """The events that can be applied; each other one is dropped alone (and logged), never the batch."""
    kept = []
    for event in feedback:
        problem = _text_problem(event)
        if problem is None:
            kept.append(event)
        else:
            log.warning("feedback event dropped (%s): %s", channel, problem)
    return kept


def _herald_message_id(event: FeedbackEvent) -> uuid.UUID | None:
    """The message id the provider echoed, if it is one of Herald's (a UUID); anything else is ignored,
    so that the lookup stays a primary-key probe."""
    try:
        return uuid.UUID(event.message_id) if event.message_id else None
    except ValueError:
        return None


def _string(value: str) -> dict[str, str]:
    return {"t": "s", "v": value}


async def _publish_feedback(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    spec: ChannelSpec,
    feedback: Sequence[FeedbackEvent],
    owners: dict[FeedbackEvent, _Concerned],
) -> None:
    """The feedback that outgoing webhooks follow, one event per recipient profile (or one without a
    profile when the address belongs to none)."""
    followed = [event for event in feedback if event.kind in FEEDBACK_EVENTS]
    if not followed:
        return
    types = await subscribed(conn, project_id)
    events = [
        _outgoing(spec, event, owners[event], profile_id)
        for event in followed
        if FEEDBACK_EVENTS[event.kind] in types
        for profile_id in owners[event].profile_ids or [None]
    ]
    await publish(conn, project_id, events)


def _outgoing(
    spec: ChannelSpec, event: FeedbackEvent, concerned: _Concerned, profile_id: uuid.UUID | None
) -> OutgoingEvent:
    data = {"channel": spec.name, "message_id": event.message_id, "profile_id": str(profile_id or "")}
    if concerned.send_id is not None:
        data["send_id"] = str(concerned.send_id)
    for name, value in (("url", event.url), ("detail", event.detail)):
        if value:
            data[name] = value[:2048]
    return OutgoingEvent(FEEDBACK_EVENTS[event.kind], data, profile_id, event.occurred_at)


class FeedbackProcessor:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._events = EventStore(pool)

    async def apply(
        self,
        conn: asyncpg.Connection,
        project_id: uuid.UUID,
        spec: ChannelSpec,
        feedback: Sequence[FeedbackEvent],
    ) -> FeedbackSummary:
        """Apply ``feedback`` in ``conn``'s transaction (the caller's: it also removes the webhook
        batch the events came from); the timeline events are written apart, idempotently, before it
        commits, so a crash in between applies the batch again without recording anything twice."""
        kind = spec.capabilities.address_kind
        timeline: list[Event] = []
        feedback = storable(spec.name, feedback)
        owners = await self._owners(conn, project_id, spec, feedback)
        for event in feedback:
            if event.kind in _SUPPRESS:
                await suppress_address(
                    conn, project_id, kind, event.address, _SUPPRESS[event.kind], spec.name
                )
            if event.kind in _OPT_OUT:
                await self._opt_out(conn, project_id, spec, owners[event].profile_ids)
            if event.kind is FeedbackKind.TOKEN_INVALID:
                await prune_addresses(conn, project_id, kind, [event.address])
            timeline += [
                self._timeline_event(spec, event, profile_id) for profile_id in owners[event].profile_ids
            ]
        await self._record_last_feedback(conn, project_id, [e for e in feedback if owners[e].send_id is None])
        await count_feedback(
            conn,
            project_id,
            spec.name,
            [
                SendReport(send_id, message_id, event.kind, event.occurred_at)
                for event in feedback
                if (send_id := owners[event].send_id) is not None
                and (message_id := _herald_message_id(event)) is not None
            ],
        )
        await _publish_feedback(conn, project_id, spec, feedback, owners)
        if timeline:
            await self._events.write(project_id, [timeline])
        return FeedbackSummary(len(feedback), len(timeline))

    @staticmethod
    async def _record_last_feedback(
        conn: asyncpg.Connection, project_id: uuid.UUID, feedback: Sequence[FeedbackEvent]
    ) -> None:
        """Each transactional message's latest feedback, one statement for the batch (the last event of
        a message in the batch wins, as it would one by one); bulk messages have no row to hold it."""
        latest = {
            message_id: event.kind.value
            for event in feedback
            if (message_id := _herald_message_id(event)) is not None
        }
        if latest:
            await conn.execute(
                """UPDATE messages m SET last_feedback = u.kind, updated_at = now()
                   FROM unnest($2::uuid[], $3::text[]) AS u(message_id, kind)
                   WHERE m.project_id = $1 AND m.message_id = u.message_id""",
                project_id,
                list(latest),
                list(latest.values()),
            )

    @staticmethod
    def _timeline_event(spec: ChannelSpec, event: FeedbackEvent, profile_id: uuid.UUID) -> Event:
        attributes = {"channel": _string(spec.name), "address": _string(event.address)}
        for name, value in (("message_id", event.message_id), ("detail", event.detail), ("url", event.url)):
            if value:
                attributes[name] = _string(value[:2048])
        event_id = f"{spec.name}:{event.provider_event_id}:{profile_id}" if event.provider_event_id else None
        return Event(
            ref=Ref("profile_id", str(profile_id)),
            name=f"herald.message.{event.kind.value}",
            occurred_us=round(event.occurred_at.timestamp() * 1_000_000),
            attributes=orjson.dumps(attributes).decode(),
            event_id=event_id,
        )

    @staticmethod
    async def _owners(
        conn: asyncpg.Connection, project_id: uuid.UUID, spec: ChannelSpec, feedback: Sequence[FeedbackEvent]
    ) -> dict[FeedbackEvent, _Concerned]:
        """Whom each event concerns: a transactional message's recipient; a bulk message's send and
        recipient; else every holder of the address. Three statements for the whole batch: a provider's
        batch holds hundreds of events."""
        message_ids = {event: _herald_message_id(event) for event in feedback}
        recipients: dict[uuid.UUID, uuid.UUID] = dict(
            await conn.fetch(
                """SELECT message_id, profile_id FROM messages
                   WHERE project_id = $1 AND message_id = any($2::uuid[]) AND channel = $3
                     AND profile_id IS NOT NULL""",
                project_id,
                [m for m in message_ids.values() if m is not None],
                spec.name,
            )
        )
        concerned = {m: _Concerned([profile_id]) for m, profile_id in recipients.items()}
        bulk = await bulk_recipients(
            conn,
            project_id,
            spec.name,
            spec.capabilities.address_kind,
            {m: event.address for event, m in message_ids.items() if m is not None and m not in concerned},
        )
        concerned |= {m: _Concerned(r.profile_ids, r.send_id) for m, r in bulk.items()}
        unknown = {event.address for event, m in message_ids.items() if m not in concerned}
        holders: dict[str, list[uuid.UUID]] = {}
        for row in await conn.fetch(
            """SELECT value, profile_id FROM profile_addresses
               WHERE project_id = $1 AND kind = $2 AND value = ANY($3::text[])""",
            project_id,
            spec.capabilities.address_kind,
            list(unknown),
        ):
            holders.setdefault(row["value"], []).append(row["profile_id"])
        return {
            event: concerned[m] if m in concerned else _Concerned(holders.get(event.address, []))
            for event, m in message_ids.items()
        }

    @staticmethod
    async def _opt_out(
        conn: asyncpg.Connection, project_id: uuid.UUID, spec: ChannelSpec, profile_ids: list[uuid.UUID]
    ) -> None:
        if not profile_ids:
            return
        # Each profile is locked as its consent is written (no foreign key does it): a profile erased or
        # merged away meanwhile is skipped instead of leaving a row that names no profile.
        await conn.execute(
            """INSERT INTO profile_subscriptions (project_id, profile_id, channel, purpose, topic, status)
               SELECT $1, profile_id, $3, 'marketing', '', 'opted_out' FROM (
                   SELECT profile_id FROM profiles WHERE project_id = $1 AND profile_id = any($2::uuid[])
                   ORDER BY profile_id FOR KEY SHARE) AS locked
               ON CONFLICT (project_id, profile_id, channel, purpose, topic)
               DO UPDATE SET status = 'opted_out', updated_at = now()""",
            project_id,
            profile_ids,
            spec.consent_scope,
        )
