"""One live :class:`~kernel.channels.ChannelSender` per (project, channel), reused across sends.

A sender holds connections (HTTP/2 to APNs, keep-alive to SparkPost), so it is kept; it is rebuilt when
the project's stored configuration changes, and every sender is closed with the kernel. In sandbox mode,
and in tests, ``endpoints`` points channels at their emulators.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from kernel.channels import ChannelSender, OutboundMessage, Outcome, SendResult
from kernel.channels.configs import ChannelConfigs
from kernel.delivery import metrics
from kernel.errors import FailedPrecondition, HeraldError, NotFound
from kernel.plugins import ChannelManager

log = logging.getLogger(__name__)


class SenderPool:
    def __init__(
        self, channels: ChannelManager, configs: ChannelConfigs, endpoints: Mapping[str, str] | None = None
    ) -> None:
        self._channels = channels
        self._configs = configs
        self.endpoints = dict(endpoints or {})
        self._senders: dict[tuple[uuid.UUID, str], tuple[datetime, ChannelSender]] = {}
        self._lock = asyncio.Lock()

    async def get(self, project_id: uuid.UUID, channel: str, field: str = "channels") -> ChannelSender:
        try:
            stored = await self._configs.get(project_id, channel)
        except NotFound:
            raise FailedPrecondition(
                f"channel {channel!r} is not configured in this project", field
            ) from None
        key = (project_id, channel)
        async with self._lock:
            current = self._senders.get(key)
            if current is not None and current[0] == stored.updated_at:
                return current[1]
            sender = self._channels.sender(channel, stored.config, self.endpoints.get(channel))
            self._senders[key] = (stored.updated_at, sender)
        if current is not None:
            await current[1].close()
        return sender

    async def close(self) -> None:
        senders, self._senders = self._senders, {}
        for _, sender in senders.values():
            await sender.close()


def unsent(messages: Sequence[OutboundMessage], detail: str) -> list[SendResult]:
    """A RETRY result for each message that could not be handed to its provider (the channel is not
    configured any more, its sender raised): the retry policy decides when it is tried again."""
    return [SendResult(m.message_id, Outcome.RETRY, detail=detail) for m in messages]


class Delivery:
    """Hands provider batches to the channels' senders, a bounded number in flight per channel (the
    ``channel_concurrency`` settings), for every batch of one worker: bulk and transactional alike."""

    def __init__(self, senders: SenderPool, concurrency: Mapping[str, int], default_concurrency: int) -> None:
        self._senders = senders
        self._concurrency = concurrency
        self._default = default_concurrency
        self._slots: dict[str, asyncio.Semaphore] = {}

    async def deliver(
        self, project_id: uuid.UUID, channel: str, messages: list[OutboundMessage]
    ) -> list[SendResult]:
        """The provider's answers; a sender that cannot be built or that raises answers "retry" for all."""
        slots = self._slots.get(channel)
        if slots is None:
            slots = self._slots[channel] = asyncio.Semaphore(self._concurrency.get(channel, self._default))
        async with slots:
            started = time.perf_counter()
            try:
                sender = await self._senders.get(project_id, channel)
                results = await sender.send_batch(messages)
            except HeraldError as error:
                return unsent(messages, f"channel unavailable: {error}")
            except Exception as error:
                log.exception("sender worker: %s failed on a batch; retrying it later", channel)
                return unsent(messages, f"sender error: {error!r}")
            metrics.PROVIDER_LATENCY.labels(channel).observe(time.perf_counter() - started)
        return results
