"""Provider feedback (webhooks): events on the profile's timeline, suppressions, pruned tokens, consent.

Each feedback event becomes a ``herald.message.<kind>`` event on the profile that received the message
(found by Herald's message id when the provider echoes it, else by address), with the provider's event id
as idempotency key, so a webhook delivered twice is recorded once.
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
from kernel.delivery.outcomes import prune_addresses
from kernel.delivery.suppressions import suppress_address
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
        kind = spec.capabilities.address_kind.value
        timeline: list[Event] = []
        feedback = storable(spec.name, feedback)
        owners = await self._owners(conn, project_id, spec, feedback)
        for event in feedback:
            if event.kind in _SUPPRESS:
                await suppress_address(
                    conn, project_id, kind, event.address, _SUPPRESS[event.kind], spec.name
                )
            if event.kind in _OPT_OUT:
                await self._opt_out(conn, project_id, spec, owners.get(event, []))
            if event.kind is FeedbackKind.TOKEN_INVALID:
                await prune_addresses(conn, project_id, kind, [event.address])
            message_id = _herald_message_id(event)
            if message_id is not None:
                await conn.execute(
                    """UPDATE messages SET last_feedback = $3, updated_at = now()
                       WHERE project_id = $1 AND message_id = $2""",
                    project_id,
                    message_id,
                    event.kind.value,
                )
            timeline += [
                self._timeline_event(spec, event, profile_id) for profile_id in owners.get(event, [])
            ]
        if timeline:
            await self._events.write(project_id, [timeline])
        return FeedbackSummary(len(feedback), len(timeline))

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
    ) -> dict[FeedbackEvent, list[uuid.UUID]]:
        """The profile each event concerns: the message's recipient, else every holder of the address."""
        owners: dict[FeedbackEvent, list[uuid.UUID]] = {}
        for event in feedback:
            profile_id = None
            message_id = _herald_message_id(event)
            if message_id is not None:
                profile_id = await conn.fetchval(
                    """SELECT profile_id FROM messages
                       WHERE project_id = $1 AND message_id = $2 AND channel = $3""",
                    project_id,
                    message_id,
                    spec.name,
                )
            if profile_id is not None:
                owners[event] = [profile_id]
                continue
            rows = await conn.fetch(
                "SELECT profile_id FROM profile_addresses WHERE project_id = $1 AND kind = $2 AND value = $3",
                project_id,
                spec.capabilities.address_kind.value,
                event.address,
            )
            owners[event] = [r["profile_id"] for r in rows]
        return owners

    @staticmethod
    async def _opt_out(
        conn: asyncpg.Connection, project_id: uuid.UUID, spec: ChannelSpec, profile_ids: list[uuid.UUID]
    ) -> None:
        if not profile_ids:
            return
        await conn.execute(
            """INSERT INTO profile_subscriptions (project_id, profile_id, channel, purpose, topic, status)
               SELECT $1, p, $3, 'marketing', '', 'opted_out' FROM unnest($2::uuid[]) AS p
               ON CONFLICT (project_id, profile_id, channel, purpose, topic)
               DO UPDATE SET status = 'opted_out', updated_at = now()""",
            project_id,
            profile_ids,
            spec.consent_channel,
        )
