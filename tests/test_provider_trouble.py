"""Provider trouble is logged at once, then summed up once per window per channel, domain and kind."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from kernel.delivery.trouble import ProviderTrouble


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Later:
    """The callbacks ProviderTrouble schedules, run when the test moves the clock past their time."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.due: list[tuple[float, Callable[[], None]]] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> None:
        self.due.append((self.clock.now + delay, callback))

    def advance(self, seconds: float) -> None:
        self.clock.now += seconds
        ready = [callback for at, callback in self.due if at <= self.clock.now]
        self.due = [(at, callback) for at, callback in self.due if at > self.clock.now]
        for callback in ready:
            callback()


def lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, str, int, str]]:
    return [
        (r.event, r.channel, r.domain, r.messages, r.answer)
        for r in caplog.records
        if r.name == "kernel.delivery.trouble"
    ]


def test_an_outage_gives_a_line_at_once_then_one_per_window(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    trouble = ProviderTrouble(60.0, clock, Later(clock))
    for _ in range(500):
        trouble.note("deferring", "email.sparkpost", "other", "ConnectionRefusedError")
        clock.now += 0.1  # 50 s of an outage: one line
    trouble.settled("expired", "sms.webhook", "gateway down")
    assert lines(caplog) == [
        ("deferring", "email.sparkpost", "other", 1, "ConnectionRefusedError"),
        ("expired", "sms.webhook", "", 1, "gateway down"),
    ]
    clock.now += 11.0
    trouble.note("deferring", "email.sparkpost", "other", "ConnectionRefusedError")
    assert lines(caplog)[-1] == ("deferring", "email.sparkpost", "other", 500, "ConnectionRefusedError")
    assert all(r.levelno == logging.WARNING for r in caplog.records)


def test_no_window_logs_every_one(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    trouble = ProviderTrouble(0.0, clock, Later(clock))
    for _ in range(3):
        trouble.settled("failed", "push.apns", "BadDeviceToken")
    assert [line[0] for line in lines(caplog)] == ["failing"] * 3


def test_an_outage_shorter_than_a_window_ends_with_a_line_counting_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    later = Later(clock)
    trouble = ProviderTrouble(60.0, clock, later)
    for _ in range(90):
        trouble.note("expired", "email.sparkpost", "other", "ConnectionRefusedError")
        clock.now += 0.1  # 9 s, then the provider is back (or nothing is left to send)
    assert lines(caplog) == [("expired", "email.sparkpost", "other", 1, "ConnectionRefusedError")]
    later.advance(52.0)
    assert lines(caplog)[-1] == ("expired", "email.sparkpost", "other", 89, "ConnectionRefusedError")
    later.advance(120.0)
    assert len(lines(caplog)) == 2
