"""Which Herald processes use the embedded PostgreSQL of a data folder: the last one to leave stops it.

pgserver keeps such a list too, of bare pids, and stops the server only when the exiting process is the
only pid left in it: a Herald process that was killed (``kill -9``, a crash, the OOM killer) never leaves,
so its pid stayed there for good and the server was never stopped again. Here every process is known by
its pid *and* its start time, and the processes no longer running are pruned at each join and each leave:
whatever happened before, the last running process to leave sees itself alone. The start time keeps a pid
reused by an unrelated process from passing for the Herald process that died.

The file is only read and written under the embedded server's lock (see :mod:`kernel.storage.embedded`).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import orjson
import psutil


def _started_at(pid: int) -> float | None:
    """When the process ``pid`` started, or None if it is not running (an unreaped zombie is not)."""
    with contextlib.suppress(psutil.Error):
        process = psutil.Process(pid)
        if process.status() != psutil.STATUS_ZOMBIE:
            return process.create_time()
    return None


class ServerUsers:
    """The processes using one embedded server, kept in a JSON file: ``{"<pid>": <start time>}``."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def _running(self) -> dict[str, float]:
        try:
            recorded: dict[str, float] = orjson.loads(self._path.read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            return {}
        return {pid: started for pid, started in recorded.items() if _started_at(int(pid)) == started}

    def _save(self, users: dict[str, float]) -> None:
        self._path.write_bytes(orjson.dumps(users))

    def join(self, pid: int) -> None:
        started = _started_at(pid)
        assert started is not None, f"process {pid} is not running"
        self._save({**self._running(), str(pid): started})

    def leave(self, pid: int) -> list[int]:
        """Remove ``pid``; returns the processes still using the server."""
        users = self._running()
        users.pop(str(pid), None)
        self._save(users)
        return sorted(int(other) for other in users)
