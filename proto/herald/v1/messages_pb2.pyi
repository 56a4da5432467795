import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from herald.v1 import common_pb2 as _common_pb2
from herald.v1 import segments_pb2 as _segments_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DeliveryStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_STATUS_UNSPECIFIED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_ACCEPTED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_FAILED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_RETRY_SCHEDULED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_SUPPRESSED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_NO_ADDRESS: _ClassVar[DeliveryStatus]

class PaceUnit(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PACE_UNIT_UNSPECIFIED: _ClassVar[PaceUnit]
    PACE_UNIT_MINUTE: _ClassVar[PaceUnit]
    PACE_UNIT_HOUR: _ClassVar[PaceUnit]

class SendState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEND_STATE_UNSPECIFIED: _ClassVar[SendState]
    SEND_STATE_RUNNING: _ClassVar[SendState]
    SEND_STATE_PAUSED: _ClassVar[SendState]
    SEND_STATE_CANCELLED: _ClassVar[SendState]
    SEND_STATE_COMPLETED: _ClassVar[SendState]
DELIVERY_STATUS_UNSPECIFIED: DeliveryStatus
DELIVERY_STATUS_ACCEPTED: DeliveryStatus
DELIVERY_STATUS_FAILED: DeliveryStatus
DELIVERY_STATUS_RETRY_SCHEDULED: DeliveryStatus
DELIVERY_STATUS_SUPPRESSED: DeliveryStatus
DELIVERY_STATUS_NO_ADDRESS: DeliveryStatus
PACE_UNIT_UNSPECIFIED: PaceUnit
PACE_UNIT_MINUTE: PaceUnit
PACE_UNIT_HOUR: PaceUnit
SEND_STATE_UNSPECIFIED: SendState
SEND_STATE_RUNNING: SendState
SEND_STATE_PAUSED: SendState
SEND_STATE_CANCELLED: SendState
SEND_STATE_COMPLETED: SendState

class MessageTemplate(_message.Message):
    __slots__ = ("subject", "html", "text", "from_address", "from_name", "reply_to", "title", "body", "data", "silent", "badge", "sound", "collapse_key", "priority", "url", "campaign", "ttl")
    class DataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    HTML_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    FROM_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    FROM_NAME_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    SILENT_FIELD_NUMBER: _ClassVar[int]
    BADGE_FIELD_NUMBER: _ClassVar[int]
    SOUND_FIELD_NUMBER: _ClassVar[int]
    COLLAPSE_KEY_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    subject: str
    html: str
    text: str
    from_address: str
    from_name: str
    reply_to: str
    title: str
    body: str
    data: _containers.ScalarMap[str, str]
    silent: bool
    badge: int
    sound: str
    collapse_key: str
    priority: str
    url: str
    campaign: str
    ttl: _duration_pb2.Duration
    def __init__(self, subject: _Optional[str] = ..., html: _Optional[str] = ..., text: _Optional[str] = ..., from_address: _Optional[str] = ..., from_name: _Optional[str] = ..., reply_to: _Optional[str] = ..., title: _Optional[str] = ..., body: _Optional[str] = ..., data: _Optional[_Mapping[str, str]] = ..., silent: _Optional[bool] = ..., badge: _Optional[int] = ..., sound: _Optional[str] = ..., collapse_key: _Optional[str] = ..., priority: _Optional[str] = ..., url: _Optional[str] = ..., campaign: _Optional[str] = ..., ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class SendTransactionalRequest(_message.Message):
    __slots__ = ("profile", "address", "channels", "template", "data", "request_id")
    class DataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.AttributeValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.AttributeValue, _Mapping]] = ...) -> None: ...
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    profile: _common_pb2.ProfileRef
    address: _common_pb2.Address
    channels: _containers.RepeatedScalarFieldContainer[str]
    template: MessageTemplate
    data: _containers.MessageMap[str, _common_pb2.AttributeValue]
    request_id: str
    def __init__(self, profile: _Optional[_Union[_common_pb2.ProfileRef, _Mapping]] = ..., address: _Optional[_Union[_common_pb2.Address, _Mapping]] = ..., channels: _Optional[_Iterable[str]] = ..., template: _Optional[_Union[MessageTemplate, _Mapping]] = ..., data: _Optional[_Mapping[str, _common_pb2.AttributeValue]] = ..., request_id: _Optional[str] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("channel", "message_id", "status", "provider_id", "reason")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    channel: str
    message_id: str
    status: DeliveryStatus
    provider_id: str
    reason: str
    def __init__(self, channel: _Optional[str] = ..., message_id: _Optional[str] = ..., status: _Optional[_Union[DeliveryStatus, str]] = ..., provider_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class SendTransactionalResponse(_message.Message):
    __slots__ = ("deliveries",)
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[Delivery]
    def __init__(self, deliveries: _Optional[_Iterable[_Union[Delivery, _Mapping]]] = ...) -> None: ...

class ProfileList(_message.Message):
    __slots__ = ("profiles",)
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    profiles: _containers.RepeatedCompositeFieldContainer[_common_pb2.ProfileRef]
    def __init__(self, profiles: _Optional[_Iterable[_Union[_common_pb2.ProfileRef, _Mapping]]] = ...) -> None: ...

class AllReachable(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Pacing(_message.Message):
    __slots__ = ("count", "unit")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    count: int
    unit: PaceUnit
    def __init__(self, count: _Optional[int] = ..., unit: _Optional[_Union[PaceUnit, str]] = ...) -> None: ...

class DomainFilter(_message.Message):
    __slots__ = ("include", "exclude")
    INCLUDE_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_FIELD_NUMBER: _ClassVar[int]
    include: _containers.RepeatedScalarFieldContainer[str]
    exclude: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, include: _Optional[_Iterable[str]] = ..., exclude: _Optional[_Iterable[str]] = ...) -> None: ...

class TemplateRef(_message.Message):
    __slots__ = ("template_id", "version")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    version: int
    def __init__(self, template_id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class CreateSendRequest(_message.Message):
    __slots__ = ("name", "profiles", "all_reachable", "segments", "channels", "templates", "purpose", "pacing", "unpaced", "domains", "require_opt_in", "request_id", "start_paused", "saved_templates", "campaign_data", "channel_priority")
    class TemplatesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: MessageTemplate
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[MessageTemplate, _Mapping]] = ...) -> None: ...
    class SavedTemplatesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: TemplateRef
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[TemplateRef, _Mapping]] = ...) -> None: ...
    class CampaignDataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    ALL_REACHABLE_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    PACING_FIELD_NUMBER: _ClassVar[int]
    UNPACED_FIELD_NUMBER: _ClassVar[int]
    DOMAINS_FIELD_NUMBER: _ClassVar[int]
    REQUIRE_OPT_IN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    START_PAUSED_FIELD_NUMBER: _ClassVar[int]
    SAVED_TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_DATA_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_PRIORITY_FIELD_NUMBER: _ClassVar[int]
    name: str
    profiles: ProfileList
    all_reachable: AllReachable
    segments: _segments_pb2.SegmentSelection
    channels: _containers.RepeatedScalarFieldContainer[str]
    templates: _containers.MessageMap[str, MessageTemplate]
    purpose: _common_pb2.Purpose
    pacing: Pacing
    unpaced: bool
    domains: DomainFilter
    require_opt_in: bool
    request_id: str
    start_paused: bool
    saved_templates: _containers.MessageMap[str, TemplateRef]
    campaign_data: _containers.ScalarMap[str, str]
    channel_priority: bool
    def __init__(self, name: _Optional[str] = ..., profiles: _Optional[_Union[ProfileList, _Mapping]] = ..., all_reachable: _Optional[_Union[AllReachable, _Mapping]] = ..., segments: _Optional[_Union[_segments_pb2.SegmentSelection, _Mapping]] = ..., channels: _Optional[_Iterable[str]] = ..., templates: _Optional[_Mapping[str, MessageTemplate]] = ..., purpose: _Optional[_Union[_common_pb2.Purpose, str]] = ..., pacing: _Optional[_Union[Pacing, _Mapping]] = ..., unpaced: _Optional[bool] = ..., domains: _Optional[_Union[DomainFilter, _Mapping]] = ..., require_opt_in: _Optional[bool] = ..., request_id: _Optional[str] = ..., start_paused: _Optional[bool] = ..., saved_templates: _Optional[_Mapping[str, TemplateRef]] = ..., campaign_data: _Optional[_Mapping[str, str]] = ..., channel_priority: _Optional[bool] = ...) -> None: ...

