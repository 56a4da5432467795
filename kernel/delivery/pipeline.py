"""One claimed batch of a send, from its messages to their recorded outcomes.

Per batch: messages past the maximum age expire; those of a channel paused in the project wait; the email
domains' throttle admits what may go now (sender_ext; the rest waits for the time the throttle gives), as
does each rated channel's budget; sender_ext cuts provider batches by channel; each is personalised,
handed to its channel's sender (a bounded number in flight per channel), and what its answers make of
it (:mod:`kernel.delivery.batch_accounting`) recorded as soon as the provider answered
(:mod:`kernel.delivery.slice_outcomes`). Then a channel whose answers in the send suggest a wrong
configuration is paused (:mod:`kernel.delivery.suspicion`).

A marketing send's batch is first judged by its project's pressure rules
(:mod:`kernel.delivery.pressure_check`).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import asyncpg

from kernel.channels import EMPTY, ChannelSpec, FailureReason, OutboundMessage, SendResult
from kernel.channels.pauses import pause
from kernel.delivery import metrics
from kernel.delivery.batch_accounting import BatchAccounting
from kernel.delivery.channel_rates import draw
from kernel.delivery.payloads import fits
from kernel.delivery.personalise import Personalise, Personalised
from kernel.delivery.pressure_check import under_pressure
from kernel.delivery.retry import RetryPolicy
from kernel.delivery.send_runtime import SendRuntime
from kernel.delivery.senders import Delivery
from kernel.delivery.slice_outcomes import BatchOutcome, Logged, Pending, Waiting, record
from kernel.delivery.slices import Slice
from kernel.delivery.suspicion import ConfigSuspicion
from kernel.delivery.templates import TemplateError
from kernel.delivery.throttling import DomainThrottle
from kernel.delivery.trouble import ProviderTrouble
from kernel.settings import Settings
from sender_ext import plan_batch

log = logging.getLogger(__name__)


class BatchPipeline:
    """Sends claimed batches for one worker (its throttle, retry policy and per-channel slots)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        delivery: Delivery,
        settings: Settings,
        throttle: DomainThrottle,
        owner: str,
        *,
        clock: Callable[[], float],
        rng: random.Random,
    ) -> None:
        self._pool = pool
        self._delivery = delivery
        self._throttle = throttle
        self._owner = owner
        self._clock = clock
        self._hold = settings.lease_seconds
        self._retry = RetryPolicy(
            settings.retry_base_seconds, settings.retry_max_seconds, settings.message_max_age_seconds
        )
        self._domains = metrics.DomainLabels({*settings.domain_limits, *settings.domain_warmup})
        self._trouble = ProviderTrouble(settings.log_repeat_window_seconds)
        self._accounting = BatchAccounting(
            throttle, self._retry, self._domains, self._trouble, clock=clock, rng=rng
        )
        self._suspicion = ConfigSuspicion(
            settings.config_suspect_pause_failures, settings.config_suspect_pause_ratio
        )

    @property
    def suspicion(self) -> ConfigSuspicion:
        return self._suspicion

    async def run(
        self, runtime: SendRuntime, messages: list[Pending], *, from_retries: bool, part: Slice | None = None
    ) -> Counter[int]:
        """Send ``messages`` and record what became of them; returns how many repeated the message before
        them (the same channel and folded address: one profile's two spellings of an address) per
        channel, which are left out and counted by the caller. ``part``: the slice they were read from,
        whose lease each record extends (and checks: a slice taken over has its outcomes recorded by its
        new holder only)."""
        lease = None if part is None else (part, timedelta(seconds=self._hold))
        held = BatchOutcome()
        if (pressure := runtime.pressure) is not None:
            messages = await under_pressure(self._pool, runtime, pressure, messages, held)
        live = bytearray(b"\x01") * len(messages)
        if from_retries or runtime.paused:  # a slice's fresh messages have no attempts to expire
            self._hold_back(runtime, messages, live, held)
        channels = [message.channel for message in messages]
        now = self._clock()
        plan = plan_batch(
            [message.key for message in messages],
            [message.address for message in messages],
            channels,
            bytes(map(runtime.forms.__getitem__, channels)),
            live,
            self._throttle.throttle,
            now,
            runtime.max_sizes,
        )
        duplicates: Counter[int] = Counter()
        if 0 in plan.go:  # in the usual batch, every message goes now
            for position, message in enumerate(messages):
                if not live[position] or plan.go[position]:
                    continue
                if not plan.unique[position]:
                    duplicates[message.channel] += 1
                    continue
                delay = plan.not_before[position] - now
                held.waiting.append(Waiting(message, delay, attempted=False, detail="domain throttle"))
        batches = list(plan.batches.batches())
        if runtime.rated:
            batches = await self._hold_to_rates(runtime, messages, batches, held, now)
        await self._record(runtime, held, from_retries, lease)
        verdicts = await asyncio.gather(
            *(
                self._send(runtime, channel, [messages[i] for i in members], from_retries, lease)
                for channel, members in batches
            )
        )
        for verdict in verdicts:
            if verdict is not None:
                await self._pause(runtime, verdict)
        return duplicates

    def _hold_back(
        self, runtime: SendRuntime, messages: list[Pending], live: bytearray, held: BatchOutcome
    ) -> None:
        """Expire the messages past the maximum age, and keep waiting those of a paused channel: each is
        added to ``held`` and marked not ``live``."""
        max_age = self._retry.max_age_seconds
        for position, message in enumerate(messages):
            spec = runtime.specs[message.channel]
            if message.attempts and message.age > max_age:
                held.logged.append(Logged(message, spec.name, "expired", attempted=False))
                metrics.EXPIRED.labels(spec.name).inc()
                self._trouble.note(
                    "expired", spec.name, self._accounting.domain(runtime, message), "(not attempted)"
                )
                live[position] = 0
            elif spec.name in runtime.paused:
                # Read before the pause was seen, or a channel paused beside others of the send.
                held.waiting.append(Waiting(message, self._hold, attempted=False, detail="channel paused"))
                live[position] = 0

    async def _hold_to_rates(
        self,
        runtime: SendRuntime,
        messages: list[Pending],
        batches: list[tuple[int, list[int]]],
        held: BatchOutcome,
        now: float,
    ) -> list[tuple[int, list[int]]]:
        """Let through at most the project's budget of each rated channel; the other messages wait for
        when the budget will have refilled for them, one interval apart."""
        kept = []
        for channel, members in batches:
            if channel in runtime.rated:
                drawn = await draw(self._pool, runtime.project_id, runtime.specs[channel], len(members), now)
                for waiting, position in enumerate(members[drawn.granted :]):
                    delay = drawn.delay(waiting)
                    held.waiting.append(
                        Waiting(messages[position], delay, attempted=False, detail="channel rate")
                    )
                members = members[: drawn.granted]
            if members:
                kept.append((channel, members))
        return kept

    async def _record(
        self,
        runtime: SendRuntime,
        outcome: BatchOutcome,
        from_retries: bool,
        lease: tuple[Slice, timedelta] | None,
    ) -> None:
        if not outcome:  # the usual before a batch is sent: no connection taken (and reset) for nothing
            return
        async with self._pool.acquire() as conn:
            recorded = await record(
                conn,
                runtime.project_id,
                runtime.send_id,
                runtime.names,
                outcome,
                from_retries=from_retries,
                owner=self._owner,
                held=lease,
            )
        if not recorded:
            assert lease is not None
            log.warning(
                "send %s: slice %s was taken over while being sent; its new holder records %d messages "
                "sent here (they may go twice, with the same ids)",
                runtime.send_id,
                lease[0].slice_no,
                len(outcome.logged),
            )

    async def _send(
        self,
        runtime: SendRuntime,
        channel: int,
        messages: list[Pending],
        from_retries: bool,
        lease: tuple[Slice, timedelta] | None,
    ) -> tuple[int, str] | None:
        """Personalise, deliver and record one provider batch (all of channel ``channel``); returns the
        channel and the reason to pause it when its answers in this send suggest a wrong configuration."""
        spec = runtime.specs[channel]
        outcome = BatchOutcome()
        values = runtime.rows([message.values for message in messages])
        results: list[SendResult] = []
        # One provider request per group: a substituting provider takes one text for its whole batch.
        for personalise, group, rows in runtime.groups(channel, messages, values):
            renderable, outbound = self._personalised(spec, personalise, group, rows, outcome)
            if outbound:
                answers = await self._delivery.deliver(runtime.project_id, spec.name, outbound)
                self._accounting.account(runtime, channel, renderable, answers, outcome)
                results += answers
        await self._record(runtime, outcome, from_retries, lease)
        if not results or spec.name in runtime.paused:
            return None
        reason = self._suspicion.observe(runtime.project_id, runtime.send_id, spec.name, results)
        return None if reason is None else (channel, reason)

    @staticmethod
    def _personalised(
        spec: ChannelSpec,
        personalise: Personalise,
        messages: list[Pending],
        values: list[Sequence[Any]],
        outcome: BatchOutcome,
    ) -> tuple[list[Pending], list[OutboundMessage]]:
        """The messages that render within the channel's payload limit, and what goes out for them; the
        others are logged failed, unsent ("template", "payload_too_large")."""
        try:
            personalised, renderable = personalise.many(values), messages
        except TemplateError:  # some recipients cannot be rendered: sort them out, one by one
            personalised, renderable = [], []
            for message, recipient in zip(messages, values, strict=True):
                try:
                    personalised.append(personalise(recipient))
                except TemplateError:
                    _unsent(outcome, message, spec.name, "template")
                    continue
                renderable.append(message)
        if personalise.substitutions is None:  # a substituting provider measures its own payloads
            renderable, personalised = _within_limit(spec, renderable, personalised, outcome)
        outbound = [
            OutboundMessage(
                message.message_id, message.address, content, message.details or EMPTY, substitution
            )
            for message, (content, substitution) in zip(renderable, personalised, strict=True)
        ]
        return renderable, outbound

    async def _pause(self, runtime: SendRuntime, verdict: tuple[int, str]) -> None:
        """Pause the channel for the send's project: recorded, so that every worker honours it."""
        spec, reason = runtime.specs[verdict[0]], verdict[1]
        async with self._pool.acquire() as conn:
            made = await pause(conn, runtime.project_id, spec.name, reason, runtime.send_id)
        if made:
            log.warning(
                "channel %s paused in project %s: %s",
                spec.name,
                runtime.project_id,
                reason,
                extra={
                    "event": "channel paused",
                    "channel": spec.name,
                    "project_id": runtime.project_id,
                    "reason": reason,
                    "send_id": runtime.send_id,
                },
            )
        runtime.paused |= {spec.name}
        self._suspicion.forget(runtime.project_id, spec.name)


def _unsent(outcome: BatchOutcome, message: Pending, channel: str, reason: str) -> None:
    outcome.logged.append(Logged(message, channel, "failed", reason, attempted=False))
    metrics.FAILED.labels(channel, reason).inc()


def _within_limit(
    spec: ChannelSpec, messages: list[Pending], personalised: list[Personalised], outcome: BatchOutcome
) -> tuple[list[Pending], list[Personalised]]:
    """The messages whose rendered content fits the channel's ``max_payload_bytes`` (RenderTemplate
    measures the same way)."""
    limit = spec.capabilities.max_payload_bytes
    kept: tuple[list[Pending], list[Personalised]] = ([], [])
    for message, rendered in zip(messages, personalised, strict=True):
        if not fits(rendered[0], limit):
            _unsent(outcome, message, spec.name, FailureReason.PAYLOAD_TOO_LARGE.value)
            continue
        kept[0].append(message)
        kept[1].append(rendered)
    return kept
