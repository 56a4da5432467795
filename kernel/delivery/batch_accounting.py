"""What a provider's answers to one batch of a send make of its messages: the batch outcome, the metrics
and the email domains' throttle feedback.

Accepted messages are logged sent; permanent failures logged failed (with their consequences for the
profile: a pruned address, an unsubscribe); temporary ones wait for a retry, slow their domain down, or
expire once the retry policy gives up on them.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from operator import attrgetter

from prometheus_client import Counter

from kernel.channels import FailureReason, Outcome, SendResult
from kernel.delivery import metrics
from kernel.delivery.outcomes import Attempt
from kernel.delivery.results import failure_reason
from kernel.delivery.retry import RetryPolicy
from kernel.delivery.send_runtime import SendRuntime
from kernel.delivery.slice_outcomes import BatchOutcome, Logged, Pending, Waiting
from kernel.delivery.throttling import DomainThrottle
from kernel.delivery.trouble import ProviderTrouble
from sender_ext import email_domain

_OUTCOME = attrgetter("outcome")
_ACCEPTED = frozenset({Outcome.ACCEPTED})


class BatchAccounting:
    def __init__(
        self,
        throttle: DomainThrottle,
        retry: RetryPolicy,
        domains: metrics.DomainLabels,
        trouble: ProviderTrouble,
        *,
        clock: Callable[[], float],
        rng: random.Random,
    ) -> None:
        self._throttle = throttle
        self._retry = retry
        self._domains = domains
        self._trouble = trouble
        self._clock = clock
        self._rng = rng

    def account(
        self,
        runtime: SendRuntime,
        channel: int,
        messages: list[Pending],
        results: list[SendResult],
        outcome: BatchOutcome,
    ) -> None:
        """Add what became of ``messages`` (one provider batch of channel ``channel``) to ``outcome``."""
        spec = runtime.specs[channel]
        if len(results) != len(messages):
            raise ValueError(f"{spec.name} answered {len(results)} results for {len(messages)} messages")
        email = runtime.kinds[channel].has_domain
        if set(map(_OUTCOME, results)) <= _ACCEPTED:  # the usual
            name = spec.name
            # Positional: keywords cost a third more, per message.
            outcome.logged += [
                Logged(message, name, "sent", "", result.provider_id)
                for message, result in zip(messages, results, strict=True)
            ]
            self._count(metrics.SENT, spec.name, email, list(map(attrgetter("address"), messages)))
            return
        sent, retried = [], []
        now = self._clock()
        for message, result in zip(messages, results, strict=True):
            domain = self.domain(runtime, message)
            if result.outcome is Outcome.ACCEPTED:
                outcome.logged.append(Logged(message, spec.name, "sent", provider_id=result.provider_id))
                sent.append(message.address)
            elif result.outcome is Outcome.FAILED:
                reason = failure_reason(result)
                outcome.logged.append(Logged(message, spec.name, "failed", reason, result.provider_id))
                if result.prunes_address or result.reason is FailureReason.UNSUBSCRIBED:
                    outcome.consequences.append((spec, Attempt(message.message_id, message.address, result)))
                metrics.FAILED.labels(spec.name, reason).inc()
                self._trouble.note("failing", spec.name, domain, f"{reason}: {result.detail}")
            else:
                retried.append(message.address)
                self._trouble.note("deferring", spec.name, domain, result.detail)
                if email:
                    self._slow_down(runtime, spec.name, email_domain(message.address), now, result.detail)
                delay = self._retry.next_delay(
                    message.attempts + 1, result.retry_after, message.age, self._rng
                )
                if delay is None:
                    outcome.logged.append(
                        Logged(message, spec.name, "expired", provider_id=result.provider_id)
                    )
                    metrics.EXPIRED.labels(spec.name).inc()
                    self._trouble.note("expired", spec.name, domain, result.detail)
                else:
                    outcome.waiting.append(Waiting(message, delay, attempted=True, detail=result.detail))
        self._count(metrics.SENT, spec.name, email, sent)
        self._count(metrics.RETRIED, spec.name, email, retried)

    def domain(self, runtime: SendRuntime, message: Pending) -> str:
        """The message's domain label for trouble reports ("" off email)."""
        email = runtime.kinds[message.channel].has_domain
        return self._domains(email_domain(message.address)) if email else ""

    def _slow_down(self, runtime: SendRuntime, channel: str, domain: str, now: float, answer: str) -> None:
        """Slow the domain down in this worker's throttle; a new episode (a lower factor) is reported."""
        before, factor = self._throttle.slow_down(domain, now, answer, runtime.project_id)
        if factor < before:
            self._trouble.note(
                "slowed down", channel, self._domains(domain), f"factor {factor:.3g}: {answer}"
            )

    def _count(self, counter: Counter, channel: str, email: bool, addresses: list[str]) -> None:
        """One per address, by (channel, domain label); off email the domain is empty."""
        domains = map(email_domain, addresses) if email else itertools.repeat("", len(addresses))
        metrics.count_by_domain(counter, channel, domains, self._domains)
