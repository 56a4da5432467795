"""Structured logs: one JSON object per line (or plain text for a terminal), on stderr."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Fields passed with ``extra=`` become top-level keys, so logs can be queried, not grepped."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


@dataclass(slots=True)
class _Repeats:
    window_ends: float
    held_back: int = 0


class RepeatFilter(logging.Filter):
    """Shows a warning or error once per window however often it recurs; the next one shown after the
    window carries ``repeated``, the count of identical ones held back meanwhile.

    One client repeating a failing call (or a database that stays down) must not turn every call into
    a log line, let alone a traceback: that fills disks. Identical means same logger, level, message
    and exception type. Records below WARNING are never held back.
    """

    max_tracked = 10_000

    def __init__(self, window_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._window = window_seconds
        self._clock = clock
        self._seen: dict[tuple[str, int, str, str], _Repeats] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or self._window <= 0:
            return True
        exception = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        key = (record.name, record.levelno, record.getMessage(), exception)
        now = self._clock()
        repeats = self._seen.get(key)
        if repeats is not None and now < repeats.window_ends:
            repeats.held_back += 1
            return False
        if repeats is not None and repeats.held_back:
            record.repeated = repeats.held_back
        if len(self._seen) >= self.max_tracked:
            self._seen = {k: r for k, r in self._seen.items() if now < r.window_ends}
            if len(self._seen) >= self.max_tracked:  # a flood of distinct messages: forget, stay bounded
                self._seen.clear()
        self._seen[key] = _Repeats(now + self._window)
        return True


def configure_logging(level: str, fmt: str, repeat_window_seconds: float) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RepeatFilter(repeat_window_seconds))
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The embedded PostgreSQL's library narrates every command it runs (initdb's whole output) at INFO.
    logging.getLogger("pgserver").setLevel(max(logging.WARNING, root.level))
