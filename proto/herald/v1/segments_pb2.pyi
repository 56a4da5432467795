import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from herald.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Segment(_message.Message):
    __slots__ = ("segment_id", "name", "description", "condition", "version", "created_at", "updated_at")
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    segment_id: str
    name: str
    description: str
    condition: Condition
    version: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, segment_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., condition: _Optional[_Union[Condition, _Mapping]] = ..., version: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Condition(_message.Message):
    __slots__ = ("all", "any", "attribute", "event", "reachable", "subscribed", "email_domain", "segment")
    ALL_FIELD_NUMBER: _ClassVar[int]
    ANY_FIELD_NUMBER: _ClassVar[int]
    NOT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTE_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    REACHABLE_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBED_FIELD_NUMBER: _ClassVar[int]
    EMAIL_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    all: ConditionList
    any: ConditionList
    attribute: AttributeCondition
    event: EventCondition
    reachable: ReachableCondition
    subscribed: SubscribedCondition
    email_domain: EmailDomainCondition
    segment: SegmentReference
    def __init__(self, all: _Optional[_Union[ConditionList, _Mapping]] = ..., any: _Optional[_Union[ConditionList, _Mapping]] = ..., attribute: _Optional[_Union[AttributeCondition, _Mapping]] = ..., event: _Optional[_Union[EventCondition, _Mapping]] = ..., reachable: _Optional[_Union[ReachableCondition, _Mapping]] = ..., subscribed: _Optional[_Union[SubscribedCondition, _Mapping]] = ..., email_domain: _Optional[_Union[EmailDomainCondition, _Mapping]] = ..., segment: _Optional[_Union[SegmentReference, _Mapping]] = ..., **kwargs) -> None: ...

class ConditionList(_message.Message):
    __slots__ = ("conditions",)
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    conditions: _containers.RepeatedCompositeFieldContainer[Condition]
    def __init__(self, conditions: _Optional[_Iterable[_Union[Condition, _Mapping]]] = ...) -> None: ...

class AttributeCondition(_message.Message):
    __slots__ = ("key", "equals", "in_strings", "range", "exists", "contains", "starts_with", "within_last", "more_than_ago", "local_day")
    KEY_FIELD_NUMBER: _ClassVar[int]
    EQUALS_FIELD_NUMBER: _ClassVar[int]
    IN_STRINGS_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    CONTAINS_FIELD_NUMBER: _ClassVar[int]
    STARTS_WITH_FIELD_NUMBER: _ClassVar[int]
    WITHIN_LAST_FIELD_NUMBER: _ClassVar[int]
    MORE_THAN_AGO_FIELD_NUMBER: _ClassVar[int]
    LOCAL_DAY_FIELD_NUMBER: _ClassVar[int]
    key: str
    equals: _common_pb2.AttributeValue
    in_strings: _common_pb2.StringList
    range: Range
    exists: bool
    contains: str
    starts_with: str
    within_last: _duration_pb2.Duration
    more_than_ago: _duration_pb2.Duration
    local_day: LocalDay
    def __init__(self, key: _Optional[str] = ..., equals: _Optional[_Union[_common_pb2.AttributeValue, _Mapping]] = ..., in_strings: _Optional[_Union[_common_pb2.StringList, _Mapping]] = ..., range: _Optional[_Union[Range, _Mapping]] = ..., exists: _Optional[bool] = ..., contains: _Optional[str] = ..., starts_with: _Optional[str] = ..., within_last: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., more_than_ago: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., local_day: _Optional[_Union[LocalDay, _Mapping]] = ...) -> None: ...

class Range(_message.Message):
    __slots__ = ("gt", "gte", "lt", "lte")
    GT_FIELD_NUMBER: _ClassVar[int]
    GTE_FIELD_NUMBER: _ClassVar[int]
    LT_FIELD_NUMBER: _ClassVar[int]
    LTE_FIELD_NUMBER: _ClassVar[int]
    gt: RangeBound
    gte: RangeBound
    lt: RangeBound
    lte: RangeBound
    def __init__(self, gt: _Optional[_Union[RangeBound, _Mapping]] = ..., gte: _Optional[_Union[RangeBound, _Mapping]] = ..., lt: _Optional[_Union[RangeBound, _Mapping]] = ..., lte: _Optional[_Union[RangeBound, _Mapping]] = ...) -> None: ...

