"""Email through SparkPost's Transmissions API.

The hook implementations only; the sender, webhook parser and emulator live in sibling modules.
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
    FeedbackEvent,
    MessageContent,
    WebhookRequest,
)
from kernel.plugins import hookimpl
from plugins._email import refuse_header_line_breaks
from plugins._email_address import EMAIL
from plugins.sparkpost.config import CONFIG_FIELDS, SparkPostConfig
from plugins.sparkpost.emulator import SparkPostEmulator
from plugins.sparkpost.feedback import is_genuine, parse_events, webhook_credentials
from plugins.sparkpost.sender import CONTENT_LIMIT, SparkPostSender

__all__ = ["SPEC"]

#: SparkPost's documented maximum length of a transmission's campaign_id.
MAX_CAMPAIGN_BYTES = 64

SPEC = ChannelSpec(
    name="email.sparkpost",
    description="Email through SparkPost's Transmissions API, personalised by SparkPost per recipient",
    consent_scope="email",
    capabilities=Capabilities(
        address_kind=EMAIL.name,
        # SparkPost: "sending 10 transmissions of 2,000 recipients each is more efficient than sending
        # 4 transmissions of 5,000 recipients"; no documented per-second account limit.
        max_batch_size=2000,
        max_payload_bytes=CONTENT_LIMIT,
        per_recipient_substitution=True,
        # Triple braces: SparkPost inserts the value as it is, never interpreted. Herald renders the
        # values, HTML-escaped in the html part (kernel.delivery.templates), and not in the others.
        substitution_placeholder="{{{%s}}}",
    ),
    config_fields=CONFIG_FIELDS,
    secret_config_fields=frozenset({"api_key"}),
    # SparkPost: batches "may vary from 1 to 1000 or more events", each a JSON object of 1-2 KB.
    max_webhook_bytes=4 * 1024 * 1024,
)


@hookimpl
def herald_address_kinds() -> list[AddressKindSpec]:
    return [EMAIL]


@hookimpl
def herald_channels() -> list[ChannelSpec]:
    return [SPEC]


@hookimpl
def herald_validate_config(config: Mapping[str, Any]) -> Mapping[str, Any]:
    return SparkPostConfig.parse(config).as_mapping()


@hookimpl
def herald_validate_template(template: MessageContent) -> None:
    refuse_header_line_breaks(template)
    if len(template.campaign.encode()) > MAX_CAMPAIGN_BYTES:
        # Refused where the send is created, rather than by SparkPost at every batch.
        raise ConfigError("campaign", f"at most {MAX_CAMPAIGN_BYTES} bytes (UTF-8): SparkPost's campaign_id")


@hookimpl
def herald_channel_sender(config: Mapping[str, Any], endpoint: str | None) -> ChannelSender:
    parsed = SparkPostConfig.parse(config)
    return SparkPostSender(parsed, endpoint or parsed.base_url)


@hookimpl
def herald_verify_webhook(request: WebhookRequest, secret: str) -> bool:
    return is_genuine(request, secret)


@hookimpl
def herald_webhook_credentials(secret: str) -> Mapping[str, str]:
    return webhook_credentials(secret)


@hookimpl
def herald_parse_feedback(request: WebhookRequest) -> list[FeedbackEvent]:
    return parse_events(request.body)


@hookimpl
def herald_channel_emulator() -> Emulator:
    return SparkPostEmulator()
