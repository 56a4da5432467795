"""A project's Twilio-compatible SMS configuration, checked before it is stored."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers

from kernel.channels import ConfigError
from plugins._config import https_url, optional_int, optional_str, required_str

DEFAULT_BASE_URL = "https://api.twilio.com"
_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")
#: An alphanumeric sender id (at most 11 characters, at least one letter) or a short code.
_SENDER_ID = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}|\d{3,8}")

CONFIG_FIELDS = {
    "account_sid": "Account SID (AC...), the Basic-auth user",
    "auth_token": "Auth Token, the Basic-auth password",
    "from_number": "sender: an E.164 number, a short code or an alphanumeric sender id",
    "messaging_service_sid": "Messaging Service SID (MG...), instead of or besides from_number",
    "status_callback": "URL Twilio posts delivery statuses to: Herald's webhook endpoint (https)",
    "max_segments": "longest text accepted, in SMS segments (default 10)",
    "base_url": f"API base URL (default {DEFAULT_BASE_URL}; a Twilio-compatible provider's otherwise)",
}


def is_e164(number: str) -> bool:
    """A valid number written exactly as E.164 (+, country code, national number, nothing else)."""
    if not number.startswith("+"):
        return False
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return False
    return (
        phonenumbers.is_valid_number(parsed)
        and phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == number
    )


@dataclass(frozen=True, slots=True)
class TwilioConfig:
    account_sid: str
    auth_token: str
    from_number: str = ""
    messaging_service_sid: str = ""
    status_callback: str = ""
    max_segments: int = 10
    base_url: str = DEFAULT_BASE_URL

    @classmethod
    def parse(cls, config: Mapping[str, Any]) -> TwilioConfig:
        account_sid = required_str(config, "account_sid")
        if not _ACCOUNT_SID.fullmatch(account_sid):
            raise ConfigError("account_sid", "must be 'AC' followed by 32 hexadecimal digits")
        auth_token = required_str(config, "auth_token")
        if any(char.isspace() or not char.isprintable() for char in auth_token):
            raise ConfigError("auth_token", "must not contain whitespace or control characters")
        from_number = optional_str(config, "from_number")
        if from_number and not (is_e164(from_number) or _SENDER_ID.fullmatch(from_number)):
            raise ConfigError(
                "from_number", f"{from_number!r} is not an E.164 number, short code or sender id"
            )
        service = optional_str(config, "messaging_service_sid")
        if service and not _SERVICE_SID.fullmatch(service):
            raise ConfigError("messaging_service_sid", "must be 'MG' followed by 32 hexadecimal digits")
        if not from_number and not service:
            raise ConfigError("from_number", "is required unless messaging_service_sid is set")
        return cls(
            account_sid=account_sid,
            auth_token=auth_token,
            from_number=from_number,
            messaging_service_sid=service,
            status_callback=(
                https_url(config, "status_callback", "", loopback_http=True)
                if config.get("status_callback")
                else ""
            ),
            max_segments=optional_int(config, "max_segments", 10, low=1, high=50),
            base_url=https_url(config, "base_url", DEFAULT_BASE_URL),
        )

    def as_mapping(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
