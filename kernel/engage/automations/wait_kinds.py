"""The wait steps that end on something other than a span of time: a wall-clock time of day in the
recipient's zone (``wait_until``), and an event of the profile or a timeout (``wait_for_event``), parsed
from herald.v1.Step with errors naming the field under the step."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import time

from herald.v1 import automations_pb2 as pb
from herald.v1 import campaigns_pb2, segments_pb2
from kernel.engage.pressure.rules import parse_clock
from kernel.engage.segments import Vocabulary, parse_condition
from kernel.engage.segments.conditions import AttributeTest, EventTest
from kernel.errors import InvalidArgument
from kernel.profiles.attributes import AttributeLimits


@dataclass(frozen=True, slots=True)
class WaitUntil:
    at: time
    #: ISO weekdays (1 Monday .. 7 Sunday) it may end on; empty: any day.
    weekdays: frozenset[int]
    next: str


@dataclass(frozen=True, slots=True)
class WaitForEvent:
    event: str
    #: Tests on the awaited event's properties, all of which must hold.
    properties: tuple[AttributeTest, ...]
    timeout_seconds: float
    #: The step after the event.
    next: str
    #: The step after the timeout.
    timeout_next: str


def awaited_events(steps: Iterable[object]) -> list[str]:
    """The names that the wait_for_event steps among ``steps`` await, sorted, without repeats."""
    return sorted({step.event for step in steps if isinstance(step, WaitForEvent)})


def parse_wait_until(step: pb.WaitUntilStep, next_step: str, field: str) -> WaitUntil:
    if not step.time_of_day:
        raise InvalidArgument("required", f"{field}.time_of_day")
    at = parse_clock(step.time_of_day, f"{field}.time_of_day")
    weekdays: set[int] = set()
    for index, day in enumerate(step.weekdays):
        day_field = f"{field}.weekdays[{index}]"
        if day not in campaigns_pb2.DayOfWeek.values() or day == campaigns_pb2.DAY_OF_WEEK_UNSPECIFIED:
            raise InvalidArgument("a day of the week, MONDAY to SUNDAY", day_field)
        if day in weekdays:
            raise InvalidArgument("listed twice", day_field)
        weekdays.add(day)
    return WaitUntil(at, frozenset(weekdays), next_step)


def parse_wait_for_event(
    step: pb.WaitForEventStep,
    next_step: str,
    field: str,
    vocabulary: Vocabulary,
    limits: AttributeLimits,
    max_seconds: float,
) -> WaitForEvent:
    """The awaited event is parsed as the event trigger is (a segment's event condition)."""
    condition = segments_pb2.Condition(
        event=segments_pb2.EventCondition(name=step.name, properties=step.properties)
    )
    try:
        parsed = parse_condition(condition, field, vocabulary, limits)
    except InvalidArgument as error:
        raise _renamed(error, field) from None
    assert isinstance(parsed, EventTest)
    if not step.HasField("timeout"):
        raise InvalidArgument("required", f"{field}.timeout")
    seconds = step.timeout.seconds + step.timeout.nanos / 1e9
    if not 1 <= seconds <= max_seconds:
        raise InvalidArgument(f"1 second to {max_seconds / 86_400:.0f} days", f"{field}.timeout")
    if not step.timeout_next:
        raise InvalidArgument(
            "name the step after the timeout: every branch must end at an end step", f"{field}.timeout_next"
        )
    return WaitForEvent(parsed.name, parsed.properties, seconds, next_step, step.timeout_next)


def _renamed(error: InvalidArgument, field: str) -> InvalidArgument:
    """An event condition's error names ``<field>.event.name``; the step's field is ``<field>.name``."""
    return InvalidArgument(error.reason, error.field.replace(f"{field}.event.", f"{field}.", 1))
