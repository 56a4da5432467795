"""Saved segments and their conditions as protobuf messages (the way back of
:mod:`kernel.engage.segments.parse`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from herald.v1 import common_pb2
from herald.v1 import segments_pb2 as pb
from kernel.api.timestamps import from_datetime
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
    Subscribed,
)
from kernel.engage.segments.store import SavedSegment
from kernel.profiles.attributes import to_message

_PURPOSES = {"marketing": common_pb2.PURPOSE_MARKETING, "transactional": common_pb2.PURPOSE_TRANSACTIONAL}


def segment_message(saved: SavedSegment) -> pb.Segment:
    return pb.Segment(
        segment_id=str(saved.segment_id),
        name=saved.name,
        description=saved.description,
        condition=condition_message(saved.condition),
        version=saved.version,
        created_at=from_datetime(saved.created_at),
        updated_at=from_datetime(saved.updated_at),
    )


def condition_message(node: Condition) -> pb.Condition:
    if isinstance(node, AllOf | AnyOf):
        children = pb.ConditionList(conditions=[condition_message(child) for child in node.conditions])
        return pb.Condition(**{"all" if isinstance(node, AllOf) else "any": children})
    if isinstance(node, Negation):
        return pb.Condition(**{"not": condition_message(node.condition)})
    if isinstance(node, AttributeTest):
        return pb.Condition(attribute=_attribute_message(node))
    if isinstance(node, EventTest):
        return pb.Condition(event=_event_message(node))
    if isinstance(node, Reachable):
        return pb.Condition(reachable=pb.ReachableCondition(address_kind=node.kind))
    if isinstance(node, Subscribed):
        return pb.Condition(
            subscribed=pb.SubscribedCondition(
                channel=node.channel, purpose=_PURPOSES[node.purpose], topic=node.topic
            )
        )
    if isinstance(node, EmailDomain):
        return pb.Condition(email_domain=pb.EmailDomainCondition(domains=node.domains))
    return pb.Condition(segment=pb.SegmentReference(segment_id=node.segment_id))


def _event_message(node: EventTest) -> pb.EventCondition:
    message = pb.EventCondition(
        name=node.name, properties=[_attribute_message(test) for test in node.properties]
    )
    if node.at_most is None or node.at_least:
        message.at_least = node.at_least
    if node.at_most is not None:
        message.at_most = node.at_most
    if node.within_last is not None:
        message.within_last.FromNanoseconds(round(node.within_last * 1e9))
    if node.start is not None and node.end is not None:
        message.between.start.CopyFrom(_timestamp(node.start))
        message.between.end.CopyFrom(_timestamp(node.end))
    return message


def _attribute_message(test: AttributeTest) -> pb.AttributeCondition:
    message = pb.AttributeCondition(key=test.key)
    op, operand = test.op, test.operand
    if op == "equals":
        message.equals.CopyFrom(to_message(operand))
    elif op == "in":
        message.in_strings.values.extend(operand)
    elif op == "range":
        for name in RANGE_BOUNDS:
            if operand[name] is not None:
                getattr(message.range, name).CopyFrom(_bound(operand["t"], operand[name]))
    elif op in ("within_last", "more_than_ago"):
        getattr(message, op).FromNanoseconds(round(operand * 1e9))
    elif op == "local_day":
        message.local_day.SetInParent()
        message.local_day.offset_days = operand["offset_days"]
        message.local_day.anniversary = operand["anniversary"]
    else:
        setattr(message, op, operand)
    return message


def _bound(kind: str, value: Any) -> pb.RangeBound:
    if kind == "n":
        return pb.RangeBound(number=value)
    return pb.RangeBound(datetime=_timestamp(value))


def _timestamp(text: str) -> Timestamp:
    return from_datetime(datetime.fromisoformat(text))
