"""Provider trouble is logged at once, then summed up once per window per channel, domain and kind."""

from __future__ import annotations

import logging

import pytest

from kernel.delivery.trouble import ProviderTrouble


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, str, int, str]]:
    return [
        (r.event, r.channel, r.domain, r.messages, r.answer)
        for r in caplog.records
        if r.name == "kernel.delivery.trouble"
    ]


def test_an_outage_gives_a_line_at_once_then_one_per_window(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    trouble = ProviderTrouble(60.0, clock)
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
    trouble = ProviderTrouble(0.0, Clock())
    for _ in range(3):
        trouble.settled("failed", "push.apns", "BadDeviceToken")
    assert [line[0] for line in lines(caplog)] == ["failing"] * 3
