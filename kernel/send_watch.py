"""``herald sends watch ID``: a send's progress, polled through GetSend until it ends.

On a terminal, a view redrawn in place: a progress bar per channel (GetSend's ``by_channel``) with its
counts and the rate at which its messages reach a final status, the send's rate and the time left at
that rate, the pace in force and the channels Herald paused; below it, the email domains the sender
workers throttle when the send has an email channel (ChannelService.ListDomainThrottles). Anywhere else
(a pipe, a log, a test) plain lines, one each time the counts change, each channel's progress at its
end (and the throttled domains each time they change), so that nothing depends on a terminal.
"""

from __future__ import annotations

import collections
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC
from typing import Protocol, TextIO

from herald.v1 import channels_pb2, messages_pb2

_BAR_WIDTH = 30
#: The rate is measured over this much recent history: long enough to smooth batches, short enough
#: to follow a pause or a throttle.
_RATE_WINDOW_SECONDS = 10.0
_ENDED = frozenset({messages_pb2.SEND_STATE_COMPLETED, messages_pb2.SEND_STATE_CANCELLED})
_PACE_UNITS = {messages_pb2.PACE_UNIT_MINUTE: "min", messages_pb2.PACE_UNIT_HOUR: "h"}


class Counted(Protocol):
    """A send's counts, or one channel's (``messages_pb2.SendChannelCounts``)."""

    planned: int
    sent: int
    failed: int
    suppressed: int
    expired: int
    cancelled: int
    pending: int
    capped: int
    grace_period: int
    quiet_hours_dropped: int


#: Channel -> messages per second, as measured so far (None: not yet).
ChannelRates = Mapping[str, float | None]


def finished(send: Counted) -> int:
    """Messages with a final status: sent, failed, expired, cancelled, suppressed, or kept by the
    project's marketing pressure rules."""
    final = send.sent + send.failed + send.expired + send.cancelled + send.suppressed
    return final + send.capped + send.grace_period + send.quiet_hours_dropped


class RateMeter:
    """Messages finished per second over the last :data:`_RATE_WINDOW_SECONDS`."""

    def __init__(self) -> None:
        self._samples: collections.deque[tuple[float, int]] = collections.deque()

    def add(self, at: float, count: int) -> float | None:
        """Record ``count`` finished at monotonic time ``at``; the rate, once two samples exist."""
        self._samples.append((at, count))
        while len(self._samples) > 2 and at - self._samples[1][0] >= _RATE_WINDOW_SECONDS:
            self._samples.popleft()
        first_at, first_count = self._samples[0]
        return (count - first_count) / (at - first_at) if at > first_at else None


def _duration(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02}:{whole % 60:02}"


def state_name(send: messages_pb2.Send) -> str:
    return messages_pb2.SendState.Name(send.state).removeprefix("SEND_STATE_")


def not_planned(send: messages_pb2.Send) -> str:
    return (
        f"not planned: duplicates {send.duplicates:,}, not consented {send.not_consented:,}, "
        f"unknown profiles {send.unknown_profiles:,}"
    )


def counts(send: Counted, separator: str = "  ") -> str:
    figures = {
        "sent": send.sent,
        "failed": send.failed,
        "suppressed": send.suppressed,
        "expired": send.expired,
        "cancelled": send.cancelled,
        "pending": send.pending,
    }
    return separator.join(f"{name} {count:,}" for name, count in figures.items())


def _progress(counted: Counted, complete: bool) -> str:
    planned = f"{counted.planned:,}" + ("" if complete else "+")
    share = finished(counted) / counted.planned if counted.planned else 0.0
    return f"{share:>4.0%}  {finished(counted):,}/{planned}"


def _bar(counted: Counted) -> str:
    share = finished(counted) / counted.planned if counted.planned else 0.0
    done = round(share * _BAR_WIDTH)
    return "[" + "#" * done + "." * (_BAR_WIDTH - done) + "]"


def _channels(send: messages_pb2.Send) -> dict[str, Counted]:
    """What each bar shows: each channel's counts (zeros for one of which nothing was read yet); the
    send's under one label for a send of several channels counted before they were told apart."""
    if send.by_channel or not send.planned:
        counted = {channel.channel: channel for channel in send.by_channel}
        zero = messages_pb2.SendChannelCounts
        return {name: counted.get(name) or zero(channel=name) for name in send.channels}
    label = send.channels[0] if len(send.channels) == 1 else "all channels (" + ", ".join(send.channels) + ")"
    return {label: send}


