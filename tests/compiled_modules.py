"""The compiled twin of a module that has a pure-Python one, for the tests that run both.

A skip when ``HERALD_NO_EXTENSIONS`` is set (``make test``'s pure-Python pass); otherwise a compiled
module that cannot be imported fails the test: a build that silently fell back to the pure-Python twin must
not pass for a tested compiled one.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

from sender_ext.core import NO_EXTENSIONS


def compiled_module(name: str) -> ModuleType:
    """The compiled module ``name``: a skip under HERALD_NO_EXTENSIONS, a failure when it is not built."""
    if NO_EXTENSIONS:
        pytest.skip(f"HERALD_NO_EXTENSIONS is set: testing the pure-Python twin of {name} only")
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        pytest.fail(
            f"{name} cannot be imported ({exc}): build it with `.venv/bin/pip install -e .`, "
            "or set HERALD_NO_EXTENSIONS=1 to test the pure-Python twin alone"
        )