class RangeBound(_message.Message):
    __slots__ = ("number", "datetime")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    DATETIME_FIELD_NUMBER: _ClassVar[int]
    number: float
    datetime: _timestamp_pb2.Timestamp
    def __init__(self, number: _Optional[float] = ..., datetime: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LocalDay(_message.Message):
    __slots__ = ("offset_days", "anniversary")
    OFFSET_DAYS_FIELD_NUMBER: _ClassVar[int]
    ANNIVERSARY_FIELD_NUMBER: _ClassVar[int]
    offset_days: int
    anniversary: bool
    def __init__(self, offset_days: _Optional[int] = ..., anniversary: _Optional[bool] = ...) -> None: ...

class EventCondition(_message.Message):
    __slots__ = ("name", "at_least", "at_most", "within_last", "between", "properties")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AT_LEAST_FIELD_NUMBER: _ClassVar[int]
    AT_MOST_FIELD_NUMBER: _ClassVar[int]
    WITHIN_LAST_FIELD_NUMBER: _ClassVar[int]
    BETWEEN_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    name: str
    at_least: int
    at_most: int
    within_last: _duration_pb2.Duration
    between: TimeSpan
    properties: _containers.RepeatedCompositeFieldContainer[AttributeCondition]
    def __init__(self, name: _Optional[str] = ..., at_least: _Optional[int] = ..., at_most: _Optional[int] = ..., within_last: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., between: _Optional[_Union[TimeSpan, _Mapping]] = ..., properties: _Optional[_Iterable[_Union[AttributeCondition, _Mapping]]] = ...) -> None: ...

class TimeSpan(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReachableCondition(_message.Message):
    __slots__ = ("address_kind",)
    ADDRESS_KIND_FIELD_NUMBER: _ClassVar[int]
    address_kind: str
    def __init__(self, address_kind: _Optional[str] = ...) -> None: ...

class SubscribedCondition(_message.Message):
    __slots__ = ("channel", "purpose", "topic")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    channel: str
    purpose: _common_pb2.Purpose
    topic: str
    def __init__(self, channel: _Optional[str] = ..., purpose: _Optional[_Union[_common_pb2.Purpose, str]] = ..., topic: _Optional[str] = ...) -> None: ...

class EmailDomainCondition(_message.Message):
    __slots__ = ("domains",)
    DOMAINS_FIELD_NUMBER: _ClassVar[int]
    domains: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, domains: _Optional[_Iterable[str]] = ...) -> None: ...

class SegmentReference(_message.Message):
    __slots__ = ("segment_id",)
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    segment_id: str
    def __init__(self, segment_id: _Optional[str] = ...) -> None: ...

class CreateSegmentRequest(_message.Message):
    __slots__ = ("segment",)
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    segment: Segment
    def __init__(self, segment: _Optional[_Union[Segment, _Mapping]] = ...) -> None: ...

class GetSegmentRequest(_message.Message):
    __slots__ = ("segment_id", "version")
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    segment_id: str
    version: int
    def __init__(self, segment_id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class UpdateSegmentRequest(_message.Message):
    __slots__ = ("segment", "update_mask")
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    segment: Segment
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, segment: _Optional[_Union[Segment, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteSegmentRequest(_message.Message):
    __slots__ = ("segment_id",)
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    segment_id: str
    def __init__(self, segment_id: _Optional[str] = ...) -> None: ...

class ListSegmentsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSegmentsResponse(_message.Message):
    __slots__ = ("segments", "next_page_token")
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    segments: _containers.RepeatedCompositeFieldContainer[Segment]
    next_page_token: str
    def __init__(self, segments: _Optional[_Iterable[_Union[Segment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SegmentTarget(_message.Message):
    __slots__ = ("segment_id", "condition")
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    segment_id: str
    condition: Condition
    def __init__(self, segment_id: _Optional[str] = ..., condition: _Optional[_Union[Condition, _Mapping]] = ...) -> None: ...

class CountSegmentRequest(_message.Message):
    __slots__ = ("target",)
    TARGET_FIELD_NUMBER: _ClassVar[int]
    target: SegmentTarget
    def __init__(self, target: _Optional[_Union[SegmentTarget, _Mapping]] = ...) -> None: ...

class CountSegmentResponse(_message.Message):
    __slots__ = ("count", "evaluated_at")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    EVALUATED_AT_FIELD_NUMBER: _ClassVar[int]
    count: int
    evaluated_at: _timestamp_pb2.Timestamp
    def __init__(self, count: _Optional[int] = ..., evaluated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PreviewSegmentRequest(_message.Message):
    __slots__ = ("target", "page_size", "page_token", "attribute_keys")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTE_KEYS_FIELD_NUMBER: _ClassVar[int]
    target: SegmentTarget
    page_size: int
    page_token: str
    attribute_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, target: _Optional[_Union[SegmentTarget, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., attribute_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class SegmentMember(_message.Message):
    __slots__ = ("profile_id", "custom_id", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.AttributeValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.AttributeValue, _Mapping]] = ...) -> None: ...
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_ID_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    custom_id: str
    attributes: _containers.MessageMap[str, _common_pb2.AttributeValue]
    def __init__(self, profile_id: _Optional[str] = ..., custom_id: _Optional[str] = ..., attributes: _Optional[_Mapping[str, _common_pb2.AttributeValue]] = ...) -> None: ...

class PreviewSegmentResponse(_message.Message):
    __slots__ = ("profiles", "next_page_token")
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    profiles: _containers.RepeatedCompositeFieldContainer[SegmentMember]
    next_page_token: str
    def __init__(self, profiles: _Optional[_Iterable[_Union[SegmentMember, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SegmentSelection(_message.Message):
    __slots__ = ("include_segment_ids", "condition", "exclude_segment_ids")
    INCLUDE_SEGMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_SEGMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    include_segment_ids: _containers.RepeatedScalarFieldContainer[str]
    condition: Condition
    exclude_segment_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, include_segment_ids: _Optional[_Iterable[str]] = ..., condition: _Optional[_Union[Condition, _Mapping]] = ..., exclude_segment_ids: _Optional[_Iterable[str]] = ...) -> None: ...
