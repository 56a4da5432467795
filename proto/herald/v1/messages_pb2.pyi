from herald.v1 import common_pb2 as _common_pb2
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
DELIVERY_STATUS_UNSPECIFIED: DeliveryStatus
DELIVERY_STATUS_ACCEPTED: DeliveryStatus
DELIVERY_STATUS_FAILED: DeliveryStatus
DELIVERY_STATUS_RETRY_SCHEDULED: DeliveryStatus
DELIVERY_STATUS_SUPPRESSED: DeliveryStatus
DELIVERY_STATUS_NO_ADDRESS: DeliveryStatus

class MessageTemplate(_message.Message):
    __slots__ = ("subject", "html", "text", "from_address", "from_name", "reply_to", "title", "body", "data", "silent", "badge", "sound", "collapse_key", "priority", "ttl_seconds", "url", "campaign")
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
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
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
    ttl_seconds: int
    url: str
    campaign: str
    def __init__(self, subject: _Optional[str] = ..., html: _Optional[str] = ..., text: _Optional[str] = ..., from_address: _Optional[str] = ..., from_name: _Optional[str] = ..., reply_to: _Optional[str] = ..., title: _Optional[str] = ..., body: _Optional[str] = ..., data: _Optional[_Mapping[str, str]] = ..., silent: _Optional[bool] = ..., badge: _Optional[int] = ..., sound: _Optional[str] = ..., collapse_key: _Optional[str] = ..., priority: _Optional[str] = ..., ttl_seconds: _Optional[int] = ..., url: _Optional[str] = ..., campaign: _Optional[str] = ...) -> None: ...

class SendTransactionalRequest(_message.Message):
    __slots__ = ("profile", "address", "channels", "template", "data", "idempotency_key")
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
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    profile: _common_pb2.ProfileRef
    address: _common_pb2.Address
    channels: _containers.RepeatedScalarFieldContainer[str]
    template: MessageTemplate
    data: _containers.MessageMap[str, _common_pb2.AttributeValue]
    idempotency_key: str
    def __init__(self, profile: _Optional[_Union[_common_pb2.ProfileRef, _Mapping]] = ..., address: _Optional[_Union[_common_pb2.Address, _Mapping]] = ..., channels: _Optional[_Iterable[str]] = ..., template: _Optional[_Union[MessageTemplate, _Mapping]] = ..., data: _Optional[_Mapping[str, _common_pb2.AttributeValue]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

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
    __slots__ = ("deliveries", "replayed")
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[Delivery]
    replayed: bool
    def __init__(self, deliveries: _Optional[_Iterable[_Union[Delivery, _Mapping]]] = ..., replayed: _Optional[bool] = ...) -> None: ...
