"""Android/iOS/web push through the FCM HTTP v1 API with OAuth2 service-account tokens.

The hook implementations only; the token source, message builder, sender and emulator live in
sibling modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kernel.channels import (
    AddressKindSpec,
    Capabilities,
    ChannelSender,
    ChannelSpec,
    ConfigError,
    Emulator,
    MessageContent,
)
from kernel.plugins import hookimpl
from plugins.fcm.address import FCM_TOKEN
from plugins.fcm.config import CONFIG_FIELDS, FIELD, ServiceAccount
from plugins.fcm.emulator import FcmEmulator
from plugins.fcm.message import MAX_PAYLOAD_BYTES, is_reserved_data_key
from plugins.fcm.sender import FCM_BASE_URL, FcmSender

__all__ = ["SPEC"]

SPEC = ChannelSpec(
    name="push.fcm",
    description="Push to Android, iOS and web apps through Firebase Cloud Messaging (HTTP v1)",
    consent_scope="push",
    capabilities=Capabilities(
        address_kind=FCM_TOKEN.name,
        # One request per message, sent concurrently over one keep-alive session.
        max_batch_size=500,
        max_payload_bytes=MAX_PAYLOAD_BYTES,
        silent_push=True,
        # FCM's default quota: 600k messages per minute per project.
        default_rate_per_second=10_000.0,
    ),
    config_fields=CONFIG_FIELDS,
    secret_config_fields=frozenset({FIELD}),
)


@hookimpl
def herald_address_kinds() -> list[AddressKindSpec]:
    return [FCM_TOKEN]


@hookimpl
def herald_channels() -> list[ChannelSpec]:
    return [SPEC]


@hookimpl
def herald_validate_config(config: Mapping[str, Any]) -> Mapping[str, Any]:
    return {FIELD: dict(ServiceAccount.parse(config).info)}


@hookimpl
def herald_validate_template(template: MessageContent) -> None:
    for key in template.data:
        if is_reserved_data_key(key):
            raise ConfigError(
                f'data["{key}"]', "FCM reserves this key (from, message_type, google*, gcm*): rename it"
            )


@hookimpl
def herald_channel_sender(config: Mapping[str, Any], endpoint: str | None) -> ChannelSender:
    account = ServiceAccount.parse(config)
    if endpoint is None:
        return FcmSender(account, base_url=FCM_BASE_URL, token_uri=account.token_uri)
    # The emulator serves Google's token endpoint too.
    endpoint = endpoint.rstrip("/")
    return FcmSender(account, base_url=endpoint, token_uri=f"{endpoint}/token")


@hookimpl
def herald_channel_emulator() -> Emulator:
    return FcmEmulator()
