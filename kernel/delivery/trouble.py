"""Log lines an operator can act on when a provider is in trouble: a channel (or an email domain) failing,
deferring, expiring messages or being slowed down, with the provider's own answer.

Each (event, channel, domain) gets one line when it first happens, then at most one per window, which
counts the messages since the line before: an outage of a channel gives a few lines a minute, not one per
message, and never none. Messages held back are logged when their window closes, even when no more come:
an outage shorter than a window still ends with a line that counts it all. A line's message names the
channel, the domain, the count and the answer, so that the handler's repeat filter (which holds back
identical lines) never hides one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: Longest provider answer quoted in a line.
ANSWER_CHARS = 300
#: The event of each status a result not accepted is settled with (``BatchOutcome.settle``).
_SETTLED = {"failed": "failing", "expired": "expired", "retry": "deferring"}


@dataclass(slots=True)
class _Tally:
    next_line_at: float
    since: float
    messages: int = 0
    answer: str = ""
    #: A line is due when the window closes (messages were held back since the last one).
    line_due: bool = False


#: Runs a callback after a delay in seconds (``loop.call_later`` by default).
Schedule = Callable[[float, Callable[[], None]], object]


def _later(delay: float, callback: Callable[[], None]) -> object:
    return asyncio.get_running_loop().call_later(delay, callback)


class ProviderTrouble:
    """The trouble one worker saw, summarised per ``window_seconds`` (0: a line per message)."""

    max_tracked = 10_000

    def __init__(
        self,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        schedule: Schedule = _later,
    ) -> None:
        self._window = window_seconds
        self._clock = clock
        self._schedule = schedule
        self._tallies: dict[tuple[str, str, str], _Tally] = {}

    def note(self, event: str, channel: str, domain: str, answer: str, messages: int = 1) -> None:
        """``messages`` of ``channel`` (to ``domain``, "" off email) met ``event``: "deferring" (a
        temporary failure), "failing" (refused for good), "expired" (given up) or "slowed down"."""
        now = self._clock()
        key = (event, channel, domain)
        tally = self._tallies.get(key)
        if tally is None:
            if len(self._tallies) >= self.max_tracked:
                self._tallies.clear()
            tally = self._tallies[key] = _Tally(next_line_at=now, since=now)
        tally.messages += messages
        tally.answer = answer[:ANSWER_CHARS]
        if now >= tally.next_line_at:
            self._line(key, tally, now)
        elif not tally.line_due:
            tally.line_due = True
            self._schedule(tally.next_line_at - now, lambda: self._window_closed(key, tally))

    def _window_closed(self, key: tuple[str, str, str], tally: _Tally) -> None:
        tally.line_due = False
        if tally.messages and self._tallies.get(key) is tally:
            self._line(key, tally, self._clock())

    def _line(self, key: tuple[str, str, str], tally: _Tally, now: float) -> None:
        event, channel, domain = key
        log.warning(
            "provider trouble: %s %s%s: %s message(s) in %.0f s; provider answered: %s",
            channel,
            event,
            f" ({domain})" if domain else "",
            tally.messages,
            now - tally.since,
            tally.answer,
            extra={
                "event": event,
                "channel": channel,
                "domain": domain,
                "messages": tally.messages,
                "answer": tally.answer,
            },
        )
        tally.messages, tally.since, tally.next_line_at = 0, now, now + self._window

    def settled(self, status: str, channel: str, answer: str) -> None:
        """A transactional message of ``channel`` (no domain) settled with ``status``."""
        self.note(_SETTLED[status], channel, "", answer)
