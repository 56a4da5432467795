"""Builders of protobuf conditions, so that a test reads like the tree it sends."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from herald.v1 import common_pb2
from herald.v1 import segments_pb2 as pb


def value(raw: Any) -> common_pb2.AttributeValue:
    if isinstance(raw, bool):
        return common_pb2.AttributeValue(bool_value=raw)
    if isinstance(raw, int | float):
        return common_pb2.AttributeValue(number_value=raw)
    if isinstance(raw, datetime):
        return common_pb2.AttributeValue(datetime_value=timestamp(raw))
    if isinstance(raw, list):
        return common_pb2.AttributeValue(string_list_value=common_pb2.StringList(values=raw))
    return common_pb2.AttributeValue(string_value=raw)


def timestamp(at: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp


def span(delta: timedelta) -> Duration:
    duration = Duration()
    duration.FromTimedelta(delta)
    return duration


def attribute(key: str, **test: Any) -> pb.Condition:
    return pb.Condition(attribute=pb.AttributeCondition(key=key, **test))


def equals(key: str, raw: Any) -> pb.Condition:
    return attribute(key, equals=value(raw))


def number_range(key: str, **bounds: float) -> pb.Condition:
    return attribute(key, range=pb.Range(**{name: pb.RangeBound(number=v) for name, v in bounds.items()}))


def local_day(key: str, offset_days: int = 0, anniversary: bool = False) -> pb.Condition:
    return attribute(key, local_day=pb.LocalDay(offset_days=offset_days, anniversary=anniversary))


def all_of(*conditions: pb.Condition) -> pb.Condition:
    return pb.Condition(all=pb.ConditionList(conditions=conditions))


def any_of(*conditions: pb.Condition) -> pb.Condition:
    return pb.Condition(any=pb.ConditionList(conditions=conditions))


def negation(condition: pb.Condition) -> pb.Condition:
    return pb.Condition(**{"not": condition})


def event(name: str, **fields: Any) -> pb.Condition:
    return pb.Condition(event=pb.EventCondition(name=name, **fields))


def segment(segment_id: str) -> pb.Condition:
    return pb.Condition(segment=pb.SegmentReference(segment_id=segment_id))
