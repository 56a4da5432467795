import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from herald.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class IdentityKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IDENTITY_KIND_UNSPECIFIED: _ClassVar[IdentityKind]
    IDENTITY_KIND_CUSTOM: _ClassVar[IdentityKind]
    IDENTITY_KIND_ANONYMOUS: _ClassVar[IdentityKind]

class IdentifyOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IDENTIFY_OUTCOME_UNSPECIFIED: _ClassVar[IdentifyOutcome]
    IDENTIFY_OUTCOME_LINKED: _ClassVar[IdentifyOutcome]
    IDENTIFY_OUTCOME_MERGED: _ClassVar[IdentifyOutcome]
    IDENTIFY_OUTCOME_ALREADY_IDENTIFIED: _ClassVar[IdentifyOutcome]
    IDENTIFY_OUTCOME_REASSIGNED: _ClassVar[IdentifyOutcome]
IDENTITY_KIND_UNSPECIFIED: IdentityKind
IDENTITY_KIND_CUSTOM: IdentityKind
IDENTITY_KIND_ANONYMOUS: IdentityKind
IDENTIFY_OUTCOME_UNSPECIFIED: IdentifyOutcome
IDENTIFY_OUTCOME_LINKED: IdentifyOutcome
IDENTIFY_OUTCOME_MERGED: IdentifyOutcome
IDENTIFY_OUTCOME_ALREADY_IDENTIFIED: IdentifyOutcome
IDENTIFY_OUTCOME_REASSIGNED: IdentifyOutcome

