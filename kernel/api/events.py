"""ProfileService RPCs for event ingestion: TrackEvents (one batch) and StreamEvents (a stream of them).

Both validate a whole batch before queuing it, so a rejected batch stores nothing; storing goes through
the kernel's :class:`~kernel.profiles.events.EventIngestion`, where concurrent calls share transactions.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn

import grpc

from herald.v1 import profiles_pb2 as pb
from kernel.api.status import rpc
from kernel.app import Kernel
from kernel.auth import Caller
from kernel.errors import HeraldError, InvalidArgument
from kernel.profiles.events import Counts, Event, EventIngestion, IngestionFailed, validate_events

log = logging.getLogger(__name__)

ACCEPTED_MESSAGES = "herald-accepted-messages"


class EventRpcs:
    kernel: Kernel
    _ingestion: EventIngestion

    def setup_events(self) -> None:
        """Start the group-commit loop; queued events are written before the database closes."""
        settings = self.kernel.settings
        self._ingestion = EventIngestion(
            self.kernel.db.pool,
            max_delay=settings.event_flush_max_delay_ms / 1000,
            max_size=settings.max_events_per_batch,
            # Half the pool at most, so that the other RPCs always find a connection.
            concurrency=max(1, settings.db_pool_max_size // 2),
            durable=settings.event_commit == "durable",
            follower=self.kernel.automation_triggers,
        )
        self.kernel.run_in_background("event-group-commit", self._ingestion.run)
        self.kernel.on_close(self._ingestion.close)

    def _validate(self, request: pb.TrackEventsRequest | pb.StreamEventsRequest) -> list[Event]:
        settings = self.kernel.settings
        return validate_events(
            request.events, self.kernel.limits, settings.max_events_per_batch, datetime.now(UTC)
        )

    @rpc()
    async def TrackEvents(
        self, request: pb.TrackEventsRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.TrackEventsResponse:
        events = self._validate(request)
        try:
            counts = await self._ingestion.track(caller.project, events)
        except IngestionFailed as error:
            await _abort_failed(context, error)
        return pb.TrackEventsResponse(**_sums(counts))

    @rpc()
    async def StreamEvents(
        self,
        requests: AsyncIterator[pb.StreamEventsRequest],
        context: grpc.aio.ServicerContext,
        caller: Caller,
    ) -> pb.StreamEventsResponse:
        # Message m+1 is received and validated while message m is written, but only queued once m is
        # stored: the messages stored are always a prefix of the stream, so a client knows where to resume.
        tally = _Tally()
        try:
            index = 0
            async for request in requests:
                try:
                    events = self._validate(request)
                except InvalidArgument as error:
                    raise error.within(f"messages[{index}]") from None
                await tally.settle()
                tally.start(self._store(caller.project, index, events))
                index += 1
            await tally.settle()
        except (HeraldError, IngestionFailed) as error:
            # An earlier message's failure is what the client must learn first.
            failure = await tally.settle_quietly() or error
            context.set_trailing_metadata(((ACCEPTED_MESSAGES, str(tally.stored)),))
            if isinstance(failure, IngestionFailed):
                await _abort_failed(context, failure)
            raise failure from None
        return pb.StreamEventsResponse(**_sums(tally.total))

    async def _store(self, project: uuid.UUID, index: int, events: list[Event]) -> Counts:
        try:
            return await self._ingestion.track(project, events)
        except HeraldError as error:
            raise type(error)(error.reason, f"messages[{index}].{error.field}") from None


@dataclass
class _Tally:
    """A stream's running totals and its one message being written."""

    total: Counts = field(default_factory=Counts)
    stored: int = 0
    pending: asyncio.Task[Counts] | None = None

    def start(self, store: Coroutine[Any, Any, Counts]) -> None:
        self.pending = asyncio.ensure_future(store)
        # Retrieved even if the client goes away mid-stream, so a failure is not reported as unawaited.
        self.pending.add_done_callback(lambda task: task.cancelled() or task.exception())

    async def settle(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            self.total.add(await pending)
            self.stored += 1

    async def settle_quietly(self) -> HeraldError | IngestionFailed | None:
        try:
            await self.settle()
        except (HeraldError, IngestionFailed) as error:
            return error
        return None


async def _abort_failed(context: grpc.aio.ServicerContext, error: IngestionFailed) -> NoReturn:
    if error.transient:
        await context.abort(grpc.StatusCode.UNAVAILABLE, str(error))
    log.error("event ingestion failed", exc_info=error.__cause__)
    await context.abort(grpc.StatusCode.INTERNAL, str(error))
    raise AssertionError("unreachable")


def _sums(counts: Counts) -> dict[str, int]:
    """TrackEventsResponse's and StreamEventsResponse's fields."""
    return {"accepted": counts.accepted, "duplicates": counts.duplicates, "suppressed": counts.suppressed}
