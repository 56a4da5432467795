import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from herald.v1 import messages_pb2 as _messages_pb2
from herald.v1 import segments_pb2 as _segments_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AutomationState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUTOMATION_STATE_UNSPECIFIED: _ClassVar[AutomationState]
    AUTOMATION_STATE_DRAFT: _ClassVar[AutomationState]
    AUTOMATION_STATE_ACTIVE: _ClassVar[AutomationState]
    AUTOMATION_STATE_PAUSED: _ClassVar[AutomationState]
    AUTOMATION_STATE_ARCHIVED: _ClassVar[AutomationState]

class ReentryPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REENTRY_POLICY_UNSPECIFIED: _ClassVar[ReentryPolicy]
    REENTRY_POLICY_ONCE: _ClassVar[ReentryPolicy]
    REENTRY_POLICY_ONCE_PER_PERIOD: _ClassVar[ReentryPolicy]
    REENTRY_POLICY_ALWAYS: _ClassVar[ReentryPolicy]
AUTOMATION_STATE_UNSPECIFIED: AutomationState
AUTOMATION_STATE_DRAFT: AutomationState
AUTOMATION_STATE_ACTIVE: AutomationState
AUTOMATION_STATE_PAUSED: AutomationState
AUTOMATION_STATE_ARCHIVED: AutomationState
REENTRY_POLICY_UNSPECIFIED: ReentryPolicy
REENTRY_POLICY_ONCE: ReentryPolicy
REENTRY_POLICY_ONCE_PER_PERIOD: ReentryPolicy
REENTRY_POLICY_ALWAYS: ReentryPolicy

class EventTrigger(_message.Message):
    __slots__ = ("name", "properties")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    name: str
    properties: _containers.RepeatedCompositeFieldContainer[_segments_pb2.AttributeCondition]
    def __init__(self, name: _Optional[str] = ..., properties: _Optional[_Iterable[_Union[_segments_pb2.AttributeCondition, _Mapping]]] = ...) -> None: ...

class AutomationTrigger(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: EventTrigger
    def __init__(self, event: _Optional[_Union[EventTrigger, _Mapping]] = ...) -> None: ...

class WaitStep(_message.Message):
    __slots__ = ("duration",)
    DURATION_FIELD_NUMBER: _ClassVar[int]
    duration: _duration_pb2.Duration
    def __init__(self, duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class SendStep(_message.Message):
    __slots__ = ("channel", "template", "fallbacks")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    FALLBACKS_FIELD_NUMBER: _ClassVar[int]
    channel: str
    template: _messages_pb2.TemplateRef
    fallbacks: _containers.RepeatedCompositeFieldContainer[SendChannel]
    def __init__(self, channel: _Optional[str] = ..., template: _Optional[_Union[_messages_pb2.TemplateRef, _Mapping]] = ..., fallbacks: _Optional[_Iterable[_Union[SendChannel, _Mapping]]] = ...) -> None: ...

class SendChannel(_message.Message):
    __slots__ = ("channel", "template")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    channel: str
    template: _messages_pb2.TemplateRef
    def __init__(self, channel: _Optional[str] = ..., template: _Optional[_Union[_messages_pb2.TemplateRef, _Mapping]] = ...) -> None: ...

class EndStep(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Step(_message.Message):
    __slots__ = ("step_id", "next", "wait", "send", "end")
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    NEXT_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    SEND_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    step_id: str
    next: str
    wait: WaitStep
    send: SendStep
    end: EndStep
    def __init__(self, step_id: _Optional[str] = ..., next: _Optional[str] = ..., wait: _Optional[_Union[WaitStep, _Mapping]] = ..., send: _Optional[_Union[SendStep, _Mapping]] = ..., end: _Optional[_Union[EndStep, _Mapping]] = ...) -> None: ...

class Automation(_message.Message):
    __slots__ = ("automation_id", "name", "state", "version", "trigger", "entry_filter", "steps", "exit_events", "reentry", "reentry_period", "max_profiles_inside", "create_time", "update_time", "profiles_inside")
    AUTOMATION_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FILTER_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    EXIT_EVENTS_FIELD_NUMBER: _ClassVar[int]
    REENTRY_FIELD_NUMBER: _ClassVar[int]
    REENTRY_PERIOD_FIELD_NUMBER: _ClassVar[int]
    MAX_PROFILES_INSIDE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    PROFILES_INSIDE_FIELD_NUMBER: _ClassVar[int]
    automation_id: str
    name: str
    state: AutomationState
    version: int
    trigger: AutomationTrigger
    entry_filter: _segments_pb2.Condition
    steps: _containers.RepeatedCompositeFieldContainer[Step]
    exit_events: _containers.RepeatedScalarFieldContainer[str]
    reentry: ReentryPolicy
    reentry_period: _duration_pb2.Duration
    max_profiles_inside: int
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    profiles_inside: int
    def __init__(self, automation_id: _Optional[str] = ..., name: _Optional[str] = ..., state: _Optional[_Union[AutomationState, str]] = ..., version: _Optional[int] = ..., trigger: _Optional[_Union[AutomationTrigger, _Mapping]] = ..., entry_filter: _Optional[_Union[_segments_pb2.Condition, _Mapping]] = ..., steps: _Optional[_Iterable[_Union[Step, _Mapping]]] = ..., exit_events: _Optional[_Iterable[str]] = ..., reentry: _Optional[_Union[ReentryPolicy, str]] = ..., reentry_period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_profiles_inside: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., profiles_inside: _Optional[int] = ...) -> None: ...

class CreateAutomationRequest(_message.Message):
    __slots__ = ("automation", "request_id")
    AUTOMATION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    automation: Automation
    request_id: str
    def __init__(self, automation: _Optional[_Union[Automation, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateAutomationRequest(_message.Message):
    __slots__ = ("automation", "update_mask")
    AUTOMATION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    automation: Automation
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, automation: _Optional[_Union[Automation, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class ActivateAutomationRequest(_message.Message):
    __slots__ = ("automation_id",)
    AUTOMATION_ID_FIELD_NUMBER: _ClassVar[int]
    automation_id: str
    def __init__(self, automation_id: _Optional[str] = ...) -> None: ...

class PauseAutomationRequest(_message.Message):
    __slots__ = ("automation_id",)
    AUTOMATION_ID_FIELD_NUMBER: _ClassVar[int]
    automation_id: str
    def __init__(self, automation_id: _Optional[str] = ...) -> None: ...

class ArchiveAutomationRequest(_message.Message):
    __slots__ = ("automation_id",)
    AUTOMATION_ID_FIELD_NUMBER: _ClassVar[int]
    automation_id: str
    def __init__(self, automation_id: _Optional[str] = ...) -> None: ...

class GetAutomationRequest(_message.Message):
    __slots__ = ("automation_id",)
    AUTOMATION_ID_FIELD_NUMBER: _ClassVar[int]
    automation_id: str
    def __init__(self, automation_id: _Optional[str] = ...) -> None: ...

class ListAutomationsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "states")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    states: _containers.RepeatedScalarFieldContainer[AutomationState]
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., states: _Optional[_Iterable[_Union[AutomationState, str]]] = ...) -> None: ...

class ListAutomationsResponse(_message.Message):
    __slots__ = ("automations", "next_page_token")
    AUTOMATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    automations: _containers.RepeatedCompositeFieldContainer[Automation]
    next_page_token: str
    def __init__(self, automations: _Optional[_Iterable[_Union[Automation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
