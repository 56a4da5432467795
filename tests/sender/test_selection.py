"""``sender_ext.core`` picks the compiled core unless told not to, and falls back when it is missing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import sender_ext
from sender_ext import _core_py, core
from tests.sender.conftest import compiled_core

PROBE = "import sender_ext; print(sender_ext.IMPLEMENTATION, sender_ext.Throttle.__module__)"


def implementation(env: dict[str, str], code: str = PROBE) -> str:
    """What a fresh interpreter, started with ``env`` added, picks."""
    result = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_the_facade_exports_the_chosen_core() -> None:
    chosen = _core_py if core.IMPLEMENTATION == "python" else compiled_core()
    expected = "python" if core.NO_EXTENSIONS else "cython"
    assert expected == core.IMPLEMENTATION
    for name in ("Throttle", "Pacer", "email_domain", "group_batches", "plan_batch", "substitution_rows"):
        assert getattr(sender_ext, name) is getattr(chosen, name)
    assert all(hasattr(sender_ext, name) for name in sender_ext.__all__)


def test_the_compiled_core_is_the_default() -> None:
    compiled_core()
    assert implementation({"HERALD_NO_EXTENSIONS": ""}) == "cython sender_ext._core"
    assert implementation({"HERALD_NO_EXTENSIONS": "0"}) == "cython sender_ext._core"


@pytest.mark.parametrize("value", ["1", "yes"])
def test_no_extensions_forces_the_twin(value: str) -> None:
    assert implementation({"HERALD_NO_EXTENSIONS": value}) == "python sender_ext._core_py"


def test_a_missing_extension_falls_back_to_the_twin() -> None:
    blocked = "import sys; sys.modules['sender_ext._core'] = None; " + PROBE  # import raises ImportError
    assert implementation({"HERALD_NO_EXTENSIONS": ""}, blocked) == "python sender_ext._core_py"
