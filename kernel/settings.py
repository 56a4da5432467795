"""Herald's settings: the one place where every operator knob is declared, typed and documented.

Values come, highest priority first, from ``HERALD_*`` environment variables, then the TOML file named by
``HERALD_CONFIG_FILE`` (default ``herald.toml`` in the working directory, if present), then the defaults
below. ``herald settings`` prints the effective values; ``herald settings --doc`` prints this table.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _config_file() -> Path:
    return Path(os.environ.get("HERALD_CONFIG_FILE", "herald.toml"))


class Settings(BaseSettings):
    """Every setting, with its default and why an operator would change it."""

    model_config = SettingsConfigDict(env_prefix="HERALD_", extra="forbid", validate_default=True)

    grpc_address: str = Field(
        "127.0.0.1:50051", description="Where the gRPC API listens (host:port; port 0 picks a free one)."
    )
    webhook_address: str = Field(
        "127.0.0.1:8470",
        description="Where provider webhooks are received: POST /webhooks/<project id>/<channel>.",
    )
    database_url: str = Field(
        "",
        description="PostgreSQL DSN (postgresql://user:pass@host:5432/db). Empty: an embedded PostgreSQL "
        "is started in <data_dir>/postgres.",
    )
    admin_key: SecretStr = Field(
        SecretStr(""),
        description="Operator key for ProjectService. Empty: generated on first start and kept in "
        "<data_dir>/admin_key.",
    )
    credentials_key: SecretStr = Field(
        SecretStr(""),
        description="32 random bytes, base64url: encrypts channel credentials at rest. Every kernel of a "
        "deployment needs the same one. Empty: generated on first start, kept in <data_dir>/credentials_key.",
    )
    data_dir: Path = Field(Path("herald-data"), description="Local state: embedded database, admin key.")
    db_pool_min_size: int = Field(2, ge=1, description="Connections opened at start.")
    db_pool_max_size: int = Field(10, ge=1, description="Connections one kernel may hold at most.")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_format: str = Field(
        "json", pattern="^(json|text)$", description="json (one object per line) or text."
    )
    shutdown_grace_seconds: float = Field(
        10.0, ge=0, description="How long in-flight calls may finish after SIGTERM/SIGINT."
    )
    auth_cache_seconds: float = Field(
        5.0,
        ge=0,
        description="How long a verified API key is trusted before it is looked up again; "
        "bounds how long a key revoked on another kernel stays usable.",
    )
    purge_interval_seconds: float = Field(
        3600.0, gt=0, description="How often inactive profiles are purged (per project retention)."
    )
    max_attributes: int = Field(256, ge=1, description="Attributes per profile, and per event.")
    max_attribute_key_length: int = Field(64, ge=1, description="Characters in an attribute key.")
    max_string_bytes: int = Field(2048, ge=1, description="UTF-8 bytes in a string attribute value.")
    max_list_items: int = Field(64, ge=1, description="Items in a string-list attribute value.")
    max_events_per_batch: int = Field(1000, ge=1, description="Events in one TrackEvents call or message.")
    max_addresses: int = Field(64, ge=1, description="Channel addresses of each kind on one profile.")
    event_flush_max_delay_ms: float = Field(
        2.0,
        ge=0,
        description="How long a single-event call may wait to share a database write with "
        "concurrent calls (group commit). Raises throughput at the cost of at most this latency.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, _config_file()))

    def effective(self) -> dict[str, Any]:
        """The values as an operator should see them: secrets masked."""
        values = self.model_dump()
        for secret in ("admin_key", "credentials_key"):
            values[secret] = "********" if getattr(self, secret).get_secret_value() else ""
        values["data_dir"] = str(self.data_dir)
        return values


def documentation() -> list[tuple[str, str, str, str]]:
    """(env variable, type, default, description) for every setting: the source of the README table."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.default.get_secret_value() if isinstance(field.default, SecretStr) else field.default
        type_name = "secret" if field.annotation is SecretStr else getattr(field.annotation, "__name__", "")
        shown = str(default) if isinstance(default, Path) else repr(default)
        rows.append((f"HERALD_{name.upper()}", type_name, shown, field.description or ""))
    return rows


def markdown_table() -> str:
    """The settings table of README.md (``herald settings --markdown``; a test keeps the README in sync)."""
    lines = ["| Variable | Type | Default | What it does |", "|---|---|---|---|"]
    lines += [f"| `{env}` | {kind} | `{default}` | {text} |" for env, kind, default, text in documentation()]
    return "\n".join(lines)
