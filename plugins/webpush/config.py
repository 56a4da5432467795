"""A project's web push configuration: its VAPID key pair and contact, checked before it is saved."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from kernel.channels import ConfigError
from plugins._config import optional_str, optional_text, required_str
from plugins.webpush.keys import b64url_encode, load_private_key, private_key_text, public_key_bytes

FIELDS = {
    "vapid_private_key": "The VAPID private key: PEM, or base64url of the raw 32-byte P-256 private key.",
    "subject": "How the push service can reach you (RFC 8292 sub): a mailto: or https: URL.",
    "vapid_public_key": "Derived, for the browser's applicationServerKey (base64url); checked if given.",
}

_SUBJECT = re.compile(r"mailto:[^@\s]+@[^@\s]+|https://[^\s/]+(/\S*)?")


@dataclass(frozen=True, slots=True)
class WebPushConfig:
    key: ec.EllipticCurvePrivateKey
    subject: str

    @classmethod
    def parse(cls, config: Mapping[str, Any]) -> WebPushConfig:
        for name in config:
            if name not in FIELDS:
                raise ConfigError(name, f"unknown setting (expected one of {', '.join(FIELDS)})")
        key_text = optional_text(config, "vapid_private_key")
        if not key_text:
            raise ConfigError("vapid_private_key", "is required")
        try:
            key = load_private_key(key_text)
        except ValueError as exc:
            raise ConfigError("vapid_private_key", str(exc)) from None
        subject = required_str(config, "subject")
        if not _SUBJECT.fullmatch(subject):
            raise ConfigError("subject", "must be a mailto: address or an https: URL (RFC 8292)")
        parsed = cls(key, subject)
        public = optional_str(config, "vapid_public_key")
        if public and public != parsed.public_key:
            raise ConfigError("vapid_public_key", "does not belong to vapid_private_key")
        return parsed

    @property
    def public_key(self) -> str:
        return b64url_encode(public_key_bytes(self.key.public_key()))

    def as_mapping(self) -> dict[str, str]:
        """The normalised form ChannelService stores (the public key included for the web app)."""
        return {
            "vapid_private_key": private_key_text(self.key),
            "subject": self.subject,
            "vapid_public_key": self.public_key,
        }
