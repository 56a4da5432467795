"""A project's FCM configuration: the Google service-account key JSON, checked before it is stored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from kernel.channels import ConfigError
from plugins._config import email_address, https_url, optional_str, optional_text, required_str

FIELD = "service_account_json"
CONFIG_FIELDS = {
    FIELD: "the service-account key file (JSON) of a Firebase project, with the FCM send permission",
}


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    project_id: str
    client_email: str
    private_key_id: str
    private_key: rsa.RSAPrivateKey
    token_uri: str
    #: The key file as given, stored back unchanged.
    info: Mapping[str, Any]

    @classmethod
    def parse(cls, config: Mapping[str, Any]) -> ServiceAccount:
        info = _key_file(config.get(FIELD))
        try:
            return cls._from_info(info)
        except ConfigError as exc:
            raise ConfigError(f"{FIELD}.{exc.field}", exc.reason) from None

    @classmethod
    def _from_info(cls, info: Mapping[str, Any]) -> ServiceAccount:
        if info.get("type") != "service_account":
            raise ConfigError("type", f"must be 'service_account', not {info.get('type')!r}")
        pem = optional_text(info, "private_key")
        if not pem:
            raise ConfigError("private_key", "is required")
        try:
            key = load_pem_private_key(pem.encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigError("private_key", f"is not an unencrypted PEM private key ({exc})") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigError("private_key", "must be an RSA key (Google signs service accounts with RS256)")
        return cls(
            project_id=required_str(info, "project_id"),
            client_email=email_address(info, "client_email"),
            private_key_id=optional_str(info, "private_key_id"),
            private_key=key,
            token_uri=https_url(info, "token_uri", ""),
            info=info,
        )


def _key_file(value: Any) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    if not isinstance(value, str | bytes) or not value:
        raise ConfigError(FIELD, "is required: the service-account key file's JSON")
    try:
        info = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise ConfigError(FIELD, f"is not JSON: {exc}") from None
    if not isinstance(info, dict):
        raise ConfigError(FIELD, "must be a JSON object")
    return info
