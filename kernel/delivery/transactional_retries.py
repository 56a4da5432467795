"""Transactional messages due again, sent by the sender workers: a temporary failure, or a sender (a
SendTransactional call, another worker) that died holding them.

They are claimed across projects (:func:`kernel.delivery.claims.claim_transactional`) and sent with the
content kept from their first attempt (:mod:`kernel.delivery.payloads`), under the bulk retry policy and
maximum age, each project's outcome recorded by :func:`kernel.delivery.results.record_transactional`.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg

from kernel.channels import ChannelSpec, FailureReason, Outcome
from kernel.delivery import metrics
from kernel.delivery.channel_rates import hold_back, rate_of
from kernel.delivery.claims import claim_transactional
from kernel.delivery.payloads import outbound
from kernel.delivery.results import BatchOutcome, failure_reason, record_transactional
from kernel.delivery.retry import RetryPolicy
from kernel.delivery.senders import Delivery
from kernel.delivery.trouble import ProviderTrouble
from kernel.plugins import ChannelManager, UnknownChannel
from kernel.settings import Settings

#: How long a worker that found none due waits before looking again.
IDLE_SECONDS = 0.2
_REJECTED = FailureReason.REJECTED.value


class TransactionalRetries:
    def __init__(
        self,
        pool: asyncpg.Pool,
        channels: ChannelManager,
        delivery: Delivery,
        settings: Settings,
        owner: str,
        *,
        clock: Callable[[], float],
        rng: random.Random,
    ) -> None:
        self._pool = pool
        self._channels = channels
        self._delivery = delivery
        self._owner = owner
        self._clock = clock
        self._rng = rng
        self._batch_size = settings.worker_batch_size
        self._lease = timedelta(seconds=settings.transactional_lease_seconds)
        self._retry = RetryPolicy(
            settings.retry_base_seconds, settings.retry_max_seconds, settings.message_max_age_seconds
        )
        #: Monotonic time before which none are looked for (none were due).
        self._after = 0.0
        self._trouble = ProviderTrouble(settings.log_repeat_window_seconds)

    async def claim(self) -> Callable[[], Awaitable[None]] | None:
        """The work of sending the due messages again, or None when none is due."""
        if time.monotonic() < self._after:
            return None
        async with self._pool.acquire() as conn:
            rows = await claim_transactional(conn, self._batch_size, self._owner, self._lease)
        if not rows:
            self._after = time.monotonic() + IDLE_SECONDS
            return None
        return lambda: self._resend(rows)

    async def _resend(self, rows: list[asyncpg.Record]) -> None:
        """Send them again, project by project (each records its outcome)."""
        by_project: dict[uuid.UUID, list[asyncpg.Record]] = defaultdict(list)
        for row in rows:
            by_project[row["project_id"]].append(row)
        await asyncio.gather(*(self._resend_project(project, batch) for project, batch in by_project.items()))

    async def _resend_project(self, project_id: uuid.UUID, rows: list[asyncpg.Record]) -> None:
        outcome = BatchOutcome()
        by_channel: dict[str, list[asyncpg.Record]] = defaultdict(list)
        for row in rows:
            if row["attempts"] and row["age"] > self._retry.max_age_seconds:
                outcome.add(
                    row["message_id"], "expired", attempted=False, detail="older than the maximum age"
                )
                metrics.EXPIRED.labels(row["channel"]).inc()
            elif row["payload"] is None:  # planned by a kernel older than these retries, during an upgrade
                outcome.add(row["message_id"], "expired", attempted=False, detail="its content was not kept")
            else:
                by_channel[row["channel"]].append(row)
        batches = []
        for name, channel_rows in by_channel.items():
            try:
                spec = self._channels.channel(name)
            except UnknownChannel:
                for row in channel_rows:
                    detail = f"channel {name} is not installed any more"
                    outcome.add(row["message_id"], "failed", attempted=False, reason=_REJECTED, detail=detail)
                continue
            size = spec.capabilities.max_batch_size
            batches += [
                (spec, channel_rows[start : start + size]) for start in range(0, len(channel_rows), size)
            ]
        await asyncio.gather(*(self._send(project_id, spec, batch, outcome) for spec, batch in batches))
        async with self._pool.acquire() as conn:
            await record_transactional(conn, project_id, self._owner, outcome)

    async def _send(
        self, project_id: uuid.UUID, spec: ChannelSpec, rows: list[asyncpg.Record], outcome: BatchOutcome
    ) -> None:
        """Deliver one provider batch (all of ``spec``), as first rendered."""
        if rate_of(spec) is not None:
            ids = [row["message_id"] for row in rows]
            granted = await hold_back(
                self._pool, project_id, spec, ids, outcome, self._clock(), status="retry"
            )
            rows = rows[:granted]
            if not rows:
                return
        messages = [outbound(row["message_id"], row["address"], row["payload"]) for row in rows]
        results = await self._delivery.deliver(project_id, spec.name, messages)
        for row, message, result in zip(rows, messages, results, strict=True):
            if result.outcome is Outcome.ACCEPTED:
                outcome.sent([row["message_id"]], [result.provider_id])
                metrics.SENT.labels(spec.name, "").inc()
                continue
            status = outcome.settle(
                spec,
                row["message_id"],
                message.address,
                result,
                attempts=row["attempts"],
                age=row["age"],
                policy=self._retry,
                rng=self._rng,
            )
            self._trouble.settled(status, spec.name, result.detail)
            if status == "failed":
                metrics.FAILED.labels(spec.name, failure_reason(result)).inc()
            elif status == "expired":
                metrics.EXPIRED.labels(spec.name).inc()
