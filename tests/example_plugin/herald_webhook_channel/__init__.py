"""An example third-party Herald channel: ``sms.webhook`` relays SMS to any HTTP gateway as JSON.

It is the model for plugin authors (see "Writing a channel plugin" in Herald's README): three modules,
hook implementations here, the sender and the gateway's emulator beside them, one entry point.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from herald_webhook_channel.emulator import WebhookGatewayEmulator
from herald_webhook_channel.feedback import is_genuine, parse_reports
from herald_webhook_channel.sender import WebhookSender
from kernel.channels import Capabilities, ChannelSpec, ConfigError, FeedbackEvent, WebhookRequest
from kernel.plugins import hookimpl

CHANNEL = ChannelSpec(
    name="sms.webhook",
    description="SMS relayed to an HTTP gateway as a JSON POST (example third-party plugin).",
    consent_scope="sms",
    # The "phone" kind Herald's SMS plugin declares (E.164 numbers). A channel reaching addresses of a
    # new kind declares that kind itself, with herald_address_kinds.
    capabilities=Capabilities(
        address_kind="phone",
        max_batch_size=50,
        max_payload_bytes=1600,
        # What a small gateway takes from one account unless told otherwise: Herald paces each project's
        # messages to it.
        default_rate_per_second=10.0,
    ),
    config_fields={"url": "the gateway's https URL", "token": "bearer token the gateway expects"},
    secret_config_fields=frozenset({"token"}),
)


@hookimpl
def herald_channels() -> list[ChannelSpec]:
    return [CHANNEL]


@hookimpl
def herald_validate_config(config: Mapping[str, Any]) -> Mapping[str, Any]:
    url = config.get("url")
    if (
        not isinstance(url, str)
        or urlsplit(url).scheme not in ("https", "http")
        or not urlsplit(url).hostname
    ):
        raise ConfigError("url", "must be an http(s) URL")
    token = config.get("token")
    if not isinstance(token, str) or not token:
        raise ConfigError("token", "must be a non-empty string")
    unknown = set(config) - set(CHANNEL.config_fields)
    if unknown:
        raise ConfigError(sorted(unknown)[0], "unknown key")
    return {"url": url, "token": token}


@hookimpl
def herald_channel_sender(config: Mapping[str, Any], endpoint: str | None) -> WebhookSender:
    return WebhookSender(endpoint or config["url"], config["token"], CHANNEL.capabilities.max_payload_bytes)


@hookimpl
def herald_verify_webhook(request: WebhookRequest, secret: str) -> bool:
    return is_genuine(request, secret)


@hookimpl
def herald_webhook_credentials(secret: str) -> Mapping[str, str]:
    return {"Authorization": f"Bearer {secret}"} if secret else {}


@hookimpl
def herald_parse_feedback(request: WebhookRequest) -> list[FeedbackEvent]:
    return parse_reports(request)


@hookimpl
def herald_channel_emulator() -> WebhookGatewayEmulator:
    return WebhookGatewayEmulator(token="example-token")
