import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CapPeriod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CAP_PERIOD_UNSPECIFIED: _ClassVar[CapPeriod]
    CAP_PERIOD_DAY: _ClassVar[CapPeriod]
    CAP_PERIOD_WEEK: _ClassVar[CapPeriod]

class QuietHoursAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QUIET_HOURS_ACTION_UNSPECIFIED: _ClassVar[QuietHoursAction]
    QUIET_HOURS_ACTION_DELAY: _ClassVar[QuietHoursAction]
    QUIET_HOURS_ACTION_DROP: _ClassVar[QuietHoursAction]
CAP_PERIOD_UNSPECIFIED: CapPeriod
CAP_PERIOD_DAY: CapPeriod
CAP_PERIOD_WEEK: CapPeriod
QUIET_HOURS_ACTION_UNSPECIFIED: QuietHoursAction
QUIET_HOURS_ACTION_DELAY: QuietHoursAction
QUIET_HOURS_ACTION_DROP: QuietHoursAction

class FrequencyCap(_message.Message):
    __slots__ = ("max_messages", "period", "channel", "label")
    MAX_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    max_messages: int
    period: CapPeriod
    channel: str
    label: str
    def __init__(self, max_messages: _Optional[int] = ..., period: _Optional[_Union[CapPeriod, str]] = ..., channel: _Optional[str] = ..., label: _Optional[str] = ...) -> None: ...

class QuietHours(_message.Message):
    __slots__ = ("start", "end", "action")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    start: str
    end: str
    action: QuietHoursAction
    def __init__(self, start: _Optional[str] = ..., end: _Optional[str] = ..., action: _Optional[_Union[QuietHoursAction, str]] = ...) -> None: ...

class PressureRules(_message.Message):
    __slots__ = ("caps", "grace_period", "quiet_hours", "update_time")
    CAPS_FIELD_NUMBER: _ClassVar[int]
    GRACE_PERIOD_FIELD_NUMBER: _ClassVar[int]
    QUIET_HOURS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    caps: _containers.RepeatedCompositeFieldContainer[FrequencyCap]
    grace_period: _duration_pb2.Duration
    quiet_hours: QuietHours
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, caps: _Optional[_Iterable[_Union[FrequencyCap, _Mapping]]] = ..., grace_period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., quiet_hours: _Optional[_Union[QuietHours, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetPressureRulesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UpdatePressureRulesRequest(_message.Message):
    __slots__ = ("rules", "update_mask")
    RULES_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    rules: PressureRules
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, rules: _Optional[_Union[PressureRules, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...
