"""The triggers that follow profiles rather than events: an attribute change, entering or leaving a saved
segment, a date attribute. Parsed and checked from herald.v1.AutomationTrigger (errors name the field
under ``trigger``); the event trigger stays with the graph (:mod:`kernel.engage.automations.graph`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from herald.v1 import automations_pb2 as pb
from kernel.engage.segments.parse import parse_segment_id
from kernel.errors import InvalidArgument
from kernel.profiles.attributes import AttributeLimits, StoredValue, check_key, to_stored

MAX_OFFSET_DAYS = 366


class Change(StrEnum):
    ANY = "any"
    SET = "set"
    UNSET = "unset"


_CHANGES = {
    pb.ATTRIBUTE_CHANGE_UNSPECIFIED: Change.ANY,
    pb.ATTRIBUTE_CHANGE_SET: Change.SET,
    pb.ATTRIBUTE_CHANGE_UNSET: Change.UNSET,
}


@dataclass(frozen=True, slots=True)
class AttributeChange:
    key: str
    change: Change
    #: Stored form without "at"; None: any value.
    to_value: StoredValue | None
    from_value: StoredValue | None

    def matches(self, before: StoredValue | None, after: StoredValue | None) -> bool:
        """``before`` and ``after``: the attribute's stored values (None: absent), "at" left out."""
        if before == after:
            return False
        if self.change is Change.SET and before is not None:
            return False
        if self.change is Change.UNSET and after is not None:
            return False
        if self.to_value is not None and after != self.to_value:
            return False
        return self.from_value is None or before == self.from_value


@dataclass(frozen=True, slots=True)
class SegmentTransition:
    segment_id: str
    #: True: entering the segment enters the automation; False: leaving it does.
    entered: bool


@dataclass(frozen=True, slots=True)
class DateAttribute:
    key: str
    offset_days: int
    every_year: bool
    hour: int
    minute: int


ProfileTrigger = AttributeChange | SegmentTransition | DateAttribute


def parse_profile_trigger(trigger: pb.AutomationTrigger, limits: AttributeLimits) -> ProfileTrigger:
    """Any kind but ``event``; INVALID_ARGUMENT naming the field under ``trigger``."""
    kind = trigger.WhichOneof("kind")
    if kind == "attribute_changed":
        return _attribute_change(trigger.attribute_changed, limits, "trigger.attribute_changed")
    if kind in ("segment_entered", "segment_left"):
        message: pb.SegmentTrigger = getattr(trigger, kind)
        segment_id = parse_segment_id(message.segment_id, f"trigger.{kind}.segment_id")
        return SegmentTransition(segment_id, entered=kind == "segment_entered")
    if kind == "date_attribute":
        return _date_attribute(trigger.date_attribute, limits, "trigger.date_attribute")
    raise InvalidArgument(
        "set event, attribute_changed, segment_entered, segment_left or date_attribute", "trigger"
    )


def _attribute_change(
    message: pb.AttributeChangeTrigger, limits: AttributeLimits, field: str
) -> AttributeChange:
    check_key(message.key, limits, f"{field}.key")
    change = _CHANGES.get(message.change)
    if change is None:
        raise InvalidArgument("not an attribute change", f"{field}.change")
    to_value = (
        to_stored(message.to_value, limits, f"{field}.to_value") if message.HasField("to_value") else None
    )
    from_value = (
        to_stored(message.from_value, limits, f"{field}.from_value")
        if message.HasField("from_value")
        else None
    )
    if change is Change.UNSET and to_value is not None:
        raise InvalidArgument("an attribute removed has no new value", f"{field}.to_value")
    if change is Change.SET and from_value is not None:
        raise InvalidArgument("an attribute set for the first time had no value", f"{field}.from_value")
    if to_value is not None and to_value == from_value:
        raise InvalidArgument("the same as from_value: no change would match", f"{field}.to_value")
    return AttributeChange(message.key, change, to_value, from_value)


def _date_attribute(message: pb.DateAttributeTrigger, limits: AttributeLimits, field: str) -> DateAttribute:
    check_key(message.key, limits, f"{field}.key")
    if not -MAX_OFFSET_DAYS <= message.offset_days <= MAX_OFFSET_DAYS:
        raise InvalidArgument(f"-{MAX_OFFSET_DAYS} to {MAX_OFFSET_DAYS} days", f"{field}.offset_days")
    if not 0 <= message.hour <= 23:
        raise InvalidArgument("0 to 23", f"{field}.hour")
    if not 0 <= message.minute <= 59:
        raise InvalidArgument("0 to 59", f"{field}.minute")
    return DateAttribute(message.key, message.offset_days, message.every_year, message.hour, message.minute)
