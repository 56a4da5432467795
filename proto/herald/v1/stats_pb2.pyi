import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetSendStatsRequest(_message.Message):
    __slots__ = ("send_ids",)
    SEND_IDS_FIELD_NUMBER: _ClassVar[int]
    send_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, send_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ExportSendStatsRequest(_message.Message):
    __slots__ = ("send_ids",)
    SEND_IDS_FIELD_NUMBER: _ClassVar[int]
    send_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, send_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class StatsFigures(_message.Message):
    __slots__ = ("targeted", "deduplicated", "suppressed", "not_consented", "sent", "failed", "expired", "cancelled", "retries", "delivered", "bounced", "opened", "clicked", "open_events", "click_events", "unsubscribed", "complained", "capped", "grace_period", "quiet_hours_dropped", "quiet_hours_delayed", "converted")
    TARGETED_FIELD_NUMBER: _ClassVar[int]
    DEDUPLICATED_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    NOT_CONSENTED_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    BOUNCED_FIELD_NUMBER: _ClassVar[int]
    OPENED_FIELD_NUMBER: _ClassVar[int]
    CLICKED_FIELD_NUMBER: _ClassVar[int]
    OPEN_EVENTS_FIELD_NUMBER: _ClassVar[int]
    CLICK_EVENTS_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBED_FIELD_NUMBER: _ClassVar[int]
    COMPLAINED_FIELD_NUMBER: _ClassVar[int]
    CAPPED_FIELD_NUMBER: _ClassVar[int]
    GRACE_PERIOD_FIELD_NUMBER: _ClassVar[int]
    QUIET_HOURS_DROPPED_FIELD_NUMBER: _ClassVar[int]
    QUIET_HOURS_DELAYED_FIELD_NUMBER: _ClassVar[int]
    CONVERTED_FIELD_NUMBER: _ClassVar[int]
    targeted: int
    deduplicated: int
    suppressed: int
    not_consented: int
    sent: int
    failed: int
    expired: int
    cancelled: int
    retries: int
    delivered: int
    bounced: int
    opened: int
    clicked: int
    open_events: int
    click_events: int
    unsubscribed: int
    complained: int
    capped: int
    grace_period: int
    quiet_hours_dropped: int
    quiet_hours_delayed: int
    converted: int
    def __init__(self, targeted: _Optional[int] = ..., deduplicated: _Optional[int] = ..., suppressed: _Optional[int] = ..., not_consented: _Optional[int] = ..., sent: _Optional[int] = ..., failed: _Optional[int] = ..., expired: _Optional[int] = ..., cancelled: _Optional[int] = ..., retries: _Optional[int] = ..., delivered: _Optional[int] = ..., bounced: _Optional[int] = ..., opened: _Optional[int] = ..., clicked: _Optional[int] = ..., open_events: _Optional[int] = ..., click_events: _Optional[int] = ..., unsubscribed: _Optional[int] = ..., complained: _Optional[int] = ..., capped: _Optional[int] = ..., grace_period: _Optional[int] = ..., quiet_hours_dropped: _Optional[int] = ..., quiet_hours_delayed: _Optional[int] = ..., converted: _Optional[int] = ...) -> None: ...

class StatsRates(_message.Message):
    __slots__ = ("delivery", "open", "click", "conversion")
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    OPEN_FIELD_NUMBER: _ClassVar[int]
    CLICK_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_FIELD_NUMBER: _ClassVar[int]
    delivery: float
    open: float
    click: float
    conversion: float
    def __init__(self, delivery: _Optional[float] = ..., open: _Optional[float] = ..., click: _Optional[float] = ..., conversion: _Optional[float] = ...) -> None: ...

class ChannelStats(_message.Message):
    __slots__ = ("channel", "figures", "rates", "pending")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    FIGURES_FIELD_NUMBER: _ClassVar[int]
    RATES_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    channel: str
    figures: StatsFigures
    rates: StatsRates
    pending: int
    def __init__(self, channel: _Optional[str] = ..., figures: _Optional[_Union[StatsFigures, _Mapping]] = ..., rates: _Optional[_Union[StatsRates, _Mapping]] = ..., pending: _Optional[int] = ...) -> None: ...

class StatsBucket(_message.Message):
    __slots__ = ("start", "channel", "figures")
    START_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    FIGURES_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    channel: str
    figures: StatsFigures
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., channel: _Optional[str] = ..., figures: _Optional[_Union[StatsFigures, _Mapping]] = ...) -> None: ...

class SendStats(_message.Message):
    __slots__ = ("send_ids", "total", "channels", "hours")
    SEND_IDS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    HOURS_FIELD_NUMBER: _ClassVar[int]
    send_ids: _containers.RepeatedScalarFieldContainer[str]
    total: ChannelStats
    channels: _containers.RepeatedCompositeFieldContainer[ChannelStats]
    hours: _containers.RepeatedCompositeFieldContainer[StatsBucket]
    def __init__(self, send_ids: _Optional[_Iterable[str]] = ..., total: _Optional[_Union[ChannelStats, _Mapping]] = ..., channels: _Optional[_Iterable[_Union[ChannelStats, _Mapping]]] = ..., hours: _Optional[_Iterable[_Union[StatsBucket, _Mapping]]] = ...) -> None: ...

