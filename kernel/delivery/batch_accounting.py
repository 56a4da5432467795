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
from sender_ext import email_domain


class BatchAccounting:
    def __init__(
        self,
        throttle: DomainThrottle,
        retry: RetryPolicy,
        domains: metrics.DomainLabels,
        *,
        clock: Callable[[], float],
        rng: random.Random,
    ) -> None:
        self._throttle = throttle
        self._retry = retry
        self._domains = domains
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
        if all(result.outcome is Outcome.ACCEPTED for result in results):  # the usual
            outcome.logged += [
                Logged(message, spec.name, "sent", provider_id=result.provider_id)
                for message, result in zip(messages, results, strict=True)
            ]
            self._count(metrics.SENT, spec.name, email, list(map(attrgetter("address"), messages)))
            return
        sent, retried = [], []
        now = self._clock()
        for message, result in zip(messages, results, strict=True):
            if result.outcome is Outcome.ACCEPTED:
                outcome.logged.append(Logged(message, spec.name, "sent", provider_id=result.provider_id))
                sent.append(message.address)
            elif result.outcome is Outcome.FAILED:
                reason = failure_reason(result)
                outcome.logged.append(Logged(message, spec.name, "failed", reason, result.provider_id))
                if result.prunes_address or result.reason is FailureReason.UNSUBSCRIBED:
                    outcome.consequences.append((spec, Attempt(message.message_id, message.address, result)))
                metrics.FAILED.labels(spec.name, reason).inc()
            else:
                retried.append(message.address)
                if email:
                    self._throttle.throttle.slow_down(email_domain(message.address), now)
                delay = self._retry.next_delay(
                    message.attempts + 1, result.retry_after, message.age, self._rng
                )
                if delay is None:
                    outcome.logged.append(
                        Logged(message, spec.name, "expired", provider_id=result.provider_id)
                    )
                    metrics.EXPIRED.labels(spec.name).inc()
                else:
                    outcome.waiting.append(Waiting(message, delay, attempted=True, detail=result.detail))
        self._count(metrics.SENT, spec.name, email, sent)
        self._count(metrics.RETRIED, spec.name, email, retried)

    def _count(self, counter: Counter, channel: str, email: bool, addresses: list[str]) -> None:
        """One per address, by (channel, domain label); off email the domain is empty."""
        domains = map(email_domain, addresses) if email else itertools.repeat("", len(addresses))
        metrics.count_by_domain(counter, channel, domains, self._domains)
