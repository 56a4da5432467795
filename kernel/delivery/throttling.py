"""The per-email-domain throttle of one worker, built from the settings: limits, default, warm-up ramps.

The buckets themselves (and the slow-down of a domain in trouble) are sender_ext's :class:`Throttle`;
this module decides each domain's limit for today and the worker's share of it. A warm-up ramp caps a
domain at ``daily[d]`` messages on day ``d`` after its start, spread over the day; when the ramp ends,
the regular limit applies again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

from kernel.channels import AddressKindSpec
from kernel.settings import Settings, WarmUp
from sender_ext import AddressForm, Rate, Throttle

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


class DomainThrottle:
    """One worker's throttle, with the limits of the current UTC day (call :meth:`refresh` now and then)."""

    def __init__(self, settings: Settings) -> None:
        self._limits = {domain: Rate.parse(rate) for domain, rate in settings.domain_limits.items()}
        self._default = Rate.parse(settings.default_domain_limit) if settings.default_domain_limit else None
        self._ramps: Mapping[str, WarmUp] = {d.strip().lower(): r for d, r in settings.domain_warmup.items()}
        self._day: date | None = None
        self._default_in_force = UNLIMITED
        self.throttle = Throttle(UNLIMITED)

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
                self.throttle = Throttle(default)
                self._default_in_force = default
            for domain in {*self._limits, *self._ramps} - {EVERY_DOMAIN}:
                self.throttle.set_limit(domain, self.limit(domain, today) or UNLIMITED)
        self.throttle.share = 1.0 / max(1, live_workers)

    def state(self, now: float) -> dict[str, tuple[float, float]]:
        """Each domain named in the settings: (messages per second it is allowed now, slow-down factor)."""
        today = datetime.fromtimestamp(now, UTC).date()
        state = {}
        for domain in sorted({*self._limits, *self._ramps} - {EVERY_DOMAIN}):
            slowdown = self.throttle.multiplier(domain, now)
            limit = self.limit(domain, today) or UNLIMITED
            state[domain] = (limit.per_second * self.throttle.share * slowdown, slowdown)
        return state


def address_form(kind: AddressKindSpec) -> AddressForm:
    """How sender_ext reads the addresses of ``kind``: the throttle takes the mailbox ones by domain."""
    if kind.has_domain:
        return AddressForm.MAILBOX
    return AddressForm.CASELESS if kind.folds_case else AddressForm.VERBATIM
