"""`herald emulator CHANNEL`: any channel's provider emulator, standalone, by name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from tests import emulatorless_plugin


def test_emulator_command_serves_and_prints_a_usable_configuration() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "kernel.cli", "emulator", "email.sparkpost"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline()
        endpoint = first.split(" emulator at ")[1].split()[0]
        config = json.loads(process.stdout.readline().split("accepts: ", 1)[1])
        assert config["api_key"] and config["from_address"]
        request = urllib.request.Request(f"{endpoint}/api/v1/transmissions", data=b"{}", method="POST")
        try:
            urllib.request.urlopen(request, timeout=10)
            raise AssertionError("a request without an API key must be refused")
        except urllib.error.HTTPError as refused:
            assert refused.code == 401
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_unknown_channel_is_named() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kernel.cli", "emulator", "carrier.pigeon"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "carrier.pigeon" in result.stderr and "email.sparkpost" in result.stderr


def test_channel_without_an_emulator_is_refused_with_the_reason(tmp_path: Path) -> None:
    environment = {**os.environ, "PYTHONPATH": str(emulatorless_plugin.install(tmp_path))}
    result = subprocess.run(
        [sys.executable, "-m", "kernel.cli", "emulator", emulatorless_plugin.CHANNEL],
        capture_output=True,
        text=True,
        env=environment,
    )
    assert result.returncode == 2
    assert f"{emulatorless_plugin.CHANNEL}: its plugin ships no emulator" in result.stderr, result.stderr
