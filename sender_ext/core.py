"""The sender core in use: the compiled one when it is built and allowed, else its pure-Python twin.

Like aiohttp's parsers: the switch is read once, at import. ``HERALD_NO_EXTENSIONS=1`` (any value but
empty or ``0``) forces the twin; a missing or unloadable extension falls back to it too. Both modules
stay importable directly (``sender_ext._core``, ``sender_ext._core_py``) for tests and benchmarks.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable
from types import ModuleType
from typing import Literal

from sender_ext import _core_py
from sender_ext.types import Batches, BatchPlan

log = logging.getLogger(__name__)

NO_EXTENSIONS = os.environ.get("HERALD_NO_EXTENSIONS", "") not in ("", "0")


def compiled_or_twin(compiled: str, twin: ModuleType, what: str) -> ModuleType:
    """The extension module named ``compiled`` when it is built and allowed, else ``twin`` (logged with
    ``what`` it is): also how the kernel picks its own compiled modules."""
    if NO_EXTENSIONS:
        return twin
    try:
        return importlib.import_module(compiled)
    except ImportError as exc:
        log.info("%s: the Cython extension is not available (%s); using the pure-Python twin", what, exc)
        return twin


_impl = compiled_or_twin("sender_ext._core", _core_py, "sender core")

#: Which core is in use: "cython" or "python".
IMPLEMENTATION: Literal["cython", "python"] = "python" if _impl is _core_py else "cython"

Throttle: type[_core_py.Throttle] = _impl.Throttle
Pacer: type[_core_py.Pacer] = _impl.Pacer
email_domain: Callable[[str], str] = _impl.email_domain
group_batches: Callable[..., Batches] = _impl.group_batches
plan_batch: Callable[..., BatchPlan] = _impl.plan_batch
substitution_rows: Callable[..., list[dict[str, str]]] = _impl.substitution_rows
