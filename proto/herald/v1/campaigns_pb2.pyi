import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
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

class CampaignState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CAMPAIGN_STATE_UNSPECIFIED: _ClassVar[CampaignState]
    CAMPAIGN_STATE_DRAFT: _ClassVar[CampaignState]
    CAMPAIGN_STATE_SCHEDULED: _ClassVar[CampaignState]
    CAMPAIGN_STATE_RUNNING: _ClassVar[CampaignState]
    CAMPAIGN_STATE_COMPLETED: _ClassVar[CampaignState]
    CAMPAIGN_STATE_CANCELLED: _ClassVar[CampaignState]

class DayOfWeek(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DAY_OF_WEEK_UNSPECIFIED: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_MONDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_TUESDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_WEDNESDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_THURSDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_FRIDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_SATURDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_SUNDAY: _ClassVar[DayOfWeek]

class WinnerMetric(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WINNER_METRIC_UNSPECIFIED: _ClassVar[WinnerMetric]
    WINNER_METRIC_OPEN_RATE: _ClassVar[WinnerMetric]
    WINNER_METRIC_CLICK_RATE: _ClassVar[WinnerMetric]
    WINNER_METRIC_CONVERSION_RATE: _ClassVar[WinnerMetric]
CAMPAIGN_STATE_UNSPECIFIED: CampaignState
CAMPAIGN_STATE_DRAFT: CampaignState
CAMPAIGN_STATE_SCHEDULED: CampaignState
CAMPAIGN_STATE_RUNNING: CampaignState
CAMPAIGN_STATE_COMPLETED: CampaignState
CAMPAIGN_STATE_CANCELLED: CampaignState
DAY_OF_WEEK_UNSPECIFIED: DayOfWeek
DAY_OF_WEEK_MONDAY: DayOfWeek
DAY_OF_WEEK_TUESDAY: DayOfWeek
DAY_OF_WEEK_WEDNESDAY: DayOfWeek
DAY_OF_WEEK_THURSDAY: DayOfWeek
DAY_OF_WEEK_FRIDAY: DayOfWeek
DAY_OF_WEEK_SATURDAY: DayOfWeek
DAY_OF_WEEK_SUNDAY: DayOfWeek
WINNER_METRIC_UNSPECIFIED: WinnerMetric
WINNER_METRIC_OPEN_RATE: WinnerMetric
WINNER_METRIC_CLICK_RATE: WinnerMetric
WINNER_METRIC_CONVERSION_RATE: WinnerMetric

class CampaignChannel(_message.Message):
    __slots__ = ("channel", "template", "saved_template")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    SAVED_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    channel: str
    template: _messages_pb2.MessageTemplate
    saved_template: _messages_pb2.TemplateRef
    def __init__(self, channel: _Optional[str] = ..., template: _Optional[_Union[_messages_pb2.MessageTemplate, _Mapping]] = ..., saved_template: _Optional[_Union[_messages_pb2.TemplateRef, _Mapping]] = ...) -> None: ...

class LocalDate(_message.Message):
    __slots__ = ("year", "month", "day")
    YEAR_FIELD_NUMBER: _ClassVar[int]
    MONTH_FIELD_NUMBER: _ClassVar[int]
    DAY_FIELD_NUMBER: _ClassVar[int]
    year: int
    month: int
    day: int
    def __init__(self, year: _Optional[int] = ..., month: _Optional[int] = ..., day: _Optional[int] = ...) -> None: ...

class LocalTime(_message.Message):
    __slots__ = ("hours", "minutes")
    HOURS_FIELD_NUMBER: _ClassVar[int]
    MINUTES_FIELD_NUMBER: _ClassVar[int]
    hours: int
    minutes: int
    def __init__(self, hours: _Optional[int] = ..., minutes: _Optional[int] = ...) -> None: ...

class LocalDateTime(_message.Message):
    __slots__ = ("date", "time")
    DATE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    date: LocalDate
    time: LocalTime
    def __init__(self, date: _Optional[_Union[LocalDate, _Mapping]] = ..., time: _Optional[_Union[LocalTime, _Mapping]] = ...) -> None: ...

class DailyRule(_message.Message):
    __slots__ = ("time",)
    TIME_FIELD_NUMBER: _ClassVar[int]
    time: LocalTime
    def __init__(self, time: _Optional[_Union[LocalTime, _Mapping]] = ...) -> None: ...

class WeeklyRule(_message.Message):
    __slots__ = ("days", "time")
    DAYS_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    days: _containers.RepeatedScalarFieldContainer[DayOfWeek]
    time: LocalTime
    def __init__(self, days: _Optional[_Iterable[_Union[DayOfWeek, str]]] = ..., time: _Optional[_Union[LocalTime, _Mapping]] = ...) -> None: ...

class MonthlyRule(_message.Message):
    __slots__ = ("day_of_month", "time")
    DAY_OF_MONTH_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    day_of_month: int
    time: LocalTime
    def __init__(self, day_of_month: _Optional[int] = ..., time: _Optional[_Union[LocalTime, _Mapping]] = ...) -> None: ...

class Recurrence(_message.Message):
    __slots__ = ("timezone", "daily", "weekly", "monthly", "cron", "start_date", "end_date")
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    DAILY_FIELD_NUMBER: _ClassVar[int]
    WEEKLY_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_FIELD_NUMBER: _ClassVar[int]
    CRON_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    timezone: str
    daily: DailyRule
    weekly: WeeklyRule
    monthly: MonthlyRule
    cron: str
    start_date: LocalDate
    end_date: LocalDate
    def __init__(self, timezone: _Optional[str] = ..., daily: _Optional[_Union[DailyRule, _Mapping]] = ..., weekly: _Optional[_Union[WeeklyRule, _Mapping]] = ..., monthly: _Optional[_Union[MonthlyRule, _Mapping]] = ..., cron: _Optional[str] = ..., start_date: _Optional[_Union[LocalDate, _Mapping]] = ..., end_date: _Optional[_Union[LocalDate, _Mapping]] = ...) -> None: ...

class SendNow(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CampaignSchedule(_message.Message):
    __slots__ = ("now", "at", "at_local", "recipient_local", "recurring")
    NOW_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    AT_LOCAL_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_LOCAL_FIELD_NUMBER: _ClassVar[int]
    RECURRING_FIELD_NUMBER: _ClassVar[int]
    now: SendNow
    at: _timestamp_pb2.Timestamp
    at_local: LocalDateTime
    recipient_local: LocalDateTime
    recurring: Recurrence
    def __init__(self, now: _Optional[_Union[SendNow, _Mapping]] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., at_local: _Optional[_Union[LocalDateTime, _Mapping]] = ..., recipient_local: _Optional[_Union[LocalDateTime, _Mapping]] = ..., recurring: _Optional[_Union[Recurrence, _Mapping]] = ...) -> None: ...

class CampaignOccurrence(_message.Message):
    __slots__ = ("occurrence_key", "due_time", "send_id", "time_zones", "without_time_zone", "error")
    OCCURRENCE_KEY_FIELD_NUMBER: _ClassVar[int]
    DUE_TIME_FIELD_NUMBER: _ClassVar[int]
    SEND_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONES_FIELD_NUMBER: _ClassVar[int]
    WITHOUT_TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    occurrence_key: str
    due_time: _timestamp_pb2.Timestamp
    send_id: str
    time_zones: _containers.RepeatedScalarFieldContainer[str]
    without_time_zone: bool
    error: str
    def __init__(self, occurrence_key: _Optional[str] = ..., due_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., send_id: _Optional[str] = ..., time_zones: _Optional[_Iterable[str]] = ..., without_time_zone: _Optional[bool] = ..., error: _Optional[str] = ...) -> None: ...

class Campaign(_message.Message):
    __slots__ = ("campaign_id", "name", "state", "all_reachable", "profiles", "segments", "channels", "purpose", "pacing", "unpaced", "domains", "require_opt_in", "schedule", "occurrences", "create_time", "update_time", "channel_priority", "conversion_event", "conversion_window", "campaign_data", "ab_test", "ab_result")
    class CampaignDataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ALL_REACHABLE_FIELD_NUMBER: _ClassVar[int]
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    PACING_FIELD_NUMBER: _ClassVar[int]
    UNPACED_FIELD_NUMBER: _ClassVar[int]
    DOMAINS_FIELD_NUMBER: _ClassVar[int]
    REQUIRE_OPT_IN_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    OCCURRENCES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_PRIORITY_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_EVENT_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_WINDOW_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_DATA_FIELD_NUMBER: _ClassVar[int]
    AB_TEST_FIELD_NUMBER: _ClassVar[int]
    AB_RESULT_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    name: str
    state: CampaignState
    all_reachable: _messages_pb2.AllReachable
    profiles: _messages_pb2.ProfileList
    segments: _segments_pb2.SegmentSelection
    channels: _containers.RepeatedCompositeFieldContainer[CampaignChannel]
    purpose: _common_pb2.Purpose
    pacing: _messages_pb2.Pacing
    unpaced: bool
    domains: _messages_pb2.DomainFilter
    require_opt_in: bool
    schedule: CampaignSchedule
    occurrences: _containers.RepeatedCompositeFieldContainer[CampaignOccurrence]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    channel_priority: bool
    conversion_event: str
    conversion_window: _duration_pb2.Duration
    campaign_data: _containers.ScalarMap[str, str]
    ab_test: AbTest
    ab_result: AbTestResult
    def __init__(self, campaign_id: _Optional[str] = ..., name: _Optional[str] = ..., state: _Optional[_Union[CampaignState, str]] = ..., all_reachable: _Optional[_Union[_messages_pb2.AllReachable, _Mapping]] = ..., profiles: _Optional[_Union[_messages_pb2.ProfileList, _Mapping]] = ..., segments: _Optional[_Union[_segments_pb2.SegmentSelection, _Mapping]] = ..., channels: _Optional[_Iterable[_Union[CampaignChannel, _Mapping]]] = ..., purpose: _Optional[_Union[_common_pb2.Purpose, str]] = ..., pacing: _Optional[_Union[_messages_pb2.Pacing, _Mapping]] = ..., unpaced: _Optional[bool] = ..., domains: _Optional[_Union[_messages_pb2.DomainFilter, _Mapping]] = ..., require_opt_in: _Optional[bool] = ..., schedule: _Optional[_Union[CampaignSchedule, _Mapping]] = ..., occurrences: _Optional[_Iterable[_Union[CampaignOccurrence, _Mapping]]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., channel_priority: _Optional[bool] = ..., conversion_event: _Optional[str] = ..., conversion_window: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., campaign_data: _Optional[_Mapping[str, str]] = ..., ab_test: _Optional[_Union[AbTest, _Mapping]] = ..., ab_result: _Optional[_Union[AbTestResult, _Mapping]] = ...) -> None: ...

class CampaignVariant(_message.Message):
    __slots__ = ("name", "channels", "share")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    name: str
    channels: _containers.RepeatedCompositeFieldContainer[CampaignChannel]
    share: float
    def __init__(self, name: _Optional[str] = ..., channels: _Optional[_Iterable[_Union[CampaignChannel, _Mapping]]] = ..., share: _Optional[float] = ...) -> None: ...

class AbTest(_message.Message):
    __slots__ = ("variants", "holdout_share", "test_fraction", "test_period", "metric", "conversion_event", "conversion_window")
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    HOLDOUT_SHARE_FIELD_NUMBER: _ClassVar[int]
    TEST_FRACTION_FIELD_NUMBER: _ClassVar[int]
    TEST_PERIOD_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_EVENT_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_WINDOW_FIELD_NUMBER: _ClassVar[int]
    variants: _containers.RepeatedCompositeFieldContainer[CampaignVariant]
    holdout_share: float
    test_fraction: float
    test_period: _duration_pb2.Duration
    metric: WinnerMetric
    conversion_event: str
    conversion_window: _duration_pb2.Duration
    def __init__(self, variants: _Optional[_Iterable[_Union[CampaignVariant, _Mapping]]] = ..., holdout_share: _Optional[float] = ..., test_fraction: _Optional[float] = ..., test_period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., metric: _Optional[_Union[WinnerMetric, str]] = ..., conversion_event: _Optional[str] = ..., conversion_window: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class AbVariantResult(_message.Message):
    __slots__ = ("name", "send_id", "sent", "delivered", "opened", "clicked", "converted", "metric_value", "chosen_value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SEND_ID_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    OPENED_FIELD_NUMBER: _ClassVar[int]
    CLICKED_FIELD_NUMBER: _ClassVar[int]
    CONVERTED_FIELD_NUMBER: _ClassVar[int]
    METRIC_VALUE_FIELD_NUMBER: _ClassVar[int]
    CHOSEN_VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    send_id: str
    sent: int
    delivered: int
    opened: int
    clicked: int
    converted: int
    metric_value: float
    chosen_value: float
    def __init__(self, name: _Optional[str] = ..., send_id: _Optional[str] = ..., sent: _Optional[int] = ..., delivered: _Optional[int] = ..., opened: _Optional[int] = ..., clicked: _Optional[int] = ..., converted: _Optional[int] = ..., metric_value: _Optional[float] = ..., chosen_value: _Optional[float] = ...) -> None: ...

class AbTestResult(_message.Message):
    __slots__ = ("variants", "holdout_profiles", "decision_due_time", "winner", "decision_time", "remainder_send_id")
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    HOLDOUT_PROFILES_FIELD_NUMBER: _ClassVar[int]
    DECISION_DUE_TIME_FIELD_NUMBER: _ClassVar[int]
    WINNER_FIELD_NUMBER: _ClassVar[int]
    DECISION_TIME_FIELD_NUMBER: _ClassVar[int]
    REMAINDER_SEND_ID_FIELD_NUMBER: _ClassVar[int]
    variants: _containers.RepeatedCompositeFieldContainer[AbVariantResult]
    holdout_profiles: int
    decision_due_time: _timestamp_pb2.Timestamp
    winner: str
    decision_time: _timestamp_pb2.Timestamp
    remainder_send_id: str
    def __init__(self, variants: _Optional[_Iterable[_Union[AbVariantResult, _Mapping]]] = ..., holdout_profiles: _Optional[int] = ..., decision_due_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., winner: _Optional[str] = ..., decision_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., remainder_send_id: _Optional[str] = ...) -> None: ...

class CreateCampaignRequest(_message.Message):
    __slots__ = ("campaign", "request_id")
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    campaign: Campaign
    request_id: str
    def __init__(self, campaign: _Optional[_Union[Campaign, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateCampaignRequest(_message.Message):
    __slots__ = ("campaign", "update_mask")
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    campaign: Campaign
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, campaign: _Optional[_Union[Campaign, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class ScheduleCampaignRequest(_message.Message):
    __slots__ = ("campaign_id",)
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    def __init__(self, campaign_id: _Optional[str] = ...) -> None: ...

class CancelCampaignRequest(_message.Message):
    __slots__ = ("campaign_id",)
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    def __init__(self, campaign_id: _Optional[str] = ...) -> None: ...

class GetCampaignRequest(_message.Message):
    __slots__ = ("campaign_id",)
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    def __init__(self, campaign_id: _Optional[str] = ...) -> None: ...

class ListCampaignsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "states")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    states: _containers.RepeatedScalarFieldContainer[CampaignState]
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., states: _Optional[_Iterable[_Union[CampaignState, str]]] = ...) -> None: ...

class ListCampaignsResponse(_message.Message):
    __slots__ = ("campaigns", "next_page_token")
    CAMPAIGNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    campaigns: _containers.RepeatedCompositeFieldContainer[Campaign]
    next_page_token: str
    def __init__(self, campaigns: _Optional[_Iterable[_Union[Campaign, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SendTestCampaignRequest(_message.Message):
    __slots__ = ("campaign_id", "profiles")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    profiles: _messages_pb2.ProfileList
    def __init__(self, campaign_id: _Optional[str] = ..., profiles: _Optional[_Union[_messages_pb2.ProfileList, _Mapping]] = ...) -> None: ...
