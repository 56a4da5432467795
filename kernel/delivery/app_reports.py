"""Openings the app reports (MessageService.RecordMessageOpened): a push's opening reaches no provider.

Applied as a provider's report of an opening is (:class:`kernel.delivery.feedback.FeedbackProcessor`), so
the profile's timeline, the outgoing webhooks and the automations' decisions see it alike.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from kernel.channels import FeedbackEvent, FeedbackKind
from kernel.delivery.feedback import FeedbackProcessor
from kernel.errors import FailedPrecondition, NotFound
from kernel.plugins import ChannelManager, UnknownChannel
from kernel.projects import parse_id


class AppReports:
    def __init__(self, pool: asyncpg.Pool, channels: ChannelManager, feedback: FeedbackProcessor) -> None:
        self._pool = pool
        self._channels = channels
        self._feedback = feedback

    async def opened(self, project_id: uuid.UUID, message_id: str) -> None:
        """Record the message's opening, once: a repeated report finds it on the timeline and does nothing."""
        identifier = parse_id(message_id, "message_id")
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                """SELECT channel, address, EXISTS (
                       SELECT FROM events e WHERE e.project_id = m.project_id AND e.profile_id = m.profile_id
                       AND e.name = 'herald.message.opened'
                       AND e.attributes->'message_id'->>'v' = $2::uuid::text
                   ) AS reported
                   FROM messages m
                   WHERE m.project_id = $1 AND m.message_id = $2 AND m.profile_id IS NOT NULL""",
                project_id,
                identifier,
            )
            if row is None:
                raise NotFound("no message of a profile of this project has this id", "message_id")
            if row["reported"]:
                return
            try:
                spec = self._channels.channel(row["channel"])
            except UnknownChannel:
                raise FailedPrecondition("the message's channel is not loaded", "message_id") from None
            event = FeedbackEvent(
                FeedbackKind.OPENED,
                str(identifier),
                row["address"],
                datetime.now(UTC),
                provider_event_id=f"app-opened:{identifier}",
            )
            await self._feedback.apply(conn, project_id, spec, [event])
