"""Every sender test runs against both cores: the pure-Python twin (``py-core``) and the compiled one
(``c-core``), the way aiohttp's parser tests and multidict's suite do.

``c-core`` is skipped when ``HERALD_NO_EXTENSIONS`` is set (``make test`` runs the sender and delivery
tests a second time that way, so the facade is also tested in pure mode); otherwise a compiled core that
cannot be imported fails the tests that need it: a build that silently fell back to the twin must not
pass for a tested compiled core.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from sender_ext import _core_py
from tests.compiled_modules import compiled_module


def compiled_core() -> ModuleType:
    """The compiled core (:func:`tests.compiled_modules.compiled_module`)."""
    return compiled_module("sender_ext._core")


@pytest.fixture(scope="session", params=["py-core", "c-core"])
def core(request: pytest.FixtureRequest) -> ModuleType:
    """One sender core module (``_core_py`` or ``_core``): the test runs once with each."""
    return _core_py if request.param == "py-core" else compiled_core()


@pytest.fixture(scope="session")
def cores() -> tuple[ModuleType, ModuleType]:
    """Both cores, (twin, compiled), for tests that check they agree."""
    return _core_py, compiled_core()