class Send(_message.Message):
    __slots__ = ("send_id", "name", "state", "purpose", "channels", "pacing", "outbox_complete", "planned", "sent", "failed", "suppressed", "expired", "cancelled", "pending", "retries", "duplicates", "not_consented", "unknown_profiles", "created_at", "finished_at", "templates", "paused_channels", "feedback", "saved_templates", "by_channel", "channel_priority", "capped", "grace_period", "quiet_hours_dropped", "quiet_hours_delayed")
    class TemplatesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: MessageTemplate
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[MessageTemplate, _Mapping]] = ...) -> None: ...
    class SavedTemplatesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: TemplateRef
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[TemplateRef, _Mapping]] = ...) -> None: ...
    SEND_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    PACING_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    PLANNED_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    NOT_CONSENTED_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_PROFILES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    PAUSED_CHANNELS_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_FIELD_NUMBER: _ClassVar[int]
    SAVED_TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    BY_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_PRIORITY_FIELD_NUMBER: _ClassVar[int]
    CAPPED_FIELD_NUMBER: _ClassVar[int]
    GRACE_PERIOD_FIELD_NUMBER: _ClassVar[int]
    QUIET_HOURS_DROPPED_FIELD_NUMBER: _ClassVar[int]
    QUIET_HOURS_DELAYED_FIELD_NUMBER: _ClassVar[int]
    send_id: str
    name: str
    state: SendState
    purpose: _common_pb2.Purpose
    channels: _containers.RepeatedScalarFieldContainer[str]
    pacing: Pacing
    outbox_complete: bool
    planned: int
    sent: int
    failed: int
    suppressed: int
    expired: int
    cancelled: int
    pending: int
    retries: int
    duplicates: int
    not_consented: int
    unknown_profiles: int
    created_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    templates: _containers.MessageMap[str, MessageTemplate]
    paused_channels: _containers.RepeatedCompositeFieldContainer[ChannelPause]
    feedback: _containers.RepeatedCompositeFieldContainer[ChannelFeedback]
    saved_templates: _containers.MessageMap[str, TemplateRef]
    by_channel: _containers.RepeatedCompositeFieldContainer[SendChannelCounts]
    channel_priority: bool
    capped: int
    grace_period: int
    quiet_hours_dropped: int
    quiet_hours_delayed: int
    def __init__(self, send_id: _Optional[str] = ..., name: _Optional[str] = ..., state: _Optional[_Union[SendState, str]] = ..., purpose: _Optional[_Union[_common_pb2.Purpose, str]] = ..., channels: _Optional[_Iterable[str]] = ..., pacing: _Optional[_Union[Pacing, _Mapping]] = ..., outbox_complete: _Optional[bool] = ..., planned: _Optional[int] = ..., sent: _Optional[int] = ..., failed: _Optional[int] = ..., suppressed: _Optional[int] = ..., expired: _Optional[int] = ..., cancelled: _Optional[int] = ..., pending: _Optional[int] = ..., retries: _Optional[int] = ..., duplicates: _Optional[int] = ..., not_consented: _Optional[int] = ..., unknown_profiles: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., templates: _Optional[_Mapping[str, MessageTemplate]] = ..., paused_channels: _Optional[_Iterable[_Union[ChannelPause, _Mapping]]] = ..., feedback: _Optional[_Iterable[_Union[ChannelFeedback, _Mapping]]] = ..., saved_templates: _Optional[_Mapping[str, TemplateRef]] = ..., by_channel: _Optional[_Iterable[_Union[SendChannelCounts, _Mapping]]] = ..., channel_priority: _Optional[bool] = ..., capped: _Optional[int] = ..., grace_period: _Optional[int] = ..., quiet_hours_dropped: _Optional[int] = ..., quiet_hours_delayed: _Optional[int] = ...) -> None: ...

