"""Recurring schedules: a cron expression read in an IANA zone's wall time, between two local dates.

The zone and the wall-clock rule are what is stored; instants are computed from them each time (in UTC),
so a DST change moves the UTC instant, never the local time. cronsim evaluates the expression: at a
fall-back it fires once for a wall time that happens twice (the first), and at a spring-forward it fires
at the end of the gap for a wall time that does not exist (croniter, the other common choice, fires twice
at a fall-back).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

#: How far cronsim may search for a next instant (an expression like "0 0 30 2 *" never fires).
_SEARCH_YEARS = 5


class RecurrenceError(ValueError):
    """The expression does not parse as a five-field cron expression."""


@dataclass(frozen=True, slots=True)
class Recurrence:
    #: IANA zone name whose wall clock the expression reads.
    zone: str
    #: Five fields: minute hour day-of-month month day-of-week.
    cron: str
    #: First local day on which it may fire; None: no lower bound.
    start: date | None = None
    #: Last local day on which it may fire (inclusive); None: forever.
    end: date | None = None

    def check(self) -> None:
        """Raise RecurrenceError for an expression cronsim refuses."""
        if len(self.cron.split()) != 5:
            raise RecurrenceError("five fields: minute hour day-of-month month day-of-week")
        try:
            CronSim(self.cron, datetime(2000, 1, 1, tzinfo=UTC))
        except CronSimError as error:
            raise RecurrenceError(str(error)) from None

    def next_after(self, instant: datetime) -> datetime | None:
        """The first firing strictly after ``instant`` (aware) within the dates, in UTC; None if none."""
        zone = ZoneInfo(self.zone)
        local = instant.astimezone(zone)
        if self.start is not None:
            before_start = datetime.combine(self.start, time(), zone) - timedelta(seconds=1)
            local = max(local, before_start)
        try:
            fired = next(CronSim(self.cron, local))
        except (StopIteration, CronSimError):
            return None
        if fired.year > local.year + _SEARCH_YEARS:
            return None
        if self.end is not None and fired.date() > self.end:
            return None
        return fired.astimezone(UTC)
