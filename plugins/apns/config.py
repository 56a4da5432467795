"""A project's APNs credentials, parsed so that a bad key is refused when it is saved, not when used."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kernel.channels import ConfigError
from plugins._config import optional_str, optional_text, required_str

#: Apple's hosts; the provider API listens on 443 (2197 is an alternative for firewalled networks).
HOSTS = {"production": "api.push.apple.com", "sandbox": "api.sandbox.push.apple.com"}

FIELDS = {
    "team_id": "The 10-character Team ID of the Apple developer account (the JWT's iss).",
    "key_id": "The 10-character Key ID of the APNs authentication key (the JWT's kid).",
    "key_p8": "The APNs authentication key: the PEM text of the .p8 file (an EC P-256 private key).",
    "bundle_id": "The app's bundle ID, sent as apns-topic.",
    "environment": "production (api.push.apple.com) or sandbox (api.sandbox.push.apple.com).",
}

_APPLE_ID = re.compile(r"[A-Z0-9]{10}")
_BUNDLE_ID = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


@dataclass(frozen=True, slots=True)
class ApnsConfig:
    team_id: str
    key_id: str
    key: ec.EllipticCurvePrivateKey
    key_p8: str
    bundle_id: str
    environment: str

    @classmethod
    def parse(cls, config: Mapping[str, Any]) -> ApnsConfig:
        """Check every field; raise ConfigError naming the first unusable one."""
        for name in config:
            if name not in FIELDS:
                raise ConfigError(name, f"unknown setting (expected one of {', '.join(FIELDS)})")
        team_id = _apple_id(config, "team_id")
        key_id = _apple_id(config, "key_id")
        key_p8 = optional_text(config, "key_p8")
        if not key_p8:
            raise ConfigError("key_p8", "is required")
        bundle_id = required_str(config, "bundle_id")
        if not _BUNDLE_ID.fullmatch(bundle_id):
            raise ConfigError("bundle_id", "must be a reverse-DNS bundle ID such as com.example.app")
        environment = optional_str(config, "environment", "production")
        if environment not in HOSTS:
            raise ConfigError("environment", "must be production or sandbox")
        return cls(team_id, key_id, load_key_p8(key_p8), key_p8, bundle_id, environment)

    def as_mapping(self) -> dict[str, str]:
        """The normalised form ChannelService stores."""
        return {
            "team_id": self.team_id,
            "key_id": self.key_id,
            "key_p8": self.key_p8,
            "bundle_id": self.bundle_id,
            "environment": self.environment,
        }


def load_key_p8(pem: str) -> ec.EllipticCurvePrivateKey:
    """Load the .p8 text; Apple's keys are unencrypted PKCS#8 EC P-256 keys."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError("key_p8", f"not a readable unencrypted PEM private key ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ConfigError("key_p8", "must be an EC P-256 (prime256v1) private key, as Apple issues")
    return key


def _apple_id(config: Mapping[str, Any], name: str) -> str:
    value = required_str(config, name)
    if not _APPLE_ID.fullmatch(value):
        raise ConfigError(name, "must be 10 upper-case letters or digits, as shown in the developer account")
    return value
