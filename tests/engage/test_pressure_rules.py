"""The pressure rules' verdicts on fixed instants: caps at their edges, per channel and label, the grace
period, quiet hours across zones and on the nights the clocks change."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from kernel.engage.pressure import Cap, Period, PressureRules, QuietAction, QuietHours, Reason, Touch, judge
from kernel.engage.pressure.quiet_hours import quiet_until
from kernel.engage.pressure.rules import check_grace, parse_clock
from kernel.errors import InvalidArgument

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
EMAIL, SMS = "email.sparkpost", "sms.webhook"
NIGHT = QuietHours(time(21, 0), time(8, 0), QuietAction.DELAY)


def given(*hours_ago: float, channel: str = EMAIL, label: str = "") -> list[Touch]:
    return [Touch(NOW - timedelta(hours=h), channel, label) for h in hours_ago]


def test_the_nth_message_of_the_day_goes_and_the_next_is_capped() -> None:
    rules = PressureRules(caps=(Cap(3, Period.DAY),))
    assert judge(rules, NOW, PARIS, given(1, 2), EMAIL, "").reason is None
    assert judge(rules, NOW, PARIS, given(1, 2, 3), EMAIL, "").reason is Reason.CAPPED


def test_a_cap_counts_a_rolling_window() -> None:
    day = PressureRules(caps=(Cap(1, Period.DAY),))
    assert judge(day, NOW, PARIS, given(24), EMAIL, "").reason is None
    assert judge(day, NOW, PARIS, given(23.9), EMAIL, "").reason is Reason.CAPPED
    week = PressureRules(caps=(Cap(2, Period.WEEK),))
    assert judge(week, NOW, PARIS, given(30, 24 * 6.9), EMAIL, "").reason is Reason.CAPPED
    assert judge(week, NOW, PARIS, given(30, 24 * 7), EMAIL, "").reason is None


def test_a_channel_cap_counts_and_holds_only_its_channel() -> None:
    rules = PressureRules(caps=(Cap(1, Period.DAY, channel=SMS),))
    assert judge(rules, NOW, PARIS, given(1, 2), SMS, "").reason is None  # e-mails do not count
    assert judge(rules, NOW, PARIS, given(1, channel=SMS), SMS, "").reason is Reason.CAPPED
    assert judge(rules, NOW, PARIS, given(1, channel=SMS), EMAIL, "").reason is None


def test_a_label_cap_counts_and_holds_only_its_label() -> None:
    rules = PressureRules(caps=(Cap(1, Period.WEEK, label="promo"),))
    assert judge(rules, NOW, PARIS, given(1, label="news"), EMAIL, "promo").reason is None
    assert judge(rules, NOW, PARIS, given(50, label="promo"), EMAIL, "promo").reason is Reason.CAPPED
    assert judge(rules, NOW, PARIS, given(50, label="promo"), EMAIL, "news").reason is None


def test_grace_period_at_its_edge() -> None:
    rules = PressureRules(grace=timedelta(hours=4))
    assert judge(rules, NOW, PARIS, given(3.99), EMAIL, "").reason is Reason.GRACE_PERIOD
    assert judge(rules, NOW, PARIS, given(4), EMAIL, "").reason is None


@pytest.mark.parametrize(
    ("zone", "due", "end"),
    [
        # 22:00 in Paris (UTC+1 in winter): quiet until 08:00 there, 07:00 UTC the next day.
        ("Europe/Paris", datetime(2026, 12, 7, 21, 0, tzinfo=UTC), datetime(2026, 12, 8, 7, 0, tzinfo=UTC)),
        # 06:00 in Tokyo (UTC+9): quiet until 08:00 the same day, 23:00 UTC the day before.
        ("Asia/Tokyo", datetime(2026, 12, 6, 21, 0, tzinfo=UTC), datetime(2026, 12, 6, 23, 0, tzinfo=UTC)),
        # 16:00 in New York at that same instant: not quiet.
        ("America/New_York", datetime(2026, 12, 6, 21, 0, tzinfo=UTC), None),
    ],
)
def test_quiet_hours_are_the_recipients(zone: str, due: datetime, end: datetime | None) -> None:
    assert quiet_until(NIGHT, due, ZoneInfo(zone)) == end


def test_quiet_hours_end_by_the_wall_clock_on_dst_nights() -> None:
    # Paris springs forward on 2026-03-29 (02:00 -> 03:00): 23:00 CET to 08:00 CEST is 8 hours.
    due = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)
    assert quiet_until(NIGHT, due, PARIS) == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    # ... and falls back on 2026-10-25 (03:00 -> 02:00): 23:00 CEST to 08:00 CET is 10 hours.
    due = datetime(2026, 10, 24, 21, 0, tzinfo=UTC)
    assert quiet_until(NIGHT, due, PARIS) == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)
    # An end the change skips (02:30) falls just after it: 03:30 CEST.
    skipped = QuietHours(time(1, 0), time(2, 30), QuietAction.DROP)
    assert quiet_until(skipped, datetime(2026, 3, 29, 0, 30, tzinfo=UTC), PARIS) == datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC
    )


def test_quiet_hours_come_first_and_delay_or_drop() -> None:
    due = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)  # 23:00 in Paris
    rules = PressureRules(caps=(Cap(1, Period.DAY),), quiet_hours=NIGHT)
    verdict = judge(rules, due, PARIS, [Touch(due - timedelta(hours=1), EMAIL, "")], EMAIL, "")
    assert verdict.reason is Reason.QUIET_HOURS_DELAYED
    assert verdict.until == datetime(2026, 12, 8, 7, 0, tzinfo=UTC)
    dropping = PressureRules(quiet_hours=QuietHours(NIGHT.start, NIGHT.end, QuietAction.DROP))
    assert judge(dropping, due, PARIS, [], EMAIL, "").reason is Reason.QUIET_HOURS_DROPPED
    assert judge(dropping, due, ZoneInfo("America/New_York"), [], EMAIL, "").reason is None


def test_quiet_hours_within_one_day() -> None:
    lunch = QuietHours(time(12, 0), time(14, 0), QuietAction.DELAY)
    assert quiet_until(lunch, NOW, ZoneInfo("UTC")) == NOW + timedelta(hours=2)
    assert quiet_until(lunch, NOW - timedelta(minutes=1), ZoneInfo("UTC")) is None
    assert quiet_until(lunch, NOW + timedelta(hours=2), ZoneInfo("UTC")) is None


def test_rules_survive_their_stored_form() -> None:
    rules = PressureRules((Cap(2, Period.WEEK, SMS, "promo"),), timedelta(hours=1), NIGHT)
    assert PressureRules.from_stored(rules.stored()) == rules
    assert rules.lookback == timedelta(days=7)


def test_bad_values_name_their_field() -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_clock("24:00", "rules.quiet_hours.end")
    assert raised.value.field == "rules.quiet_hours.end"
    with pytest.raises(InvalidArgument):
        check_grace(timedelta(days=8))
