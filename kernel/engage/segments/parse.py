"""Conditions from the API's protobuf, checked node by node: bad input is INVALID_ARGUMENT naming the node's
path from the request (``segment.condition.all.conditions[2].event.within_last``)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from herald.v1 import common_pb2
from herald.v1 import segments_pb2 as pb
from kernel.delivery.send_definition import check_domains
from kernel.engage.segments.conditions import (
    RANGE_BOUNDS,
    AllOf,
    AnyOf,
    AttributeTest,
    Condition,
    EmailDomain,
    EventTest,
    Negation,
    Reachable,
    SegmentRef,
    Subscribed,
)
from kernel.errors import InvalidArgument
from kernel.plugins import ChannelManager
from kernel.profiles.attributes import KEY_PATTERN, AttributeLimits, format_datetime, to_stored
from kernel.profiles.events import NAME_PATTERN
from kernel.profiles.subscriptions import TOPIC_PATTERN

MAX_NODES = 200
MAX_DEPTH = 16
MAX_LIST_ITEMS = 1000
MAX_EVENT_COUNT = 1_000_000
MAX_OFFSET_DAYS = 3660
_PURPOSES = {common_pb2.PURPOSE_MARKETING: "marketing", common_pb2.PURPOSE_TRANSACTIONAL: "transactional"}


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """What the loaded channels declare: the address kinds and consent scopes a condition may name."""

    kinds: Collection[str]
    scopes: Collection[str]

    @classmethod
    def of(cls, manager: ChannelManager) -> Vocabulary:
        channels = manager.channels()
        return cls(
            frozenset(manager.address_kind(spec).name for spec in channels),
            frozenset(spec.consent_scope for spec in channels),
        )


def parse_segment_id(text: str, field: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise InvalidArgument("must be a segment id (a UUID)", field) from None


def parse_condition(
    message: pb.Condition, field: str, vocabulary: Vocabulary, limits: AttributeLimits
) -> Condition:
    parser = _Parser(vocabulary, limits)
    return parser.node(message, field, 1)


class _Parser:
    def __init__(self, vocabulary: Vocabulary, limits: AttributeLimits) -> None:
        self.vocabulary = vocabulary
        self.limits = limits
        self.nodes = 0

    def node(self, message: pb.Condition, field: str, depth: int) -> Condition:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise InvalidArgument(f"a condition has at most {MAX_NODES} nodes", field)
        if depth > MAX_DEPTH:
            raise InvalidArgument(f"a condition is at most {MAX_DEPTH} levels deep", field)
        kind = message.WhichOneof("node")
        if kind is None:
            raise InvalidArgument("set one condition (all, any, not, attribute, event, ...)", field)
        path = f"{field}.{kind}"
        if kind in ("all", "any"):
            children = getattr(message, kind).conditions
            _check_count(len(children), f"{path}.conditions")
            parsed = tuple(
                self.node(child, f"{path}.conditions[{index}]", depth + 1)
                for index, child in enumerate(children)
            )
            return AllOf(parsed) if kind == "all" else AnyOf(parsed)
        if kind == "not":
            return Negation(self.node(getattr(message, "not"), path, depth + 1))
        if kind == "attribute":
            return self.attribute(message.attribute, path, profile=True)
        if kind == "event":
            return self.event(message.event, path)
        if kind == "reachable":
            return Reachable(
                _known(message.reachable.address_kind, self.vocabulary.kinds, f"{path}.address_kind")
            )
        if kind == "subscribed":
            return self.subscribed(message.subscribed, path)
        if kind == "email_domain":
            domains = message.email_domain.domains
            _check_count(len(domains), f"{path}.domains")
            return EmailDomain(check_domains(domains, f"{path}.domains"))
        return SegmentRef(parse_segment_id(message.segment.segment_id, f"{path}.segment_id"))

    def attribute(self, message: pb.AttributeCondition, field: str, *, profile: bool) -> AttributeTest:
        key = message.key
        if not KEY_PATTERN.fullmatch(key) or len(key) > self.limits.max_key_length:
            raise InvalidArgument(
                f"a letter then letters, digits or '_', at most {self.limits.max_key_length} characters",
                f"{field}.key",
            )
        op = message.WhichOneof("test")
        path = f"{field}.{op}"
        if op is None:
            raise InvalidArgument("set one test (equals, in_strings, range, exists, ...)", field)
        if op == "equals":
            return AttributeTest(key, op, to_stored(message.equals, self.limits, path))
        if op == "in_strings":
            values = list(message.in_strings.values)
            _check_count(len(values), f"{path}.values")
            for index, value in enumerate(values):
                to_stored(
                    common_pb2.AttributeValue(string_value=value), self.limits, f"{path}.values[{index}]"
                )
            return AttributeTest(key, "in", values)
        if op == "range":
            return AttributeTest(key, op, _range(message.range, path))
        if op == "exists":
            return AttributeTest(key, op, message.exists)
        if op in ("contains", "starts_with"):
            text = getattr(message, op)
            if not text:
                raise InvalidArgument("must not be empty", path)
            to_stored(common_pb2.AttributeValue(string_value=text), self.limits, path)
            return AttributeTest(key, op, text)
        if op in ("within_last", "more_than_ago"):
            return AttributeTest(key, op, _span(getattr(message, op), path))
        if not profile:
            raise InvalidArgument("an event property has no recipient's day", path)
        offset = message.local_day.offset_days
        if abs(offset) > MAX_OFFSET_DAYS:
            raise InvalidArgument(f"from -{MAX_OFFSET_DAYS} to {MAX_OFFSET_DAYS} days", f"{path}.offset_days")
        return AttributeTest(key, op, {"offset_days": offset, "anniversary": message.local_day.anniversary})

    def event(self, message: pb.EventCondition, field: str) -> EventTest:
        if not NAME_PATTERN.fullmatch(message.name):
            raise InvalidArgument(
                "an event name: a letter then letters, digits, '_', '.' or '-'", f"{field}.name"
            )
        at_least = _count(message.at_least, f"{field}.at_least") if message.HasField("at_least") else None
        at_most = _count(message.at_most, f"{field}.at_most") if message.HasField("at_most") else None
        if at_least is not None and at_most is not None and at_most < at_least:
            raise InvalidArgument("must not be below at_least", f"{field}.at_most")
        window = message.WhichOneof("window")
        start = end = None
        if window == "between":
            start = _instant(message.between.start, f"{field}.between.start")
            end = _instant(message.between.end, f"{field}.between.end")
            if not message.between.HasField("start") or not message.between.HasField("end"):
                raise InvalidArgument("set start and end", f"{field}.between")
            if end <= start:
                raise InvalidArgument("must be after start", f"{field}.between.end")
        properties = message.properties
        _check_count(len(properties), f"{field}.properties", allow_empty=True)
        return EventTest(
            name=message.name,
            at_least=(1 if at_most is None else 0) if at_least is None else at_least,
            at_most=at_most,
            within_last=_span(message.within_last, f"{field}.within_last")
            if window == "within_last"
            else None,
            start=start,
            end=end,
            properties=tuple(
                self.attribute(prop, f"{field}.properties[{index}]", profile=False)
                for index, prop in enumerate(properties)
            ),
        )

    def subscribed(self, message: pb.SubscribedCondition, field: str) -> Subscribed:
        channel = _known(message.channel, self.vocabulary.scopes, f"{field}.channel")
        if message.purpose not in _PURPOSES:
            raise InvalidArgument("set marketing or transactional", f"{field}.purpose")
        if message.topic and not TOPIC_PATTERN.fullmatch(message.topic):
            raise InvalidArgument("a topic is 1 to 64 letters, digits, '_', '-' or '.'", f"{field}.topic")
        return Subscribed(channel, _PURPOSES[message.purpose], message.topic)


def _known(name: str, known: Collection[str], field: str) -> str:
    if name not in known:
        raise InvalidArgument(f"{name!r} is none of the loaded channels' ({', '.join(sorted(known))})", field)
    return name


def _check_count(count: int, field: str, *, allow_empty: bool = False) -> None:
    if count == 0 and not allow_empty:
        raise InvalidArgument("must not be empty", field)
    if count > MAX_LIST_ITEMS:
        raise InvalidArgument(f"at most {MAX_LIST_ITEMS} items", field)


def _count(value: int, field: str) -> int:
    if not 0 <= value <= MAX_EVENT_COUNT:
        raise InvalidArgument(f"from 0 to {MAX_EVENT_COUNT:,}", field)
    return value


def _span(duration: Duration, field: str) -> float:
    seconds = duration.seconds + duration.nanos / 1e9
    if seconds <= 0 or duration.nanos < 0 or seconds > 200 * 366 * 86400:
        raise InvalidArgument("a positive span of at most 200 years", field)
    return seconds


def _instant(timestamp: Timestamp, field: str) -> str:
    try:
        return format_datetime(timestamp.ToDatetime(tzinfo=UTC))
    except (ValueError, OverflowError, OSError):
        raise InvalidArgument("datetime out of range", field) from None


def _range(message: pb.Range, field: str) -> dict[str, object]:
    operand: dict[str, object] = {}
    kinds = set()
    for name in RANGE_BOUNDS:
        if not message.HasField(name):
            continue
        bound: pb.RangeBound = getattr(message, name)
        kind = bound.WhichOneof("value")
        if kind == "number":
            if not math.isfinite(bound.number):
                raise InvalidArgument("must be finite", f"{field}.{name}.number")
            operand[name] = bound.number
            kinds.add("n")
        elif kind == "datetime":
            operand[name] = _instant(bound.datetime, f"{field}.{name}.datetime")
            kinds.add("d")
        else:
            raise InvalidArgument("set number or datetime", f"{field}.{name}")
    if not kinds:
        raise InvalidArgument("set at least one bound (gt, gte, lt, lte)", field)
    if len(kinds) > 1:
        raise InvalidArgument("bounds all numbers or all datetimes", field)
    return {"t": kinds.pop(), **{name: operand.get(name) for name in RANGE_BOUNDS}}
