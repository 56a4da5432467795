import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from herald.v1 import campaigns_pb2 as _campaigns_pb2
from herald.v1 import common_pb2 as _common_pb2
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

class AttributeChange(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ATTRIBUTE_CHANGE_UNSPECIFIED: _ClassVar[AttributeChange]
    ATTRIBUTE_CHANGE_SET: _ClassVar[AttributeChange]
    ATTRIBUTE_CHANGE_UNSET: _ClassVar[AttributeChange]

class MessageOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MESSAGE_OUTCOME_UNSPECIFIED: _ClassVar[MessageOutcome]
    MESSAGE_OUTCOME_DELIVERED: _ClassVar[MessageOutcome]
    MESSAGE_OUTCOME_OPENED: _ClassVar[MessageOutcome]
    MESSAGE_OUTCOME_CLICKED: _ClassVar[MessageOutcome]

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
ATTRIBUTE_CHANGE_UNSPECIFIED: AttributeChange
ATTRIBUTE_CHANGE_SET: AttributeChange
ATTRIBUTE_CHANGE_UNSET: AttributeChange
MESSAGE_OUTCOME_UNSPECIFIED: MessageOutcome
MESSAGE_OUTCOME_DELIVERED: MessageOutcome
MESSAGE_OUTCOME_OPENED: MessageOutcome
MESSAGE_OUTCOME_CLICKED: MessageOutcome
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

class AttributeChangeTrigger(_message.Message):
    __slots__ = ("key", "change", "to_value", "from_value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    TO_VALUE_FIELD_NUMBER: _ClassVar[int]
    FROM_VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    change: AttributeChange
    to_value: _common_pb2.AttributeValue
    from_value: _common_pb2.AttributeValue
    def __init__(self, key: _Optional[str] = ..., change: _Optional[_Union[AttributeChange, str]] = ..., to_value: _Optional[_Union[_common_pb2.AttributeValue, _Mapping]] = ..., from_value: _Optional[_Union[_common_pb2.AttributeValue, _Mapping]] = ...) -> None: ...

class SegmentTrigger(_message.Message):
    __slots__ = ("segment_id",)
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    segment_id: str
    def __init__(self, segment_id: _Optional[str] = ...) -> None: ...

class DateAttributeTrigger(_message.Message):
    __slots__ = ("key", "offset_days", "every_year", "hour", "minute")
    KEY_FIELD_NUMBER: _ClassVar[int]
    OFFSET_DAYS_FIELD_NUMBER: _ClassVar[int]
    EVERY_YEAR_FIELD_NUMBER: _ClassVar[int]
    HOUR_FIELD_NUMBER: _ClassVar[int]
    MINUTE_FIELD_NUMBER: _ClassVar[int]
    key: str
    offset_days: int
    every_year: bool
    hour: int
    minute: int
    def __init__(self, key: _Optional[str] = ..., offset_days: _Optional[int] = ..., every_year: _Optional[bool] = ..., hour: _Optional[int] = ..., minute: _Optional[int] = ...) -> None: ...

class AutomationTrigger(_message.Message):
    __slots__ = ("event", "attribute_changed", "segment_entered", "segment_left", "date_attribute")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTE_CHANGED_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_ENTERED_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_LEFT_FIELD_NUMBER: _ClassVar[int]
    DATE_ATTRIBUTE_FIELD_NUMBER: _ClassVar[int]
    event: EventTrigger
    attribute_changed: AttributeChangeTrigger
    segment_entered: SegmentTrigger
    segment_left: SegmentTrigger
    date_attribute: DateAttributeTrigger
    def __init__(self, event: _Optional[_Union[EventTrigger, _Mapping]] = ..., attribute_changed: _Optional[_Union[AttributeChangeTrigger, _Mapping]] = ..., segment_entered: _Optional[_Union[SegmentTrigger, _Mapping]] = ..., segment_left: _Optional[_Union[SegmentTrigger, _Mapping]] = ..., date_attribute: _Optional[_Union[DateAttributeTrigger, _Mapping]] = ...) -> None: ...

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

class WaitUntilStep(_message.Message):
    __slots__ = ("time_of_day", "weekdays")
    TIME_OF_DAY_FIELD_NUMBER: _ClassVar[int]
    WEEKDAYS_FIELD_NUMBER: _ClassVar[int]
    time_of_day: str
    weekdays: _containers.RepeatedScalarFieldContainer[_campaigns_pb2.DayOfWeek]
    def __init__(self, time_of_day: _Optional[str] = ..., weekdays: _Optional[_Iterable[_Union[_campaigns_pb2.DayOfWeek, str]]] = ...) -> None: ...

class WaitForEventStep(_message.Message):
    __slots__ = ("name", "properties", "timeout", "timeout_next")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_NEXT_FIELD_NUMBER: _ClassVar[int]
    name: str
    properties: _containers.RepeatedCompositeFieldContainer[_segments_pb2.AttributeCondition]
    timeout: _duration_pb2.Duration
    timeout_next: str
    def __init__(self, name: _Optional[str] = ..., properties: _Optional[_Iterable[_Union[_segments_pb2.AttributeCondition, _Mapping]]] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., timeout_next: _Optional[str] = ...) -> None: ...

class MessageCheck(_message.Message):
    __slots__ = ("send_step_id", "outcome")
    SEND_STEP_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    send_step_id: str
    outcome: MessageOutcome
    def __init__(self, send_step_id: _Optional[str] = ..., outcome: _Optional[_Union[MessageOutcome, str]] = ...) -> None: ...

class DecisionStep(_message.Message):
    __slots__ = ("condition", "message", "yes_next", "no_next")
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    YES_NEXT_FIELD_NUMBER: _ClassVar[int]
    NO_NEXT_FIELD_NUMBER: _ClassVar[int]
    condition: _segments_pb2.Condition
    message: MessageCheck
    yes_next: str
    no_next: str
    def __init__(self, condition: _Optional[_Union[_segments_pb2.Condition, _Mapping]] = ..., message: _Optional[_Union[MessageCheck, _Mapping]] = ..., yes_next: _Optional[str] = ..., no_next: _Optional[str] = ...) -> None: ...

class SplitBranch(_message.Message):
    __slots__ = ("weight", "next")
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    NEXT_FIELD_NUMBER: _ClassVar[int]
    weight: int
    next: str
    def __init__(self, weight: _Optional[int] = ..., next: _Optional[str] = ...) -> None: ...

class SplitStep(_message.Message):
    __slots__ = ("branches",)
    BRANCHES_FIELD_NUMBER: _ClassVar[int]
    branches: _containers.RepeatedCompositeFieldContainer[SplitBranch]
    def __init__(self, branches: _Optional[_Iterable[_Union[SplitBranch, _Mapping]]] = ...) -> None: ...

class UpdateAttributeStep(_message.Message):
    __slots__ = ("key", "set", "unset", "increment")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SET_FIELD_NUMBER: _ClassVar[int]
    UNSET_FIELD_NUMBER: _ClassVar[int]
    INCREMENT_FIELD_NUMBER: _ClassVar[int]
    key: str
    set: _common_pb2.AttributeValue
    unset: _empty_pb2.Empty
    increment: float
    def __init__(self, key: _Optional[str] = ..., set: _Optional[_Union[_common_pb2.AttributeValue, _Mapping]] = ..., unset: _Optional[_Union[_empty_pb2.Empty, _Mapping]] = ..., increment: _Optional[float] = ...) -> None: ...

class WebhookStep(_message.Message):
    __slots__ = ("endpoint_id", "attributes")
    ENDPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    endpoint_id: str
    attributes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, endpoint_id: _Optional[str] = ..., attributes: _Optional[_Iterable[str]] = ...) -> None: ...

class RedirectStep(_message.Message):
    __slots__ = ("automation_id",)
    AUTOMATION_ID_FIELD_NUMBER: _ClassVar[int]
    automation_id: str
    def __init__(self, automation_id: _Optional[str] = ...) -> None: ...

class CheckpointStep(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class Step(_message.Message):
    __slots__ = ("step_id", "next", "wait", "send", "end", "decision", "split", "update_attribute", "webhook", "redirect", "checkpoint", "wait_until", "wait_for_event")
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    NEXT_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    SEND_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_ATTRIBUTE_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    REDIRECT_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    WAIT_UNTIL_FIELD_NUMBER: _ClassVar[int]
    WAIT_FOR_EVENT_FIELD_NUMBER: _ClassVar[int]
    step_id: str
    next: str
    wait: WaitStep
    send: SendStep
    end: EndStep
    decision: DecisionStep
    split: SplitStep
    update_attribute: UpdateAttributeStep
    webhook: WebhookStep
    redirect: RedirectStep
    checkpoint: CheckpointStep
    wait_until: WaitUntilStep
    wait_for_event: WaitForEventStep
    def __init__(self, step_id: _Optional[str] = ..., next: _Optional[str] = ..., wait: _Optional[_Union[WaitStep, _Mapping]] = ..., send: _Optional[_Union[SendStep, _Mapping]] = ..., end: _Optional[_Union[EndStep, _Mapping]] = ..., decision: _Optional[_Union[DecisionStep, _Mapping]] = ..., split: _Optional[_Union[SplitStep, _Mapping]] = ..., update_attribute: _Optional[_Union[UpdateAttributeStep, _Mapping]] = ..., webhook: _Optional[_Union[WebhookStep, _Mapping]] = ..., redirect: _Optional[_Union[RedirectStep, _Mapping]] = ..., checkpoint: _Optional[_Union[CheckpointStep, _Mapping]] = ..., wait_until: _Optional[_Union[WaitUntilStep, _Mapping]] = ..., wait_for_event: _Optional[_Union[WaitForEventStep, _Mapping]] = ...) -> None: ...

class Automation(_message.Message):
    __slots__ = ("automation_id", "name", "state", "version", "trigger", "entry_filter", "steps", "exit_events", "reentry", "reentry_period", "max_profiles_inside", "create_time", "update_time", "profiles_inside", "conversion_event", "conversion_window")
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
    CONVERSION_EVENT_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_WINDOW_FIELD_NUMBER: _ClassVar[int]
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
    conversion_event: str
    conversion_window: _duration_pb2.Duration
    def __init__(self, automation_id: _Optional[str] = ..., name: _Optional[str] = ..., state: _Optional[_Union[AutomationState, str]] = ..., version: _Optional[int] = ..., trigger: _Optional[_Union[AutomationTrigger, _Mapping]] = ..., entry_filter: _Optional[_Union[_segments_pb2.Condition, _Mapping]] = ..., steps: _Optional[_Iterable[_Union[Step, _Mapping]]] = ..., exit_events: _Optional[_Iterable[str]] = ..., reentry: _Optional[_Union[ReentryPolicy, str]] = ..., reentry_period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_profiles_inside: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., profiles_inside: _Optional[int] = ..., conversion_event: _Optional[str] = ..., conversion_window: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

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
