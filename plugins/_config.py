"""Configuration checks the built-in channels share; each failure is a ConfigError naming the key.

Validation never contacts a provider (the hookspec forbids it): these only check shape and syntax.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from kernel.channels import ConfigError

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\".]+$")


def required_str(config: Mapping[str, Any], key: str) -> str:
    value = config.get(key)
    if value is None or value == "":
        raise ConfigError(key, "is required")
    if not isinstance(value, str):
        raise ConfigError(key, f"must be a string, not {type(value).__name__}")
    if value != value.strip():
        raise ConfigError(key, "must not start or end with whitespace")
    return value


def optional_str(config: Mapping[str, Any], key: str, default: str = "") -> str:
    if config.get(key) in (None, ""):
        return default
    return required_str(config, key)


def optional_text(config: Mapping[str, Any], key: str) -> str:
    """Multi-line text such as a PEM block, whose surrounding whitespace does not matter."""
    value = config.get(key) or ""
    if not isinstance(value, str):
        raise ConfigError(key, f"must be a string, not {type(value).__name__}")
    return value.strip()


def optional_bool(config: Mapping[str, Any], key: str, default: bool) -> bool:
    value = config.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(key, f"must be true or false, not {value!r}")
    return value


def optional_int(config: Mapping[str, Any], key: str, default: int, *, low: int, high: int) -> int:
    value = config.get(key, default)
    # bool is an int subclass; `true` is never a meaningful port or count.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, f"must be an integer, not {value!r}")
    if not low <= value <= high:
        raise ConfigError(key, f"must be between {low} and {high}, not {value}")
    return value


def is_email(value: str) -> bool:
    return bool(_EMAIL.match(value))


def email_address(config: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = required_str(config, key) if required else optional_str(config, key)
    if value and not is_email(value):
        raise ConfigError(key, f"{value!r} is not an email address")
    return value


def https_url(config: Mapping[str, Any], key: str, default: str, *, loopback_http: bool = False) -> str:
    """An https URL, since credentials travel with its requests (plain http is allowed to a loopback
    host when ``loopback_http``: a local Herald in sandbox mode)."""
    value = optional_str(config, key, default)
    parts = urlsplit(value)
    local = loopback_http and parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
    if (parts.scheme != "https" and not local) or not parts.hostname:
        raise ConfigError(key, f"must be an https:// URL, not {value!r}")
    return value
