"""The per-email-domain throttle of one worker, built from the settings: limits, default, warm-up ramps.

The buckets themselves (and the slow-down of a domain in trouble) are sender_ext's :class:`Throttle`;
this module decides each domain's limit for today and the worker's share of it. A warm-up ramp caps a
domain at ``daily[d]`` messages on day ``d`` after its start, spread over the day; when the ramp ends,
the regular limit applies again. It also remembers why each domain was last slowed down (sender_ext
keeps only the factor), for the state a worker publishes with its heartbeat
(:mod:`kernel.delivery.throttle_board`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from kernel.channels import AddressKindSpec
from kernel.settings import Settings, WarmUp
from sender_ext import AddressForm, Rate, SlowDown, Throttle

#: The default limit when the operator set none: far beyond any provider, so in effect no limit.
UNLIMITED = Rate(1e9)
DAY_SECONDS = 86400.0
#: The warm-up key that applies to every domain without a ramp of its own.
EVERY_DOMAIN = "*"


def ramp_rate(ramp: WarmUp, today: date) -> Rate | None:
    """The warm-up limit of ``today``, or None before the start and after the last day."""
    day = (today - ramp.start).days
    if 0 <= day < len(ramp.daily):
        return Rate(ramp.daily[day], DAY_SECONDS)
    return None


def _slower(first: Rate, second: Rate | None) -> Rate:
    return first if second is None or first.per_second <= second.per_second else second


@dataclass(frozen=True, slots=True)
class SlowedDown:
    """The deferral that last slowed a domain down: the provider's answer, and the project whose send got
    it (the words may name a recipient: only that project and the operator are shown them)."""

    answer: str
    project_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class DomainState:
    """One domain in one worker's throttle, now."""

    domain: str
    #: Its limit across every worker, in messages per second; None: unlimited.
    limit: float | None
    #: What this worker may send to it now, per second (its share of the limit, slowed down).
    rate: float | None
    #: 1.0 at full speed; lower after the provider deferred messages to it.
    slowdown: float
    #: Named in the settings (a limit or a ramp), as opposed to merely slowed down.
    configured: bool
    #: Why it is slowed down (None at full speed), and when it will be at full speed again (epoch seconds).
    slowed: SlowedDown | None = None
    until: float | None = None


class DomainThrottle:
    """One worker's throttle, with the limits of the current UTC day (call :meth:`refresh` now and then)."""

    def __init__(self, settings: Settings) -> None:
        self._limits = {domain: Rate.parse(rate) for domain, rate in settings.domain_limits.items()}
        self._default = Rate.parse(settings.default_domain_limit) if settings.default_domain_limit else None
        self._ramps: Mapping[str, WarmUp] = {d.strip().lower(): r for d, r in settings.domain_warmup.items()}
        self._day: date | None = None
        self._default_in_force = UNLIMITED
        self._slow_down = SlowDown()
        self._slowed: dict[str, SlowedDown] = {}
        self.throttle = Throttle(UNLIMITED, policy=self._slow_down)

    def limit(self, domain: str, today: date) -> Rate | None:
        """``domain``'s limit on ``today`` (None: unlimited): its own or the default, capped by a ramp."""
        regular = self._limits.get(domain, self._default)
        ramp = self._ramps.get(domain, self._ramps.get(EVERY_DOMAIN))
        warm = ramp_rate(ramp, today) if ramp is not None else None
        if regular is None:
            return warm
        return _slower(regular, warm)

    def refresh(self, now: float, live_workers: int) -> None:
        """Apply today's limits (a new day moves the ramps on) and this worker's share of each."""
        today = datetime.fromtimestamp(now, UTC).date()
        if today != self._day:
            self._day = today
            default = self.limit("", today) or UNLIMITED
            if default != self._default_in_force:
                # sender_ext fixes the default at construction: a new one needs a new throttle.
                self.throttle = Throttle(default, policy=self._slow_down)
                self._default_in_force = default
            for domain in {*self._limits, *self._ramps} - {EVERY_DOMAIN}:
                self.throttle.set_limit(domain, self.limit(domain, today) or UNLIMITED)
        self.throttle.share = 1.0 / max(1, live_workers)

    def slow_down(self, domain: str, now: float, answer: str, project_id: uuid.UUID) -> tuple[float, float]:
        """The provider deferred a message to ``domain``: slow it down, remembering why when this starts a
        new episode; returns its factor before and after."""
        before = self.throttle.multiplier(domain, now)
        after = self.throttle.slow_down(domain, now)
        if after < before:
            self._slowed[domain] = SlowedDown(answer, project_id)
        return before, after

    def state(self, now: float) -> list[DomainState]:
        """Each domain named in the settings, and each still slowed down (the others forgotten)."""
        today = datetime.fromtimestamp(now, UTC).date()
        configured = {*self._limits, *self._ramps} - {EVERY_DOMAIN}
        for domain in [domain for domain in self._slowed if self.throttle.multiplier(domain, now) >= 1.0]:
            del self._slowed[domain]
        states = []
        for domain in sorted(configured | self._slowed.keys()):
            slowdown = self.throttle.multiplier(domain, now)
            limit = self.limit(domain, today)
            slowed = self._slowed.get(domain)
            states.append(
                DomainState(
                    domain,
                    None if limit is None else limit.per_second,
                    None if limit is None else limit.per_second * self.throttle.share * slowdown,
                    slowdown,
                    domain in configured,
                    slowed,
                    None if slowed is None else now + (1.0 - slowdown) * self._slow_down.recovery_seconds,
                )
            )
        return states


def address_form(kind: AddressKindSpec) -> AddressForm:
    """How sender_ext reads the addresses of ``kind``: the throttle takes the mailbox ones by domain."""
    if kind.has_domain:
        return AddressForm.MAILBOX
    return AddressForm.CASELESS if kind.folds_case else AddressForm.VERBATIM
