"""Email through any SMTP server (aiosmtplib), for self-hosted mail.

The hook implementations only; the sender, MIME builder and emulator live in sibling modules.
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
    MessageContent,
)
from kernel.plugins import hookimpl
from plugins._email import refuse_header_line_breaks
from plugins._email_address import EMAIL
from plugins.smtp.config import CONFIG_FIELDS, SmtpConfig
from plugins.smtp.emulator import SmtpEmulator
from plugins.smtp.sender import MAX_MESSAGE_BYTES, SmtpSender, split_endpoint

__all__ = ["SPEC"]

SPEC = ChannelSpec(
    name="email.smtp",
    description="Email through an SMTP server (STARTTLS or implicit TLS, AUTH), one connection reused",
    consent_scope="email",
    capabilities=Capabilities(
        address_kind=EMAIL.name,
        # One envelope per message on one connection; a batch is a round of messages on it.
        max_batch_size=100,
        max_payload_bytes=MAX_MESSAGE_BYTES,
    ),
    config_fields=CONFIG_FIELDS,
    secret_config_fields=frozenset({"password"}),
)


@hookimpl
def herald_address_kinds() -> list[AddressKindSpec]:
    return [EMAIL]


@hookimpl
def herald_channels() -> list[ChannelSpec]:
    return [SPEC]


@hookimpl
def herald_validate_config(config: Mapping[str, Any]) -> Mapping[str, Any]:
    return SmtpConfig.parse(config).as_mapping()


@hookimpl
def herald_validate_template(template: MessageContent) -> None:
    refuse_header_line_breaks(template)


@hookimpl
def herald_channel_sender(config: Mapping[str, Any], endpoint: str | None) -> ChannelSender:
    parsed = SmtpConfig.parse(config)
    if endpoint is None:
        return SmtpSender(parsed, parsed.host, parsed.port, parsed.security)
    # The emulator that sandbox mode starts speaks plain SMTP.
    host, port = split_endpoint(endpoint)
    return SmtpSender(parsed, host, port, "none")


@hookimpl
def herald_channel_emulator() -> Emulator:
    return SmtpEmulator()
