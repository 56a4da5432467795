"""When a ``wait_until`` step ends: the next wall-clock time of day, on the allowed weekdays, in a zone.

The wall time is what the step means ("at 9:00 on a weekday"), so the UTC instant follows each DST change.
A wall time that a spring-forward skips is read with the offset before the change, which moves it forward
by the change (02:30 on the night the clocks go from 02:00 to 03:00 falls at 03:30 new time); one that a
fall-back repeats is the first of the two. Local-time campaigns and quiet hours read wall times the same
way (``fold=0``), so a profile's "9:00" is one instant across the engagement features.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: Today, then the next seven days: the same weekday a week on is the furthest an allowed day can be.
_DAYS_AHEAD = 8


def next_wall_time(after: datetime, zone: ZoneInfo, at: time, weekdays: Collection[int]) -> datetime:
    """The first instant (UTC) strictly after ``after`` (aware) at which it is ``at`` in ``zone`` on one
    of ``weekdays`` (ISO: 1 Monday .. 7 Sunday; empty: any day)."""
    today = after.astimezone(zone).date()
    for ahead in range(_DAYS_AHEAD):
        day = today + timedelta(days=ahead)
        if weekdays and day.isoweekday() not in weekdays:
            continue
        instant = datetime.combine(day, at, zone).astimezone(UTC)
        if instant > after:
            return instant
    raise AssertionError("a week holds every weekday")
