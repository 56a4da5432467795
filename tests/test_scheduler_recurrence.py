"""Recurring schedules and local-time release at the domain level: fixed dates, DST changes included."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from herald.v1 import campaigns_pb2 as pb
from kernel.engage.campaigns.local_time import release_groups
from kernel.engage.campaigns.schedule import ONCE, plan
from kernel.errors import InvalidArgument
from kernel.scheduler import Recurrence

NEW_YORK = ZoneInfo("America/New_York")


def firings(recurrence: Recurrence, start: datetime, count: int) -> list[datetime]:
    found, after = [], start
    for _ in range(count):
        following = recurrence.next_after(after)
        if following is None:
            break
        found.append(following)
        after = following
    return found


def local(instants: list[datetime], zone: ZoneInfo = NEW_YORK) -> list[str]:
    return [instant.astimezone(zone).strftime("%m-%d %H:%M %Z") for instant in instants]


def test_cron_at_the_spring_forward_fires_at_the_end_of_the_gap_once() -> None:
    # 2026-03-08: New York's clocks go from 02:00 EST to 03:00 EDT; 02:30 does not exist that night.
    rule = Recurrence("America/New_York", "30 1,2 * * *")
    fired = firings(rule, datetime(2026, 3, 7, 12, tzinfo=UTC), 5)
    assert local(fired) == [
        "03-08 01:30 EST",
        "03-08 03:00 EDT",
        "03-09 01:30 EDT",
        "03-09 02:30 EDT",
        "03-10 01:30 EDT",
    ]


def test_cron_at_the_fall_back_fires_once_for_a_wall_time_that_happens_twice() -> None:
    # 2026-11-01: 01:00-02:00 happens twice in New York (EDT, then EST).
    rule = Recurrence("America/New_York", "30 1 * * *")
    fired = firings(rule, datetime(2026, 10, 31, 12, tzinfo=UTC), 3)
    assert local(fired) == ["11-01 01:30 EDT", "11-02 01:30 EST", "11-03 01:30 EST"]
    assert [instant.hour for instant in fired] == [5, 6, 6]


def test_a_daily_wall_time_keeps_its_local_hour_across_dst_and_its_utc_hour_moves() -> None:
    rule = Recurrence("America/New_York", "0 9 * * *")
    fired = firings(rule, datetime(2026, 3, 7, 0, tzinfo=UTC), 2)
    assert local(fired) == ["03-07 09:00 EST", "03-08 09:00 EDT"]
    assert [instant.hour for instant in fired] == [14, 13]


def test_start_and_end_dates_bound_the_firings_in_local_days() -> None:
    rule = Recurrence("America/New_York", "0 23 * * *", start=date(2026, 5, 10), end=date(2026, 5, 12))
    fired = firings(rule, datetime(2026, 1, 1, tzinfo=UTC), 10)
    # 23:00 in New York is the next day in UTC: the local days are what count.
    assert local(fired) == ["05-10 23:00 EDT", "05-11 23:00 EDT", "05-12 23:00 EDT"]


def schedule_of(**recurring: object) -> pb.CampaignSchedule:
    return pb.CampaignSchedule(recurring=pb.Recurrence(**recurring))


NINE = pb.LocalTime(hours=9)
MONDAY_EVENING = datetime(2026, 12, 7, 20, tzinfo=UTC)  # a Monday, 15:00 in New York


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"daily": pb.DailyRule(time=NINE)}, ["12-08 09:00 EST", "12-09 09:00 EST"]),
        (
            {"weekly": pb.WeeklyRule(days=[pb.DAY_OF_WEEK_MONDAY, pb.DAY_OF_WEEK_SUNDAY], time=NINE)},
            ["12-13 09:00 EST", "12-14 09:00 EST"],
        ),
        ({"monthly": pb.MonthlyRule(day_of_month=31, time=NINE)}, ["12-31 09:00 EST", "01-31 09:00 EST"]),
        ({"cron": "15 8 * * 1-5"}, ["12-08 08:15 EST", "12-09 08:15 EST"]),
    ],
    ids=["daily", "weekly", "monthly", "cron"],
)
def test_each_rule_gives_its_next_occurrences(rule: dict[str, object], expected: list[str]) -> None:
    planned = plan(schedule_of(timezone="America/New_York", **rule), "UTC", MONDAY_EVENING, "schedule")
    (first,) = planned.first
    second = planned.after(first.due_at)
    assert second is not None
    assert local([first.due_at, second.due_at]) == expected
    assert first.key == first.due_at.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_recurrence_without_a_zone_reads_the_projects() -> None:
    planned = plan(schedule_of(daily=pb.DailyRule(time=NINE)), "Europe/Paris", MONDAY_EVENING, "schedule")
    assert planned.first[0].due_at == datetime(2026, 12, 8, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "field"),
    [
        (pb.CampaignSchedule(), "schedule"),
        (schedule_of(cron="61 * * * *"), "schedule.recurring.cron"),
        (schedule_of(cron="* * *"), "schedule.recurring.cron"),
        (schedule_of(timezone="Mars/Olympus", cron="0 9 * * *"), "schedule.recurring.timezone"),
        (schedule_of(daily=pb.DailyRule(time=pb.LocalTime(hours=24))), "schedule.recurring.daily.time"),
        (schedule_of(weekly=pb.WeeklyRule(time=NINE)), "schedule.recurring.weekly.days"),
        (
            schedule_of(weekly=pb.WeeklyRule(days=[1, 1], time=NINE)),
            "schedule.recurring.weekly.days[1]",
        ),
        (schedule_of(monthly=pb.MonthlyRule(day_of_month=32)), "schedule.recurring.monthly.day_of_month"),
        (
            schedule_of(
                cron="0 9 * * *",
                start_date=pb.LocalDate(year=2026, month=5, day=2),
                end_date=pb.LocalDate(year=2026, month=5, day=1),
            ),
            "schedule.recurring.end_date",
        ),
        (
            pb.CampaignSchedule(
                at_local=pb.LocalDateTime(date=pb.LocalDate(year=2026, month=2, day=30), time=NINE)
            ),
            "schedule.at_local.date",
        ),
        (pb.CampaignSchedule(recipient_local=pb.LocalDateTime(time=NINE)), "schedule.recipient_local.date"),
    ],
)
def test_a_bad_schedule_names_its_field(schedule: pb.CampaignSchedule, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        plan(schedule, "UTC", MONDAY_EVENING, "schedule")
    assert caught.value.field == field


def test_a_time_in_the_projects_zone_is_one_occurrence_at_its_utc_instant() -> None:
    at = pb.LocalDateTime(date=pb.LocalDate(year=2026, month=7, day=14), time=NINE)
    planned = plan(pb.CampaignSchedule(at_local=at), "Europe/Paris", MONDAY_EVENING, "schedule")
    assert [(o.key, o.due_at) for o in planned.first] == [(ONCE, datetime(2026, 7, 14, 7, tzinfo=UTC))]
    assert planned.after(planned.first[0].due_at) is None


def group_of(groups: list, zone: str):  # type: ignore[no-untyped-def]
    (found,) = [group for group in groups if zone in group.zones]
    return found


def test_local_time_groups_every_zone_by_the_instant_of_its_wall_time() -> None:
    groups = release_groups(date(2026, 12, 24), time(9), "Europe/Paris")
    paris, london, new_york = (
        group_of(groups, z) for z in ("Europe/Paris", "Europe/London", "America/New_York")
    )
    assert paris.release_at == datetime(2026, 12, 24, 8, tzinfo=UTC)
    assert london.release_at == datetime(2026, 12, 24, 9, tzinfo=UTC)
    assert new_york.release_at == datetime(2026, 12, 24, 14, tzinfo=UTC)
    # Zones at the same offset share one release; Berlin is Paris's.
    assert "Europe/Berlin" in paris.zones and "America/Toronto" in new_york.zones
    # The project's zone's group also takes the profiles without a valid zone; only that one.
    assert [group.without_time_zone for group in groups].count(True) == 1 and paris.without_time_zone
    # A few dozen groups, each zone in exactly one, in release order.
    assert 20 < len(groups) < 60
    names = [zone for group in groups for zone in group.zones]
    assert len(names) == len(set(names))
    assert [g.release_at for g in groups] == sorted(g.release_at for g in groups)
    # India is half an hour off the hour: a group of its own instant.
    assert group_of(groups, "Asia/Kolkata").release_at == datetime(2026, 12, 24, 3, 30, tzinfo=UTC)


def test_local_time_on_a_dst_day_follows_each_zones_offset_that_day() -> None:
    # 2026-03-08: New York has moved to EDT (UTC-4) by 09:00; Paris has not (still UTC+1).
    groups = release_groups(date(2026, 3, 8), time(9), "America/New_York")
    assert group_of(groups, "America/New_York").release_at == datetime(2026, 3, 8, 13, tzinfo=UTC)
    assert group_of(groups, "America/Phoenix").release_at == datetime(2026, 3, 8, 16, tzinfo=UTC)
    assert group_of(groups, "Europe/Paris").release_at == datetime(2026, 3, 8, 8, tzinfo=UTC)
    # The day before, New York was still on EST: the same wall time, an hour later in UTC.
    before = release_groups(date(2026, 3, 7), time(9), "America/New_York")
    assert group_of(before, "America/New_York").release_at == datetime(2026, 3, 7, 14, tzinfo=UTC)
    # Where the wall time does not exist (New York at 02:30 that night), it falls just after the gap.
    gap = release_groups(date(2026, 3, 8), time(2, 30), "UTC")
    assert (
        group_of(gap, "America/New_York").release_at.astimezone(NEW_YORK).strftime("%H:%M %Z") == "03:30 EDT"
    )
