"""When quiet hours end for a recipient: wall-clock times in its zone, whatever the day's length.

A wall time that a spring-forward skips is read with the offset before the change (an end at 02:30 on
the night the clocks go from 02:00 to 03:00 falls at 03:30 new time), as local-time campaigns read it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from kernel.engage.pressure.rules import QuietHours


@lru_cache(maxsize=4096)  # a batch is judged at one instant: once per zone and rules
def quiet_until(quiet: QuietHours, at: datetime, zone: ZoneInfo) -> datetime | None:
    """The instant (UTC) at which the quiet hours holding ``at`` end in ``zone``; None outside them."""
    local = at.astimezone(zone)
    now = local.time().replace(tzinfo=None)
    if quiet.start < quiet.end:
        if not quiet.start <= now < quiet.end:
            return None
        day = local.date()
    elif now >= quiet.start:
        day = local.date() + timedelta(days=1)
    elif now < quiet.end:
        day = local.date()
    else:
        return None
    return datetime.combine(day, quiet.end, zone).astimezone(UTC)
