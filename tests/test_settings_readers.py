"""Settings are read where they act: each names the processes that read it, a worker refuses the one
it would silently ignore, and each process logs the values it runs with, secrets masked."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from kernel.cli import main
from kernel.server import announce_settings
from kernel.setting_readers import LIMITED_READERS, REFUSED_BY_WORKER, SERVE, WORKER, readers
from kernel.settings import Settings


@pytest.fixture
def bare_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No HERALD_* variable and no configuration file: only what the test sets."""
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(f"HERALD_{name.upper()}", raising=False)


def test_every_reader_entry_names_a_setting() -> None:
    assert set(LIMITED_READERS) <= set(Settings.model_fields)
    assert all(SERVE in readers(name) and WORKER not in readers(name) for name in REFUSED_BY_WORKER)


def test_a_worker_refuses_a_default_wave_rate(
    bare_environment: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HERALD_DEFAULT_WAVE_RATE", "1000/hour")
    assert main(["worker", "--workers", "1"]) == 2
    error = capsys.readouterr().err
    assert "HERALD_DEFAULT_WAVE_RATE" in error and "herald serve" in error


def test_each_process_logs_its_settings_with_secrets_masked(
    bare_environment: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HERALD_DATABASE_URL", "postgresql://herald:s3cret@db.internal:5432/herald")
    monkeypatch.setenv("HERALD_ADMIN_KEY", "admin-s3cret")
    caplog.set_level(logging.INFO)
    announce_settings(Settings(), WORKER)
    (record,) = [r for r in caplog.records if r.getMessage() == "effective settings"]
    assert record.role == WORKER
    assert record.settings["database_url"] == "postgresql://herald:********@db.internal:5432/herald"
    assert record.settings["admin_key"] == "********"
    assert "s3cret" not in repr(record.settings)
