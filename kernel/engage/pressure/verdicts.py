"""What the rules make of one marketing message, given the profile's recent ones: a pure function, so
that the edges (the N-th message, a DST night) are tested on fixed instants."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from kernel.engage.pressure.quiet_hours import quiet_until
from kernel.engage.pressure.rules import PressureRules, QuietAction


class Reason(StrEnum):
    """Why a message did not go now; each is a send counter of the same name."""

    CAPPED = "capped"
    GRACE_PERIOD = "grace_period"
    QUIET_HOURS_DROPPED = "quiet_hours_dropped"
    QUIET_HOURS_DELAYED = "quiet_hours_delayed"


@dataclass(frozen=True, slots=True)
class Touch:
    """A marketing message a profile was given (or is being given)."""

    at: datetime
    channel: str
    label: str


@dataclass(frozen=True, slots=True)
class Verdict:
    #: None: send it now.
    reason: Reason | None = None
    #: Delayed: when to judge it again.
    until: datetime | None = None


SEND = Verdict()


def judge(
    rules: PressureRules, at: datetime, zone: ZoneInfo, history: Sequence[Touch], channel: str, label: str
) -> Verdict:
    """The verdict on a message on ``channel`` labelled ``label`` due ``at`` for a recipient in ``zone``
    who was given ``history``. Quiet hours come first: a delayed message is judged again when they end,
    on the caps as they stand then."""
    quiet = rules.quiet_hours
    if quiet is not None and (end := quiet_until(quiet, at, zone)) is not None:
        if quiet.action is QuietAction.DROP:
            return Verdict(Reason.QUIET_HOURS_DROPPED)
        return Verdict(Reason.QUIET_HOURS_DELAYED, end)
    if rules.grace and any(at - touch.at < rules.grace for touch in history):
        return Verdict(Reason.GRACE_PERIOD)
    for cap in rules.caps:
        if not cap.covers(channel, label):
            continue
        since = at - cap.period.span
        given = sum(1 for t in history if t.at > since and cap.covers(t.channel, t.label))
        if given >= cap.max_messages:
            return Verdict(Reason.CAPPED)
    return SEND
