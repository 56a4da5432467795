"""A campaign's schedule (CampaignSchedule) checked, and turned into the timers of its occurrences.

Only what is due next is stored as timers: a campaign sent now or at one instant has one occurrence; a
local-time one has one timer per group of zones (:mod:`kernel.engage.campaigns.local_time`); a recurring
one has its next occurrence, and running it plans the one after (:meth:`Plan.after`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from herald.v1 import campaigns_pb2 as pb
from kernel.engage.campaigns.local_time import release_groups
from kernel.errors import InvalidArgument
from kernel.projects import check_timezone
from kernel.scheduler import Recurrence, RecurrenceError

#: The key of the only occurrence of a campaign sent now or at one instant.
ONCE = "once"
_CRON_DAYS = {number: str(number % 7) for number in range(1, 8)}  # DayOfWeek 1 (Monday) .. 7 (Sunday)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """A timer to store: the occurrence's key, when it is due, and what its run needs beside."""

    key: str
    due_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Plan:
    """The occurrences of one schedule, for a project whose zone is known."""

    first: tuple[Occurrence, ...]
    recurrence: Recurrence | None = None

    def after(self, due_at: datetime) -> Occurrence | None:
        """The occurrence following the one due at ``due_at``: only a recurring schedule has one."""
        if self.recurrence is None:
            return None
        following = self.recurrence.next_after(due_at)
        return None if following is None else recurring_occurrence(following)


def plan(schedule: pb.CampaignSchedule, project_zone: str, now: datetime, field: str) -> Plan:
    """The schedule's plan, from ``now``; INVALID_ARGUMENT naming the field for a bad schedule."""
    which = schedule.WhichOneof("when")
    if which is None:
        raise InvalidArgument("set now, at, at_local, recipient_local or recurring", field)
    if which == "now":
        return Plan((Occurrence(ONCE, now),))
    if which == "at":
        try:
            return Plan((Occurrence(ONCE, schedule.at.ToDatetime(tzinfo=UTC)),))
        except ValueError:
            raise InvalidArgument("not a valid Timestamp", f"{field}.at") from None
    if which == "at_local":
        local = local_date_time(schedule.at_local, f"{field}.at_local")
        return Plan((Occurrence(ONCE, local.replace(tzinfo=ZoneInfo(project_zone)).astimezone(UTC)),))
    if which == "recipient_local":
        local = local_date_time(schedule.recipient_local, f"{field}.recipient_local")
        return Plan(tuple(_zone_release(local, project_zone)))
    recurrence = recurrence_of(schedule.recurring, project_zone, f"{field}.recurring")
    following = recurrence.next_after(now)
    return Plan(() if following is None else (recurring_occurrence(following),), recurrence)


#: A recurring occurrence's payload names its instant: what it was planned for, and what the next one is
#: planned after, even if its timer ran at another time (late, after every kernel was down).
OCCURS_AT = "occurs_at"


def recurring_occurrence(due_at: datetime) -> Occurrence:
    instant = due_at.astimezone(UTC)
    return Occurrence(instant.strftime("%Y-%m-%dT%H:%M:%SZ"), due_at, {OCCURS_AT: instant.isoformat()})


def occurs_at(payload: Mapping[str, Any], due_at: datetime) -> datetime:
    """The occurrence's instant: its payload's for a recurring one, else its timer's ``due_at``."""
    instant = payload.get(OCCURS_AT)
    return due_at if instant is None else datetime.fromisoformat(instant)


def recurrence_of(rule: pb.Recurrence, project_zone: str, field: str) -> Recurrence:
    zone = check_timezone(rule.timezone, f"{field}.timezone") if rule.timezone else project_zone
    start = _date(rule.start_date, f"{field}.start_date") if rule.HasField("start_date") else None
    end = _date(rule.end_date, f"{field}.end_date") if rule.HasField("end_date") else None
    if start is not None and end is not None and end < start:
        raise InvalidArgument("must not be before start_date", f"{field}.end_date")
    recurrence = Recurrence(zone, _cron(rule, field), start, end)
    try:
        recurrence.check()
    except RecurrenceError as error:
        raise InvalidArgument(f"not a cron expression: {error}", f"{field}.cron") from None
    return recurrence


def local_date_time(value: pb.LocalDateTime, field: str) -> datetime:
    """A naive datetime: its zone is decided by the caller."""
    if not value.HasField("date"):
        raise InvalidArgument("set the date", f"{field}.date")
    return datetime.combine(_date(value.date, f"{field}.date"), _time(value.time, f"{field}.time"))


def _cron(rule: pb.Recurrence, field: str) -> str:
    which = rule.WhichOneof("rule")
    if which == "cron":
        return rule.cron
    if which == "daily":
        at = _time(rule.daily.time, f"{field}.daily.time")
        return f"{at.minute} {at.hour} * * *"
    if which == "weekly":
        days = rule.weekly.days
        if not days:
            raise InvalidArgument("name at least one day", f"{field}.weekly.days")
        for index, day in enumerate(days):
            if day not in _CRON_DAYS:
                raise InvalidArgument("not a day of the week", f"{field}.weekly.days[{index}]")
            if day in days[:index]:
                raise InvalidArgument("listed twice", f"{field}.weekly.days[{index}]")
        at = _time(rule.weekly.time, f"{field}.weekly.time")
        return f"{at.minute} {at.hour} * * {','.join(_CRON_DAYS[day] for day in days)}"
    if which == "monthly":
        if not 1 <= rule.monthly.day_of_month <= 31:
            raise InvalidArgument("1 to 31", f"{field}.monthly.day_of_month")
        at = _time(rule.monthly.time, f"{field}.monthly.time")
        return f"{at.minute} {at.hour} {rule.monthly.day_of_month} * *"
    raise InvalidArgument("set daily, weekly, monthly or cron", field)


def _zone_release(local: datetime, project_zone: str) -> list[Occurrence]:
    prefix = local.strftime("%Y-%m-%dT%H:%M")
    return [
        Occurrence(
            f"{prefix}@{group.release_at.strftime('%Y-%m-%dT%H:%M:%SZ')}",
            group.release_at,
            {"time_zones": list(group.zones), "without_time_zone": group.without_time_zone},
        )
        for group in release_groups(local.date(), local.time(), project_zone)
    ]


def _date(value: pb.LocalDate, field: str) -> date:
    try:
        return date(value.year, value.month, value.day)
    except ValueError as error:
        raise InvalidArgument(f"not a date: {error}", field) from None


def _time(value: pb.LocalTime, field: str) -> time:
    try:
        return time(value.hours, value.minutes)
    except ValueError as error:
        raise InvalidArgument(f"not a time of day: {error}", field) from None
