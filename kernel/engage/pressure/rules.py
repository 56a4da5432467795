"""A project's pressure rules: the domain's typed form, checked, and as stored (jsonb)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import time, timedelta
from enum import StrEnum
from typing import Any

from kernel.errors import InvalidArgument

#: Caps per project: each is checked for every message, so the list stays short.
MAX_CAPS = 50
#: MessageTemplate.campaign's limit, which labels are compared with.
MAX_LABEL_BYTES = 64
MAX_GRACE = timedelta(days=7)
_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


class Period(StrEnum):
    """A cap's window, rolling: the last 24 hours, the last 7 days (not calendar days, which would let a
    profile get twice the cap around midnight)."""

    DAY = "day"
    WEEK = "week"

    @property
    def span(self) -> timedelta:
        return timedelta(days=1) if self is Period.DAY else timedelta(days=7)


#: The furthest back any rules look: older touches count for nobody.
MAX_LOOKBACK = max(MAX_GRACE, *(period.span for period in Period))


class QuietAction(StrEnum):
    DELAY = "delay"
    DROP = "drop"


@dataclass(frozen=True, slots=True)
class Cap:
    """At most ``max_messages`` marketing messages per profile per ``period``, counting only those on
    ``channel`` and with ``label`` when they are set."""

    max_messages: int
    period: Period
    channel: str = ""
    label: str = ""

    def covers(self, channel: str, label: str) -> bool:
        return (not self.channel or self.channel == channel) and (not self.label or self.label == label)


@dataclass(frozen=True, slots=True)
class QuietHours:
    """From ``start`` to ``end`` (wall clock in the recipient's zone; across midnight when ``end`` comes
    first), a message is delayed to the end or dropped."""

    start: time
    end: time
    action: QuietAction


@dataclass(frozen=True, slots=True)
class PressureRules:
    caps: tuple[Cap, ...] = ()
    grace: timedelta = timedelta(0)
    quiet_hours: QuietHours | None = None

    def __bool__(self) -> bool:
        return bool(self.caps or self.grace or self.quiet_hours)

    @property
    def lookback(self) -> timedelta:
        """How far back a profile's messages matter to the rules."""
        return max([self.grace, *(cap.period.span for cap in self.caps)])

    def stored(self) -> dict[str, Any]:
        quiet = self.quiet_hours
        return {
            "caps": [
                {"max": c.max_messages, "period": c.period.value, "channel": c.channel, "label": c.label}
                for c in self.caps
            ],
            "grace_seconds": int(self.grace.total_seconds()),
            "quiet_hours": None
            if quiet is None
            else {"start": _clock(quiet.start), "end": _clock(quiet.end), "action": quiet.action.value},
        }

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> PressureRules:
        quiet = stored.get("quiet_hours")
        return cls(
            tuple(
                Cap(c["max"], Period(c["period"]), c.get("channel", ""), c.get("label", ""))
                for c in stored.get("caps", ())
            ),
            timedelta(seconds=stored.get("grace_seconds", 0)),
            None
            if quiet is None
            else QuietHours(
                time.fromisoformat(quiet["start"]),
                time.fromisoformat(quiet["end"]),
                QuietAction(quiet["action"]),
            ),
        )


def _clock(moment: time) -> str:
    return moment.strftime("%H:%M")


def check_cap(cap: Cap, channels: Sequence[str], field: str) -> Cap:
    """``channels``: the channel names a cap may name."""
    if cap.max_messages < 1:
        raise InvalidArgument("at least 1", f"{field}.max_messages")
    if cap.channel and cap.channel not in channels:
        raise InvalidArgument(f"unknown channel {cap.channel!r}", f"{field}.channel")
    if len(cap.label.encode()) > MAX_LABEL_BYTES:
        raise InvalidArgument(f"at most {MAX_LABEL_BYTES} bytes in UTF-8", f"{field}.label")
    return cap


def check_caps(caps: Sequence[Cap], channels: Sequence[str], field: str = "rules.caps") -> tuple[Cap, ...]:
    if len(caps) > MAX_CAPS:
        raise InvalidArgument(f"at most {MAX_CAPS} caps", field)
    return tuple(check_cap(cap, channels, f"{field}[{index}]") for index, cap in enumerate(caps))


def check_grace(grace: timedelta, field: str = "rules.grace_period") -> timedelta:
    if grace < timedelta(0) or grace > MAX_GRACE or grace.microseconds:
        raise InvalidArgument(f"whole seconds, from 0 to {MAX_GRACE.days} days", field)
    return grace


def parse_clock(text: str, field: str) -> time:
    """A wall-clock time written "HH:MM" (24-hour)."""
    match = _CLOCK.fullmatch(text)
    if match is None:
        raise InvalidArgument(f"{text!r} is not a time of day written HH:MM (00:00 to 23:59)", field)
    return time(int(match[1]), int(match[2]))


def check_quiet_hours(quiet: QuietHours, field: str = "rules.quiet_hours") -> QuietHours:
    if quiet.start == quiet.end:
        raise InvalidArgument("must differ from start (quiet hours of no length)", f"{field}.end")
    return quiet