class UpsertProfileRequest(_message.Message):
    __slots__ = ("profile", "attributes", "remove_attributes", "add_addresses", "remove_addresses", "subscriptions", "observed_at")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.AttributeValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.AttributeValue, _Mapping]] = ...) -> None: ...
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    REMOVE_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    ADD_ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    REMOVE_ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
    profile: _common_pb2.ProfileRef
    attributes: _containers.MessageMap[str, _common_pb2.AttributeValue]
    remove_attributes: _containers.RepeatedScalarFieldContainer[str]
    add_addresses: _containers.RepeatedCompositeFieldContainer[_common_pb2.Address]
    remove_addresses: _containers.RepeatedCompositeFieldContainer[_common_pb2.Address]
    subscriptions: _containers.RepeatedCompositeFieldContainer[_common_pb2.Subscription]
    observed_at: _timestamp_pb2.Timestamp
    def __init__(self, profile: _Optional[_Union[_common_pb2.ProfileRef, _Mapping]] = ..., attributes: _Optional[_Mapping[str, _common_pb2.AttributeValue]] = ..., remove_attributes: _Optional[_Iterable[str]] = ..., add_addresses: _Optional[_Iterable[_Union[_common_pb2.Address, _Mapping]]] = ..., remove_addresses: _Optional[_Iterable[_Union[_common_pb2.Address, _Mapping]]] = ..., subscriptions: _Optional[_Iterable[_Union[_common_pb2.Subscription, _Mapping]]] = ..., observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UpsertProfileResponse(_message.Message):
    __slots__ = ("profile_id", "created")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    created: bool
    def __init__(self, profile_id: _Optional[str] = ..., created: _Optional[bool] = ...) -> None: ...

class GetProfileRequest(_message.Message):
    __slots__ = ("profile", "recent_events")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    RECENT_EVENTS_FIELD_NUMBER: _ClassVar[int]
    profile: _common_pb2.ProfileRef
    recent_events: int
    def __init__(self, profile: _Optional[_Union[_common_pb2.ProfileRef, _Mapping]] = ..., recent_events: _Optional[int] = ...) -> None: ...

class Identity(_message.Message):
    __slots__ = ("kind", "value")
    KIND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    kind: IdentityKind
    value: str
    def __init__(self, kind: _Optional[_Union[IdentityKind, str]] = ..., value: _Optional[str] = ...) -> None: ...

class ProfileEvent(_message.Message):
    __slots__ = ("name", "time", "attributes", "event_id", "received_at")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.AttributeValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.AttributeValue, _Mapping]] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    time: _timestamp_pb2.Timestamp
    attributes: _containers.MessageMap[str, _common_pb2.AttributeValue]
    event_id: str
    received_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attributes: _Optional[_Mapping[str, _common_pb2.AttributeValue]] = ..., event_id: _Optional[str] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ProfileView(_message.Message):
    __slots__ = ("profile_id", "custom_id", "identities", "attributes", "addresses", "subscriptions", "created_at", "updated_at", "last_seen_at", "recent_events", "next_events_page_token")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.AttributeValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.AttributeValue, _Mapping]] = ...) -> None: ...
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITIES_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_AT_FIELD_NUMBER: _ClassVar[int]
    RECENT_EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_EVENTS_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    custom_id: str
    identities: _containers.RepeatedCompositeFieldContainer[Identity]
    attributes: _containers.MessageMap[str, _common_pb2.AttributeValue]
    addresses: _containers.RepeatedCompositeFieldContainer[_common_pb2.Address]
    subscriptions: _containers.RepeatedCompositeFieldContainer[_common_pb2.Subscription]
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    last_seen_at: _timestamp_pb2.Timestamp
    recent_events: _containers.RepeatedCompositeFieldContainer[ProfileEvent]
    next_events_page_token: str
    def __init__(self, profile_id: _Optional[str] = ..., custom_id: _Optional[str] = ..., identities: _Optional[_Iterable[_Union[Identity, _Mapping]]] = ..., attributes: _Optional[_Mapping[str, _common_pb2.AttributeValue]] = ..., addresses: _Optional[_Iterable[_Union[_common_pb2.Address, _Mapping]]] = ..., subscriptions: _Optional[_Iterable[_Union[_common_pb2.Subscription, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_seen_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., recent_events: _Optional[_Iterable[_Union[ProfileEvent, _Mapping]]] = ..., next_events_page_token: _Optional[str] = ...) -> None: ...

class ListProfileEventsRequest(_message.Message):
    __slots__ = ("profile", "page_size", "page_token")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    profile: _common_pb2.ProfileRef
    page_size: int
    page_token: str
    def __init__(self, profile: _Optional[_Union[_common_pb2.ProfileRef, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListProfileEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[ProfileEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[ProfileEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class TrackedEvent(_message.Message):
    __slots__ = ("profile", "name", "time", "attributes", "event_id")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.AttributeValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.AttributeValue, _Mapping]] = ...) -> None: ...
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    profile: _common_pb2.ProfileRef
    name: str
    time: _timestamp_pb2.Timestamp
    attributes: _containers.MessageMap[str, _common_pb2.AttributeValue]
    event_id: str
    def __init__(self, profile: _Optional[_Union[_common_pb2.ProfileRef, _Mapping]] = ..., name: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attributes: _Optional[_Mapping[str, _common_pb2.AttributeValue]] = ..., event_id: _Optional[str] = ...) -> None: ...

class TrackEventsRequest(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[TrackedEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[TrackedEvent, _Mapping]]] = ...) -> None: ...

class TrackEventsResponse(_message.Message):
    __slots__ = ("accepted", "duplicates", "suppressed")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    duplicates: int
    suppressed: int
    def __init__(self, accepted: _Optional[int] = ..., duplicates: _Optional[int] = ..., suppressed: _Optional[int] = ...) -> None: ...

class StreamEventsRequest(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[TrackedEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[TrackedEvent, _Mapping]]] = ...) -> None: ...

class StreamEventsResponse(_message.Message):
    __slots__ = ("accepted", "duplicates", "suppressed")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    duplicates: int
    suppressed: int
    def __init__(self, accepted: _Optional[int] = ..., duplicates: _Optional[int] = ..., suppressed: _Optional[int] = ...) -> None: ...

class IdentifyRequest(_message.Message):
    __slots__ = ("anonymous_id", "custom_id")
    ANONYMOUS_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_ID_FIELD_NUMBER: _ClassVar[int]
    anonymous_id: str
    custom_id: str
    def __init__(self, anonymous_id: _Optional[str] = ..., custom_id: _Optional[str] = ...) -> None: ...

class IdentifyResponse(_message.Message):
    __slots__ = ("profile_id", "outcome", "merged_profile_id")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    MERGED_PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    outcome: IdentifyOutcome
    merged_profile_id: str
    def __init__(self, profile_id: _Optional[str] = ..., outcome: _Optional[_Union[IdentifyOutcome, str]] = ..., merged_profile_id: _Optional[str] = ...) -> None: ...

class MergeProfilesRequest(_message.Message):
    __slots__ = ("source", "target")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    source: _common_pb2.ProfileRef
    target: _common_pb2.ProfileRef
    def __init__(self, source: _Optional[_Union[_common_pb2.ProfileRef, _Mapping]] = ..., target: _Optional[_Union[_common_pb2.ProfileRef, _Mapping]] = ...) -> None: ...

class MergeProfilesResponse(_message.Message):
    __slots__ = ("profile_id", "merge_id")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    MERGE_ID_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    merge_id: str
    def __init__(self, profile_id: _Optional[str] = ..., merge_id: _Optional[str] = ...) -> None: ...

class EraseProfileRequest(_message.Message):
    __slots__ = ("profile", "suppress")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    SUPPRESS_FIELD_NUMBER: _ClassVar[int]
    profile: _common_pb2.ProfileRef
    suppress: bool
    def __init__(self, profile: _Optional[_Union[_common_pb2.ProfileRef, _Mapping]] = ..., suppress: _Optional[bool] = ...) -> None: ...

class EraseProfileResponse(_message.Message):
    __slots__ = ("profile_id", "events_erased", "suppressed")
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    EVENTS_ERASED_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    profile_id: str
    events_erased: int
    suppressed: bool
    def __init__(self, profile_id: _Optional[str] = ..., events_erased: _Optional[int] = ..., suppressed: _Optional[bool] = ...) -> None: ...

class ExportProfileRequest(_message.Message):
    __slots__ = ("profile",)
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    profile: _common_pb2.ProfileRef
    def __init__(self, profile: _Optional[_Union[_common_pb2.ProfileRef, _Mapping]] = ...) -> None: ...

class ExportProfileResponse(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class PurgeInactiveProfilesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PurgeInactiveProfilesResponse(_message.Message):
    __slots__ = ("profiles_purged",)
    PROFILES_PURGED_FIELD_NUMBER: _ClassVar[int]
    profiles_purged: int
    def __init__(self, profiles_purged: _Optional[int] = ...) -> None: ...

class ImportProfilesRequest(_message.Message):
    __slots__ = ("profiles", "jsonl_lines")
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    JSONL_LINES_FIELD_NUMBER: _ClassVar[int]
    profiles: _containers.RepeatedCompositeFieldContainer[UpsertProfileRequest]
    jsonl_lines: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, profiles: _Optional[_Iterable[_Union[UpsertProfileRequest, _Mapping]]] = ..., jsonl_lines: _Optional[_Iterable[bytes]] = ...) -> None: ...

class ImportRejection(_message.Message):
    __slots__ = ("index", "field", "reason")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    index: int
    field: str
    reason: str
    def __init__(self, index: _Optional[int] = ..., field: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ImportProfilesResponse(_message.Message):
    __slots__ = ("imported", "created", "rejected", "rejections")
    IMPORTED_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    imported: int
    created: int
    rejected: int
    rejections: _containers.RepeatedCompositeFieldContainer[ImportRejection]
    def __init__(self, imported: _Optional[int] = ..., created: _Optional[int] = ..., rejected: _Optional[int] = ..., rejections: _Optional[_Iterable[_Union[ImportRejection, _Mapping]]] = ...) -> None: ...
