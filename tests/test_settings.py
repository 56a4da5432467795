"""Settings: defaults, environment, TOML file, and clear refusals of bad values."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from kernel.settings import Settings, documentation


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(f"HERALD_{name.upper()}", raising=False)
    settings = Settings()
    assert settings.grpc_address == "127.0.0.1:50051"
    assert settings.database_url == ""
    assert settings.max_events_per_batch == 1000


def test_environment_beats_toml_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "custom.toml"
    config.write_text('grpc_address = "127.0.0.1:6000"\nmax_attributes = 10\n')
    monkeypatch.setenv("HERALD_CONFIG_FILE", str(config))
    monkeypatch.setenv("HERALD_MAX_ATTRIBUTES", "20")
    settings = Settings()
    assert settings.grpc_address == "127.0.0.1:6000"
    assert settings.max_attributes == 20


def test_bad_values_are_refused_with_the_setting_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERALD_LOG_FORMAT", "xml")
    with pytest.raises(ValidationError, match="log_format"):
        Settings()


def test_unknown_keys_in_the_file_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "herald.toml"
    config.write_text("grpc_adress = 'typo'\n")
    monkeypatch.setenv("HERALD_CONFIG_FILE", str(config))
    with pytest.raises(ValidationError, match="grpc_adress"):
        Settings()


def test_every_setting_is_documented() -> None:
    rows = documentation()
    assert len(rows) == len(Settings.model_fields)
    assert all(description for _, _, _, description in rows)
