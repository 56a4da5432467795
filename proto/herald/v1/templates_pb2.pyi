import datetime

from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from herald.v1 import common_pb2 as _common_pb2
from herald.v1 import messages_pb2 as _messages_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LanguageReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LANGUAGE_REASON_UNSPECIFIED: _ClassVar[LanguageReason]
    LANGUAGE_REASON_PROFILE: _ClassVar[LanguageReason]
    LANGUAGE_REASON_PROFILE_PRIMARY: _ClassVar[LanguageReason]
    LANGUAGE_REASON_PROJECT_DEFAULT: _ClassVar[LanguageReason]
    LANGUAGE_REASON_FALLBACK: _ClassVar[LanguageReason]
LANGUAGE_REASON_UNSPECIFIED: LanguageReason
LANGUAGE_REASON_PROFILE: LanguageReason
LANGUAGE_REASON_PROFILE_PRIMARY: LanguageReason
LANGUAGE_REASON_PROJECT_DEFAULT: LanguageReason
LANGUAGE_REASON_FALLBACK: LanguageReason

class Template(_message.Message):
    __slots__ = ("template_id", "name", "languages", "fallback_language", "defaults", "version", "create_time")
    class LanguagesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _messages_pb2.MessageTemplate
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_messages_pb2.MessageTemplate, _Mapping]] = ...) -> None: ...
    class DefaultsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    DEFAULTS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    name: str
    languages: _containers.MessageMap[str, _messages_pb2.MessageTemplate]
    fallback_language: str
    defaults: _containers.ScalarMap[str, str]
    version: int
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, template_id: _Optional[str] = ..., name: _Optional[str] = ..., languages: _Optional[_Mapping[str, _messages_pb2.MessageTemplate]] = ..., fallback_language: _Optional[str] = ..., defaults: _Optional[_Mapping[str, str]] = ..., version: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateTemplateRequest(_message.Message):
    __slots__ = ("template",)
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    template: Template
    def __init__(self, template: _Optional[_Union[Template, _Mapping]] = ...) -> None: ...

class GetTemplateRequest(_message.Message):
    __slots__ = ("template_id", "version")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    version: int
    def __init__(self, template_id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class UpdateTemplateRequest(_message.Message):
    __slots__ = ("template", "update_mask")
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    template: Template
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, template: _Optional[_Union[Template, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteTemplateRequest(_message.Message):
    __slots__ = ("template_id",)
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    def __init__(self, template_id: _Optional[str] = ...) -> None: ...

class ListTemplatesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTemplatesResponse(_message.Message):
    __slots__ = ("templates", "next_page_token")
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    templates: _containers.RepeatedCompositeFieldContainer[Template]
    next_page_token: str
    def __init__(self, templates: _Optional[_Iterable[_Union[Template, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RenderTemplateRequest(_message.Message):
    __slots__ = ("saved", "inline", "profile", "channel", "campaign_data")
    class CampaignDataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SAVED_FIELD_NUMBER: _ClassVar[int]
    INLINE_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_DATA_FIELD_NUMBER: _ClassVar[int]
    saved: _messages_pb2.TemplateRef
    inline: Template
    profile: _common_pb2.ProfileRef
    channel: str
    campaign_data: _containers.ScalarMap[str, str]
    def __init__(self, saved: _Optional[_Union[_messages_pb2.TemplateRef, _Mapping]] = ..., inline: _Optional[_Union[Template, _Mapping]] = ..., profile: _Optional[_Union[_common_pb2.ProfileRef, _Mapping]] = ..., channel: _Optional[str] = ..., campaign_data: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RenderTemplateResponse(_message.Message):
    __slots__ = ("rendered", "language", "language_reason", "payload_bytes", "max_payload_bytes", "too_large", "version")
    RENDERED_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_REASON_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_PAYLOAD_BYTES_FIELD_NUMBER: _ClassVar[int]
    TOO_LARGE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    rendered: _messages_pb2.MessageTemplate
    language: str
    language_reason: LanguageReason
    payload_bytes: int
    max_payload_bytes: int
    too_large: bool
    version: int
    def __init__(self, rendered: _Optional[_Union[_messages_pb2.MessageTemplate, _Mapping]] = ..., language: _Optional[str] = ..., language_reason: _Optional[_Union[LanguageReason, str]] = ..., payload_bytes: _Optional[int] = ..., max_payload_bytes: _Optional[int] = ..., too_large: _Optional[bool] = ..., version: _Optional[int] = ...) -> None: ...
