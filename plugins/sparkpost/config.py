"""A project's SparkPost configuration, checked before it is stored."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kernel.channels import ConfigError
from plugins._config import email_address, https_url, optional_bool, optional_str, required_str

DEFAULT_BASE_URL = "https://api.sparkpost.com"

CONFIG_FIELDS = {
    "api_key": "API key with Transmissions read/write permission (sent as the Authorization header)",
    "from_address": "default sender address, on a verified sending domain",
    "from_name": "default sender display name (optional)",
    "base_url": f"API base URL: {DEFAULT_BASE_URL} (default) or https://api.eu.sparkpost.com (SparkPost EU)",
    "open_tracking": "track opens (default true)",
    "click_tracking": "track clicks (default true)",
}


@dataclass(frozen=True, slots=True)
class SparkPostConfig:
    api_key: str
    from_address: str
    from_name: str = ""
    base_url: str = DEFAULT_BASE_URL
    open_tracking: bool = True
    click_tracking: bool = True

    @classmethod
    def parse(cls, config: Mapping[str, Any]) -> SparkPostConfig:
        api_key = required_str(config, "api_key")
        if any(char.isspace() or not char.isprintable() for char in api_key):
            raise ConfigError("api_key", "must not contain whitespace or control characters")
        return cls(
            api_key=api_key,
            from_address=email_address(config, "from_address"),
            from_name=optional_str(config, "from_name"),
            base_url=https_url(config, "base_url", DEFAULT_BASE_URL),
            open_tracking=optional_bool(config, "open_tracking", True),
            click_tracking=optional_bool(config, "click_tracking", True),
        )

    def as_mapping(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