class ExportSendStatsResponse(_message.Message):
    __slots__ = ("send_id", "channel", "bucket_start", "figures")
    SEND_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    BUCKET_START_FIELD_NUMBER: _ClassVar[int]
    FIGURES_FIELD_NUMBER: _ClassVar[int]
    send_id: str
    channel: str
    bucket_start: _timestamp_pb2.Timestamp
    figures: StatsFigures
    def __init__(self, send_id: _Optional[str] = ..., channel: _Optional[str] = ..., bucket_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., figures: _Optional[_Union[StatsFigures, _Mapping]] = ...) -> None: ...

class GetCampaignStatsRequest(_message.Message):
    __slots__ = ("campaign_id",)
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    def __init__(self, campaign_id: _Optional[str] = ...) -> None: ...

class ExportCampaignStatsRequest(_message.Message):
    __slots__ = ("campaign_id",)
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    def __init__(self, campaign_id: _Optional[str] = ...) -> None: ...

class OccurrenceStats(_message.Message):
    __slots__ = ("occurrence_key", "due_time", "send_id", "variant", "total", "channels")
    OCCURRENCE_KEY_FIELD_NUMBER: _ClassVar[int]
    DUE_TIME_FIELD_NUMBER: _ClassVar[int]
    SEND_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    occurrence_key: str
    due_time: _timestamp_pb2.Timestamp
    send_id: str
    variant: str
    total: ChannelStats
    channels: _containers.RepeatedCompositeFieldContainer[ChannelStats]
    def __init__(self, occurrence_key: _Optional[str] = ..., due_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., send_id: _Optional[str] = ..., variant: _Optional[str] = ..., total: _Optional[_Union[ChannelStats, _Mapping]] = ..., channels: _Optional[_Iterable[_Union[ChannelStats, _Mapping]]] = ...) -> None: ...

class VariantStats(_message.Message):
    __slots__ = ("variant", "total", "channels")
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    variant: str
    total: ChannelStats
    channels: _containers.RepeatedCompositeFieldContainer[ChannelStats]
    def __init__(self, variant: _Optional[str] = ..., total: _Optional[_Union[ChannelStats, _Mapping]] = ..., channels: _Optional[_Iterable[_Union[ChannelStats, _Mapping]]] = ...) -> None: ...

class CampaignStats(_message.Message):
    __slots__ = ("campaign_id", "campaign", "occurrences", "variants")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    OCCURRENCES_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    campaign: SendStats
    occurrences: _containers.RepeatedCompositeFieldContainer[OccurrenceStats]
    variants: _containers.RepeatedCompositeFieldContainer[VariantStats]
    def __init__(self, campaign_id: _Optional[str] = ..., campaign: _Optional[_Union[SendStats, _Mapping]] = ..., occurrences: _Optional[_Iterable[_Union[OccurrenceStats, _Mapping]]] = ..., variants: _Optional[_Iterable[_Union[VariantStats, _Mapping]]] = ...) -> None: ...

class ExportCampaignStatsResponse(_message.Message):
    __slots__ = ("occurrence_key", "send_id", "channel", "bucket_start", "figures", "variant")
    OCCURRENCE_KEY_FIELD_NUMBER: _ClassVar[int]
    SEND_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    BUCKET_START_FIELD_NUMBER: _ClassVar[int]
    FIGURES_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    occurrence_key: str
    send_id: str
    channel: str
    bucket_start: _timestamp_pb2.Timestamp
    figures: StatsFigures
    variant: str
    def __init__(self, occurrence_key: _Optional[str] = ..., send_id: _Optional[str] = ..., channel: _Optional[str] = ..., bucket_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., figures: _Optional[_Union[StatsFigures, _Mapping]] = ..., variant: _Optional[str] = ...) -> None: ...

class GetAutomationStatsRequest(_message.Message):
    __slots__ = ("automation_id",)
    AUTOMATION_ID_FIELD_NUMBER: _ClassVar[int]
    automation_id: str
    def __init__(self, automation_id: _Optional[str] = ...) -> None: ...

class ExportAutomationStatsRequest(_message.Message):
    __slots__ = ("automation_id",)
    AUTOMATION_ID_FIELD_NUMBER: _ClassVar[int]
    automation_id: str
    def __init__(self, automation_id: _Optional[str] = ...) -> None: ...