def _speed(send: Counted, rate: float | None) -> str:
    if rate is None:
        return "rate -"
    left = f"  ETA {_duration(send.pending / rate)}" if rate > 0 and send.pending else ""
    return f"rate {rate:,.1f}/s{left}"


def plain_line(send: messages_pb2.Send, rate: float | None) -> str:
    progress, speed = _progress(send, send.outbox_complete), _speed(send, rate)
    line = f"{state_name(send)} {progress}  {counts(send)}  retries {send.retries:,}  {speed}"
    return line + "".join(
        f"  {counted.channel} {finished(counted):,}/{counted.planned:,}" for counted in send.by_channel
    )


def view(send: messages_pb2.Send, rate: float | None, channel_rates: ChannelRates | None = None) -> list[str]:
    """The terminal view's lines: ``rate`` is the send's, ``channel_rates`` each channel's."""
    pace = "unpaced"
    if send.HasField("pacing"):
        pace = f"pace {send.pacing.count:,}/{_PACE_UNITS.get(send.pacing.unit, '?')}"
    filling = "" if send.outbox_complete else "  (audience still being read)"
    lines = [f"send {send.send_id}  {send.name!r}  {state_name(send)}  {pace}{filling}"]
    shown = _channels(send)
    width = max(len(label) for label in shown)
    for label, counted in shown.items():
        measured = (channel_rates or {}).get(label)
        speed = "" if measured is None else f"  {measured:,.1f}/s"
        lines.append(f"{label:<{width}}  {_bar(counted)} {_progress(counted, send.outbox_complete)}{speed}")
        lines.append(f"  {counts(counted)}")
    lines.append(f"  {_speed(send, rate)}  retries {send.retries:,}")
    lines.extend(f"  paused {pause.channel}: {pause.reason}" for pause in send.paused_channels)
    return lines


def throttle_lines(domains: Sequence[channels_pb2.DomainThrottle]) -> list[str]:
    """The throttled email domains: each one's rate now against its limit, and how deep it is slowed
    down, until when, and why."""
    lines = []
    for domain in domains:
        line = f"  throttled {domain.domain}: "
        if domain.limit_per_second:
            line += f"{domain.rate_per_second:,.2f}/s of {domain.limit_per_second:,.2f}/s"
        else:
            line += "no limit"
        if domain.slowdown < 1.0:
            until = domain.slowed_until.ToDatetime(tzinfo=UTC).strftime("%H:%M:%S UTC")
            why = "a deferral on another project's send" if domain.reason_hidden else domain.reason
            line += f", slowed down to x{domain.slowdown:.2f} until {until} ({why})"
        lines.append(line)
    return lines


def summary(send: messages_pb2.Send) -> str:
    """The final counts, printed once the send has ended."""
    return (
        f"send {send.send_id} {state_name(send).lower()}: planned {send.planned:,}, {counts(send, ', ')}, "
        f"retries {send.retries:,}; {not_planned(send)}"
    )


def watch(
    fetch: Callable[[], messages_pb2.Send],
    interval: float,
    out: TextIO = sys.stdout,
    live: bool | None = None,
    throttles: Callable[[messages_pb2.Send], Sequence[channels_pb2.DomainThrottle]] = lambda send: (),
) -> messages_pb2.Send:
    """Poll ``fetch`` every ``interval`` seconds, showing progress on ``out`` (redrawn in place when
    ``live``, by default when ``out`` is a terminal), with the domains ``throttles`` gives for the send,
    until the send ends; returns its last state."""
    live = out.isatty() if live is None else live
    meter = RateMeter()
    meters: dict[str, RateMeter] = collections.defaultdict(RateMeter)
    drawn, shown, throttled = 0, None, None
    while True:
        send = fetch()
        now = time.monotonic()
        rate = meter.add(now, finished(send))
        rates = {c.channel: meters[c.channel].add(now, finished(c)) for c in send.by_channel}
        domains = throttle_lines(throttles(send))
        if live:
            lines = view(send, rate, rates) + domains
            # Back to the first line of the previous view, and clear it to the end of the screen.
            out.write((f"\x1b[{drawn}F" if drawn else "") + "\x1b[J" + "\n".join(lines) + "\n")
            drawn = len(lines)
        else:
            # A line when the counts move, not every poll: a log of a long, paused send stays short.
            moved = (send.state, send.planned, finished(send), send.pending, send.retries)
            if moved != shown:
                out.write(plain_line(send, rate) + "\n")
            if domains != throttled:
                out.writelines(line + "\n" for line in domains)
            shown, throttled = moved, domains
        out.flush()
        if send.state in _ENDED:
            out.write(summary(send) + "\n")
            return send
        time.sleep(interval)