class SendChannelCounts(_message.Message):
    __slots__ = ("channel", "planned", "sent", "failed", "suppressed", "expired", "cancelled", "pending", "retries", "duplicates", "not_consented", "feedback", "capped", "grace_period", "quiet_hours_dropped", "quiet_hours_delayed")
    class FeedbackEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    PLANNED_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    NOT_CONSENTED_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_FIELD_NUMBER: _ClassVar[int]
    CAPPED_FIELD_NUMBER: _ClassVar[int]
    GRACE_PERIOD_FIELD_NUMBER: _ClassVar[int]
    QUIET_HOURS_DROPPED_FIELD_NUMBER: _ClassVar[int]
    QUIET_HOURS_DELAYED_FIELD_NUMBER: _ClassVar[int]
    channel: str
    planned: int
    sent: int
    failed: int
    suppressed: int
    expired: int
    cancelled: int
    pending: int
    retries: int
    duplicates: int
    not_consented: int
    feedback: _containers.ScalarMap[str, int]
    capped: int
    grace_period: int
    quiet_hours_dropped: int
    quiet_hours_delayed: int
    def __init__(self, channel: _Optional[str] = ..., planned: _Optional[int] = ..., sent: _Optional[int] = ..., failed: _Optional[int] = ..., suppressed: _Optional[int] = ..., expired: _Optional[int] = ..., cancelled: _Optional[int] = ..., pending: _Optional[int] = ..., retries: _Optional[int] = ..., duplicates: _Optional[int] = ..., not_consented: _Optional[int] = ..., feedback: _Optional[_Mapping[str, int]] = ..., capped: _Optional[int] = ..., grace_period: _Optional[int] = ..., quiet_hours_dropped: _Optional[int] = ..., quiet_hours_delayed: _Optional[int] = ...) -> None: ...

