"""A project's SMTP configuration, checked before it is stored."""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kernel.channels import ConfigError
from plugins._config import (
    LOOPBACK_HOSTS,
    email_address,
    optional_int,
    optional_str,
    optional_text,
    required_str,
)

SECURITY_MODES = ("none", "starttls", "tls")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}

CONFIG_FIELDS = {
    "host": "SMTP server host name",
    "port": "SMTP server port (default 587 for starttls, 465 for tls, 25 for none)",
    "security": "none | starttls (default) | tls (implicit TLS, 'SMTPS')",
    "username": "AUTH user name (optional)",
    "password": "AUTH password (required with username)",
    "from_address": "default sender address",
    "from_name": "default sender display name (optional)",
    "tls_ca_pem": "PEM certificate(s) to trust instead of the system CAs, for a private CA (optional)",
    "timeout_seconds": "per-command timeout (default 30)",
}


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    security: str
    from_address: str
    username: str = ""
    password: str = ""
    from_name: str = ""
    tls_ca_pem: str = ""
    timeout_seconds: int = 30

    @classmethod
    def parse(cls, config: Mapping[str, Any]) -> SmtpConfig:
        host = required_str(config, "host")
        if any(char.isspace() for char in host):
            raise ConfigError("host", "must not contain whitespace")
        security = optional_str(config, "security", "starttls")
        if security not in SECURITY_MODES:
            raise ConfigError("security", f"must be one of {', '.join(SECURITY_MODES)}, not {security!r}")
        username = optional_str(config, "username")
        password = optional_str(config, "password")
        if password and not username:
            raise ConfigError("username", "is required when password is set")
        if username and not password:
            raise ConfigError("password", "is required when username is set")
        if username and security == "none" and host not in LOOPBACK_HOSTS:
            raise ConfigError("security", "AUTH credentials are only sent over starttls or tls")
        tls_ca_pem = optional_text(config, "tls_ca_pem")
        if tls_ca_pem:
            try:
                ssl.create_default_context(cadata=tls_ca_pem)
            except (ssl.SSLError, ValueError) as exc:
                raise ConfigError("tls_ca_pem", f"is not a PEM certificate: {exc}") from None
        return cls(
            host=host,
            port=optional_int(config, "port", DEFAULT_PORTS[security], low=1, high=65535),
            security=security,
            from_address=email_address(config, "from_address"),
            username=username,
            password=password,
            from_name=optional_str(config, "from_name"),
            tls_ca_pem=tls_ca_pem,
            timeout_seconds=optional_int(config, "timeout_seconds", 30, low=1, high=600),
        )

    def as_mapping(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
