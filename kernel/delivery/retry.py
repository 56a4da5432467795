"""When a temporarily failed message is tried again: exponential backoff with jitter, the provider's
Retry-After first, and a maximum age after which it is given up (expired).

Jitter ("equal jitter": half the backoff fixed, half random) spreads the retries of a batch that failed
together, so that a provider recovering from an outage is not hit by all of them at once, while no retry
comes sooner than half its backoff.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

#: A provider's Retry-After is honoured, then stretched by up to this fraction (spreading, as above).
RETRY_AFTER_SPREAD = 0.1


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_seconds: float
    max_seconds: float
    max_age_seconds: float

    def delay(self, attempts: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds until the next try, after ``attempts`` tries (1 after the first failure)."""
        if retry_after is not None:
            return retry_after * (1.0 + rng.random() * RETRY_AFTER_SPREAD)
        backoff = min(self.max_seconds, self.base_seconds * 2.0 ** min(max(attempts - 1, 0), 62))
        return backoff / 2.0 + rng.random() * backoff / 2.0

    def next_delay(
        self, attempts: int, retry_after: float | None, age: float, rng: random.Random
    ) -> float | None:
        """Seconds until the next try of a message first tried ``age`` seconds ago, or None when that
        would be past the maximum age (the message expires)."""
        delay = self.delay(attempts, retry_after, rng)
        return None if age + delay > self.max_age_seconds else delay
