"""SMS through a Twilio-compatible Messages API.

The hook implementations only; the sender, segment counter, status-callback parser and emulator live
in sibling modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kernel.channels import (
    AddressKindSpec,
    Capabilities,
    ChannelSender,
    ChannelSpec,
    Emulator,
    FeedbackEvent,
    WebhookRequest,
)
from kernel.plugins import hookimpl
from plugins.sms.address import PHONE
from plugins.sms.config import CONFIG_FIELDS, TwilioConfig
from plugins.sms.emulator import TwilioEmulator
from plugins.sms.feedback import is_genuine, parse_status_callback, webhook_credentials
from plugins.sms.sender import MAX_BODY_CHARACTERS, TwilioSender

__all__ = ["SPEC"]

SPEC = ChannelSpec(
    name="sms.twilio",
    description="SMS through a Twilio-compatible Messages API, with E.164 checks and segment counting",
    consent_scope="sms",
    capabilities=Capabilities(
        address_kind=PHONE.name,
        # One request per message, sent concurrently.
        max_batch_size=100,
        # The Body limit: 1,600 characters of at most 4 UTF-8 bytes.
        max_payload_bytes=MAX_BODY_CHARACTERS * 4,
    ),
    config_fields=CONFIG_FIELDS,
    secret_config_fields=frozenset({"auth_token"}),
    # A status callback is one form of about fifteen short fields.
    max_webhook_bytes=64 * 1024,
)


@hookimpl
def herald_address_kinds() -> list[AddressKindSpec]:
    return [PHONE]


@hookimpl
def herald_channels() -> list[ChannelSpec]:
    return [SPEC]


@hookimpl
def herald_validate_config(config: Mapping[str, Any]) -> Mapping[str, Any]:
    return TwilioConfig.parse(config).as_mapping()


@hookimpl
def herald_channel_sender(config: Mapping[str, Any], endpoint: str | None) -> ChannelSender:
    parsed = TwilioConfig.parse(config)
    return TwilioSender(parsed, endpoint or parsed.base_url)


@hookimpl
def herald_verify_webhook(request: WebhookRequest, config: Mapping[str, Any]) -> bool:
    return is_genuine(request, TwilioConfig.parse(config))


@hookimpl
def herald_webhook_credentials() -> Mapping[str, str]:
    return webhook_credentials()


@hookimpl
def herald_parse_feedback(request: WebhookRequest) -> list[FeedbackEvent]:
    return parse_status_callback(request)


@hookimpl
def herald_channel_emulator() -> Emulator:
    return TwilioEmulator()
