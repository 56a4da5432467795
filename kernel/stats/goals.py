"""Conversion goals: the event that counts as a conversion, and how long after a message it counts.

Campaigns and automations declare one (``conversion_event``, ``conversion_window``), checked when saved;
their statistics count conversions against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from google.protobuf import duration_pb2

from herald.v1 import campaigns_pb2
from kernel.errors import InvalidArgument
from kernel.profiles.events import MAX_NAME_LENGTH
from kernel.text import check_no_control_characters

SHORTEST_WINDOW = timedelta(seconds=1)
LONGEST_WINDOW = timedelta(days=30)


class Declares(Protocol):
    """A message with a goal's two fields (Campaign, Automation)."""

    conversion_event: str
    conversion_window: duration_pb2.Duration

    def HasField(self, field_name: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Goal:
    event: str
    window: timedelta


def check_goal(message: Declares, prefix: str = "") -> None:
    """INVALID_ARGUMENT naming the field (under ``prefix``) for a goal that cannot count; none is fine."""
    event_field, window_field = f"{prefix}conversion_event", f"{prefix}conversion_window"
    if not message.conversion_event:
        if message.HasField("conversion_window"):
            raise InvalidArgument("name the conversion event the window is for", event_field)
        return
    if len(message.conversion_event) > MAX_NAME_LENGTH:
        raise InvalidArgument(f"at most {MAX_NAME_LENGTH} characters", event_field)
    check_no_control_characters(message.conversion_event, event_field)
    if not SHORTEST_WINDOW <= message.conversion_window.ToTimedelta() <= LONGEST_WINDOW:
        raise InvalidArgument("1 second to 30 days", window_field)


def goal_of(message: Declares) -> Goal | None:
    """The goal ``message`` declares, if it does (checked when it was saved)."""
    if not message.conversion_event:
        return None
    return Goal(message.conversion_event, message.conversion_window.ToTimedelta())


def campaign_goal(campaign: campaigns_pb2.Campaign) -> Goal | None:
    """The campaign's own goal, else its A/B test's when the test is decided on conversions."""
    test = campaign.ab_test
    if campaign.conversion_event or test.metric != campaigns_pb2.WINNER_METRIC_CONVERSION_RATE:
        return goal_of(campaign)
    return goal_of(test)