class ChannelFeedback(_message.Message):
    __slots__ = ("channel", "events")
    class EventsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    channel: str
    events: _containers.ScalarMap[str, int]
    def __init__(self, channel: _Optional[str] = ..., events: _Optional[_Mapping[str, int]] = ...) -> None: ...

class ChannelPause(_message.Message):
    __slots__ = ("channel", "reason", "send_id", "paused_at")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SEND_ID_FIELD_NUMBER: _ClassVar[int]
    PAUSED_AT_FIELD_NUMBER: _ClassVar[int]
    channel: str
    reason: str
    send_id: str
    paused_at: _timestamp_pb2.Timestamp
    def __init__(self, channel: _Optional[str] = ..., reason: _Optional[str] = ..., send_id: _Optional[str] = ..., paused_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetSendRequest(_message.Message):
    __slots__ = ("send_id",)
    SEND_ID_FIELD_NUMBER: _ClassVar[int]
    send_id: str
    def __init__(self, send_id: _Optional[str] = ...) -> None: ...

class PauseSendRequest(_message.Message):
    __slots__ = ("send_id",)
    SEND_ID_FIELD_NUMBER: _ClassVar[int]
    send_id: str
    def __init__(self, send_id: _Optional[str] = ...) -> None: ...

class ResumeSendRequest(_message.Message):
    __slots__ = ("send_id",)
    SEND_ID_FIELD_NUMBER: _ClassVar[int]
    send_id: str
    def __init__(self, send_id: _Optional[str] = ...) -> None: ...

class CancelSendRequest(_message.Message):
    __slots__ = ("send_id",)
    SEND_ID_FIELD_NUMBER: _ClassVar[int]
    send_id: str
    def __init__(self, send_id: _Optional[str] = ...) -> None: ...

class RecordMessageOpenedRequest(_message.Message):
    __slots__ = ("message_id",)
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    def __init__(self, message_id: _Optional[str] = ...) -> None: ...

class ListSendsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "states", "created_after", "created_before")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AFTER_FIELD_NUMBER: _ClassVar[int]
    CREATED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    states: _containers.RepeatedScalarFieldContainer[SendState]
    created_after: _timestamp_pb2.Timestamp
    created_before: _timestamp_pb2.Timestamp
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., states: _Optional[_Iterable[_Union[SendState, str]]] = ..., created_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListSendsResponse(_message.Message):
    __slots__ = ("sends", "next_page_token")
    SENDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sends: _containers.RepeatedCompositeFieldContainer[Send]
    next_page_token: str
    def __init__(self, sends: _Optional[_Iterable[_Union[Send, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
