import datetime

from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChannelCapabilities(_message.Message):
    __slots__ = ("address_kind", "max_batch_size", "max_payload_bytes", "silent_push", "per_recipient_substitution", "default_rate_per_second")
    ADDRESS_KIND_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_PAYLOAD_BYTES_FIELD_NUMBER: _ClassVar[int]
    SILENT_PUSH_FIELD_NUMBER: _ClassVar[int]
    PER_RECIPIENT_SUBSTITUTION_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_RATE_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    address_kind: str
    max_batch_size: int
    max_payload_bytes: int
    silent_push: bool
    per_recipient_substitution: bool
    default_rate_per_second: float
    def __init__(self, address_kind: _Optional[str] = ..., max_batch_size: _Optional[int] = ..., max_payload_bytes: _Optional[int] = ..., silent_push: _Optional[bool] = ..., per_recipient_substitution: _Optional[bool] = ..., default_rate_per_second: _Optional[float] = ...) -> None: ...

class ChannelInfo(_message.Message):
    __slots__ = ("name", "description", "consent_scope", "capabilities", "config_fields")
    class ConfigFieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CONSENT_SCOPE_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    consent_scope: str
    capabilities: ChannelCapabilities
    config_fields: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., consent_scope: _Optional[str] = ..., capabilities: _Optional[_Union[ChannelCapabilities, _Mapping]] = ..., config_fields: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ListChannelsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListChannelsResponse(_message.Message):
    __slots__ = ("channels", "next_page_token")
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    channels: _containers.RepeatedCompositeFieldContainer[ChannelInfo]
    next_page_token: str
    def __init__(self, channels: _Optional[_Iterable[_Union[ChannelInfo, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SetChannelConfigRequest(_message.Message):
    __slots__ = ("channel", "config")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    channel: str
    config: _struct_pb2.Struct
    def __init__(self, channel: _Optional[str] = ..., config: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ChannelConfig(_message.Message):
    __slots__ = ("channel", "config", "updated_at", "webhook")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    channel: str
    config: _struct_pb2.Struct
    updated_at: _timestamp_pb2.Timestamp
    webhook: WebhookSetup
    def __init__(self, channel: _Optional[str] = ..., config: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., webhook: _Optional[_Union[WebhookSetup, _Mapping]] = ...) -> None: ...

class WebhookSetup(_message.Message):
    __slots__ = ("path", "credentials")
    class CredentialsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PATH_FIELD_NUMBER: _ClassVar[int]
    CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    path: str
    credentials: _containers.ScalarMap[str, str]
    def __init__(self, path: _Optional[str] = ..., credentials: _Optional[_Mapping[str, str]] = ...) -> None: ...

class GetChannelConfigRequest(_message.Message):
    __slots__ = ("channel",)
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    channel: str
    def __init__(self, channel: _Optional[str] = ...) -> None: ...

class DeleteChannelConfigRequest(_message.Message):
    __slots__ = ("channel",)
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    channel: str
    def __init__(self, channel: _Optional[str] = ...) -> None: ...

class ListDomainThrottlesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "channels")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    channels: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., channels: _Optional[_Iterable[str]] = ...) -> None: ...

class ListDomainThrottlesResponse(_message.Message):
    __slots__ = ("domains", "next_page_token")
    DOMAINS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    domains: _containers.RepeatedCompositeFieldContainer[DomainThrottle]
    next_page_token: str
    def __init__(self, domains: _Optional[_Iterable[_Union[DomainThrottle, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DomainThrottle(_message.Message):
    __slots__ = ("domain", "limit_per_second", "rate_per_second", "slowdown", "reason", "reason_hidden", "slowed_until", "slowed_workers")
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    LIMIT_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    RATE_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    SLOWDOWN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REASON_HIDDEN_FIELD_NUMBER: _ClassVar[int]
    SLOWED_UNTIL_FIELD_NUMBER: _ClassVar[int]
    SLOWED_WORKERS_FIELD_NUMBER: _ClassVar[int]
    domain: str
    limit_per_second: float
    rate_per_second: float
    slowdown: float
    reason: str
    reason_hidden: bool
    slowed_until: _timestamp_pb2.Timestamp
    slowed_workers: int
    def __init__(self, domain: _Optional[str] = ..., limit_per_second: _Optional[float] = ..., rate_per_second: _Optional[float] = ..., slowdown: _Optional[float] = ..., reason: _Optional[str] = ..., reason_hidden: _Optional[bool] = ..., slowed_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., slowed_workers: _Optional[int] = ...) -> None: ...
