"""Local-time release: "at 09:00 in each recipient's time zone" as a few dozen UTC instants.

No profile is read to find the zones in use: every IANA zone is placed by the UTC instant at which the
wall time falls in it on that date, and zones sharing an instant form one group, released together by one
send restricted to them. The project's zone's group also takes the profiles without a valid zone.

A wall time that a spring-forward skips in a zone is read with the offset before the change (02:30 on
the night the clocks go from 02:00 to 03:00 falls at 03:30 new time); one that a fall-back repeats is the
first of the two.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cache


@dataclass(frozen=True, slots=True)
class ReleaseGroup:
    """The zones whose wall time falls at ``release_at`` (UTC)."""

    release_at: datetime
    zones: tuple[str, ...]
    #: The project's zone is one of ``zones``: profiles without a valid zone are released with them.
    without_time_zone: bool


@cache
def known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def release_groups(day: date, at: time, project_zone: str) -> list[ReleaseGroup]:
    """Every IANA zone, grouped by the UTC instant of ``day`` ``at`` in it, earliest first."""
    by_instant: defaultdict[datetime, list[str]] = defaultdict(list)
    for name in known_zones():
        local = datetime.combine(day, at, zoneinfo.ZoneInfo(name))
        by_instant[local.astimezone(UTC)].append(name)
    return [
        ReleaseGroup(instant, tuple(sorted(zones)), project_zone in zones)
        for instant, zones in sorted(by_instant.items())
    ]


def other_zones(group_zones: tuple[str, ...]) -> tuple[str, ...]:
    """Every known zone but the group's: what the project zone's group leaves out (it takes the rest)."""
    return tuple(sorted(known_zones().difference(group_zones)))