class AutomationFigures(_message.Message):
    __slots__ = ("entered", "inside", "left", "left_by_reason", "completed", "exited_by_exit_event", "archived", "messages", "sent", "failed", "delivered", "bounced", "opened", "clicked", "converted", "facts", "checkpoints", "capped", "grace_period", "quiet_hours_dropped", "quiet_hours_delayed")
    class LeftByReasonEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class FactsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ENTERED_FIELD_NUMBER: _ClassVar[int]
    INSIDE_FIELD_NUMBER: _ClassVar[int]
    LEFT_FIELD_NUMBER: _ClassVar[int]
    LEFT_BY_REASON_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    EXITED_BY_EXIT_EVENT_FIELD_NUMBER: _ClassVar[int]
    ARCHIVED_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    BOUNCED_FIELD_NUMBER: _ClassVar[int]
    OPENED_FIELD_NUMBER: _ClassVar[int]
    CLICKED_FIELD_NUMBER: _ClassVar[int]
    CONVERTED_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    CAPPED_FIELD_NUMBER: _ClassVar[int]
    GRACE_PERIOD_FIELD_NUMBER: _ClassVar[int]
    QUIET_HOURS_DROPPED_FIELD_NUMBER: _ClassVar[int]
    QUIET_HOURS_DELAYED_FIELD_NUMBER: _ClassVar[int]
    entered: int
    inside: int
    left: int
    left_by_reason: _containers.ScalarMap[str, int]
    completed: int
    exited_by_exit_event: int
    archived: int
    messages: int
    sent: int
    failed: int
    delivered: int
    bounced: int
    opened: int
    clicked: int
    converted: int
    facts: _containers.ScalarMap[str, int]
    checkpoints: int
    capped: int
    grace_period: int
    quiet_hours_dropped: int
    quiet_hours_delayed: int
    def __init__(self, entered: _Optional[int] = ..., inside: _Optional[int] = ..., left: _Optional[int] = ..., left_by_reason: _Optional[_Mapping[str, int]] = ..., completed: _Optional[int] = ..., exited_by_exit_event: _Optional[int] = ..., archived: _Optional[int] = ..., messages: _Optional[int] = ..., sent: _Optional[int] = ..., failed: _Optional[int] = ..., delivered: _Optional[int] = ..., bounced: _Optional[int] = ..., opened: _Optional[int] = ..., clicked: _Optional[int] = ..., converted: _Optional[int] = ..., facts: _Optional[_Mapping[str, int]] = ..., checkpoints: _Optional[int] = ..., capped: _Optional[int] = ..., grace_period: _Optional[int] = ..., quiet_hours_dropped: _Optional[int] = ..., quiet_hours_delayed: _Optional[int] = ...) -> None: ...

class AutomationRates(_message.Message):
    __slots__ = ("delivery", "open", "click", "conversion")
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    OPEN_FIELD_NUMBER: _ClassVar[int]
    CLICK_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_FIELD_NUMBER: _ClassVar[int]
    delivery: float
    open: float
    click: float
    conversion: float
    def __init__(self, delivery: _Optional[float] = ..., open: _Optional[float] = ..., click: _Optional[float] = ..., conversion: _Optional[float] = ...) -> None: ...

class AutomationStepStats(_message.Message):
    __slots__ = ("step_id", "kind", "figures", "rates")
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FIGURES_FIELD_NUMBER: _ClassVar[int]
    RATES_FIELD_NUMBER: _ClassVar[int]
    step_id: str
    kind: str
    figures: AutomationFigures
    rates: AutomationRates
    def __init__(self, step_id: _Optional[str] = ..., kind: _Optional[str] = ..., figures: _Optional[_Union[AutomationFigures, _Mapping]] = ..., rates: _Optional[_Union[AutomationRates, _Mapping]] = ...) -> None: ...

class AutomationVersionStats(_message.Message):
    __slots__ = ("version", "total", "rates", "steps")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    RATES_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    version: int
    total: AutomationFigures
    rates: AutomationRates
    steps: _containers.RepeatedCompositeFieldContainer[AutomationStepStats]
    def __init__(self, version: _Optional[int] = ..., total: _Optional[_Union[AutomationFigures, _Mapping]] = ..., rates: _Optional[_Union[AutomationRates, _Mapping]] = ..., steps: _Optional[_Iterable[_Union[AutomationStepStats, _Mapping]]] = ...) -> None: ...

class AutomationStats(_message.Message):
    __slots__ = ("automation_id", "total", "rates", "versions", "conversion_event", "conversion_window")
    AUTOMATION_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    RATES_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_EVENT_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_WINDOW_FIELD_NUMBER: _ClassVar[int]
    automation_id: str
    total: AutomationFigures
    rates: AutomationRates
    versions: _containers.RepeatedCompositeFieldContainer[AutomationVersionStats]
    conversion_event: str
    conversion_window: _duration_pb2.Duration
    def __init__(self, automation_id: _Optional[str] = ..., total: _Optional[_Union[AutomationFigures, _Mapping]] = ..., rates: _Optional[_Union[AutomationRates, _Mapping]] = ..., versions: _Optional[_Iterable[_Union[AutomationVersionStats, _Mapping]]] = ..., conversion_event: _Optional[str] = ..., conversion_window: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ExportAutomationStatsResponse(_message.Message):
    __slots__ = ("version", "step_id", "kind", "figures")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FIGURES_FIELD_NUMBER: _ClassVar[int]
    version: int
    step_id: str
    kind: str
    figures: AutomationFigures
    def __init__(self, version: _Optional[int] = ..., step_id: _Optional[str] = ..., kind: _Optional[str] = ..., figures: _Optional[_Union[AutomationFigures, _Mapping]] = ...) -> None: ...
