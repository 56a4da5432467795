"""An embedded PostgreSQL for machines with no database configured (pgserver ships the binaries).

It listens only on a unix socket inside the data folder, so nothing is exposed on the network. Several
Herald processes may use one data folder (``herald serve`` and ``herald worker``): each holds the server
while it runs, and the last one to let go stops it (:mod:`kernel.storage.server_users` counts them,
surviving a process that was killed), so nothing is left running behind ``make run``; the next start takes
a fraction of a second. Each process also supervises the server: one that dies (killed, out of memory) is
started again within :data:`CHECK_SECONDS`, with a log line, and the pool's connections reconnect to it,
instead of every call failing until a person restarts Herald.

PostgreSQL's stock configuration is sized for a machine of twenty years ago (128 MB of shared buffers,
a checkpoint every gigabyte of WAL). Herald writes :func:`tuning` into the data folder and includes it
from ``postgresql.conf`` before every start, so the embedded server is configured the way an operator
would configure an external one for bulk sends: a million-message outbox and its indexes stay in shared
buffers, and no checkpoint (with its burst of full-page images in the WAL) falls in the middle of a
campaign. Changes apply when the server starts, i.e. when no Herald process was using it.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from kernel.storage.server_users import ServerUsers

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

log = logging.getLogger(__name__)

_INCLUDE = "include_if_exists = 'herald.conf'"
_GIB = 1 << 30
#: How often each process checks that the embedded server is running.
CHECK_SECONDS = 1.0


def shared_buffers_mb() -> int:
    """A quarter of the machine's memory (PostgreSQL's own advice), between 128 MB and 2 GB."""
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return max(128, min(2 * _GIB, memory // 4) >> 20)


def tuning() -> str:
    """The settings Herald gives its embedded PostgreSQL (``herald.conf`` in the data folder)."""
    return "\n".join(
        (
            "# Written by Herald at every start (kernel/storage/embedded.py); edits here are overwritten.",
            f"shared_buffers = {shared_buffers_mb()}MB",
            "max_wal_size = 4GB",
            "checkpoint_timeout = 15min",
            "checkpoint_completion_target = 0.9",
            "",
        )
    )


def _configure(pgdata: Path) -> None:
    (pgdata / "herald.conf").write_text(tuning())
    conf = pgdata / "postgresql.conf"
    text = conf.read_text()
    if _INCLUDE not in text:
        conf.write_text(f"{text.rstrip()}\n{_INCLUDE}\n")


def _tuned_server(pgdata: Path) -> PostgresServer:
    """pgserver's server for ``pgdata``, started if it is not running, with Herald's settings written
    between initdb and the start. pgserver never stops it (``cleanup_mode=None``): its own count of the
    processes using it keeps the pid of a killed one for good; Herald's (ServerUsers) decides."""
    from pgserver.postgres_server import PostgresServer

    class TunedServer(PostgresServer):
        def ensure_pgdata_inited(self) -> None:
            super().ensure_pgdata_inited()
            _configure(self.pgdata)

    return TunedServer(pgdata, cleanup_mode=None)


def cluster_processes(pgdata: Path) -> list[psutil.Process]:
    """Every running process of the server in ``pgdata``: the postmaster and its children, which all work
    in that folder (their command lines do not name it), including a dead postmaster's last children."""
    folder = str(pgdata)
    return [
        process
        for process in psutil.process_iter(["cwd", "status"])
        if process.info["cwd"] == folder and process.info["status"] != psutil.STATUS_ZOMBIE
    ]


def _alive(process: psutil.Process | None) -> bool:
    """Whether ``process`` runs (psutil counts a dead process its parent has not reaped yet)."""
    try:
        return process is not None and process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@contextmanager
def _server_lock() -> Iterator[None]:
    """pgserver's lock, held by every process starting or stopping a server (it is not reentrant)."""
    from pgserver.postgres_server import PostgresServer

    with PostgresServer._lock:
        yield


class EmbeddedPostgres:
    """This process's hold on the embedded server of one data folder (see the module documentation).

    A process may hold it more than once (two pools); it leaves the server's users at the last release,
    or at exit if it never released.
    """

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir / "postgres"
        self._users = ServerUsers(data_dir / "postgres-users.json")
        self._server: PostgresServer | None = None
        self._holds = 0
        self._reported_death: int | None = None
        # The supervisor restarts the server from a worker thread; pgserver's lock does not exclude the
        # threads of one process from each other.
        self._mutex = threading.Lock()
        atexit.register(self._at_exit)

    @property
    def dsn(self) -> str:
        assert self._server is not None, "the embedded server is not held"
        return self._server.get_uri()

    def postmaster(self) -> int | None:
        """The pid of the server's postmaster, if it is running."""
        info = None if self._server is None else self._server._postmaster_info
        return info.pid if info is not None and _alive(info.process) else None

    def hold(self) -> None:
        """Join the server's users, starting it if need be (blocking: initdb, pg_ctl)."""
        with self._mutex:
            self._holds += 1
            if self._holds > 1:
                return
            self.pgdata.mkdir(parents=True, exist_ok=True)
            # Joined first, then started or adopted: a last user leaving in between finds this process
            # and leaves the server running, or stopped it before, and then the start below restarts it.
            with _server_lock():
                self._users.join(os.getpid())
            try:
                self._server = _tuned_server(self.pgdata)
            except BaseException:
                self._holds = 0
                with _server_lock():
                    self._users.leave(os.getpid())
                raise
        log.info("embedded PostgreSQL ready in %s", self.pgdata)

    def release(self) -> None:
        """Let go of one hold; the last Herald process to let go stops the server (blocking)."""
        with self._mutex:
            self._holds -= 1
            if self._holds == 0:
                self._leave()

    def _at_exit(self) -> None:
        with self._mutex:
            if self._holds > 0:
                self._holds = 0
                self._leave()

    def _leave(self) -> None:
        from pgserver import pg_ctl

        assert self._server is not None
        with _server_lock():
            others = self._users.leave(os.getpid())
            if others:
                log.info("embedded PostgreSQL left running for the Herald processes %s", others)
            elif self.postmaster() is not None:
                try:
                    pg_ctl(["-w", "stop"], pgdata=self.pgdata, user=self._server.system_user)
                except subprocess.CalledProcessError:
                    log.error("could not stop the embedded PostgreSQL in %s (see its log there)", self.pgdata)
                else:
                    log.info("embedded PostgreSQL in %s stopped", self.pgdata)
        self._server = None

    def revive(self) -> None:
        """Start the server again if it is not running (blocking). Another Herald process may have done so
        already. Otherwise every process of the dead one must be gone first (the postmaster reaped, its
        children exited: they keep its lock file and shared memory, and a start would fail); until they
        are, this leaves it to the next check."""
        from pgserver.utils import PostmasterInfo

        with self._mutex, _server_lock():
            if self._holds == 0 or self.postmaster() is not None:
                return
            assert self._server is not None
            dead_postmaster = self._server.get_postmaster_info()
            dead = dead_postmaster.pid
            if self._reported_death != dead:
                log.warning("embedded PostgreSQL in %s died (pid %s); starting it again", self.pgdata, dead)
                self._reported_death = dead
            recorded = PostmasterInfo.read_from_pgdata(self.pgdata)
            restarted_elsewhere = recorded is not None and recorded.pid != dead and _alive(recorded.process)
            unreaped = dead_postmaster.process is not None and dead_postmaster.process.is_running()
            if not restarted_elsewhere and (unreaped or cluster_processes(self.pgdata)):
                return
            self._server.ensure_postgres_running()
            log.warning("embedded PostgreSQL in %s running again (pid %s)", self.pgdata, self.postmaster())


_IN_THIS_PROCESS: dict[Path, EmbeddedPostgres] = {}


def start_embedded_postgres(data_dir: Path) -> EmbeddedPostgres:
    """A hold on the embedded PostgreSQL in ``data_dir/postgres``, started if need be (blocking); give it
    back with :meth:`EmbeddedPostgres.release`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    folder = data_dir.resolve()
    embedded = _IN_THIS_PROCESS.get(folder)
    if embedded is None:
        embedded = _IN_THIS_PROCESS[folder] = EmbeddedPostgres(folder)
    embedded.hold()
    return embedded


async def supervise(embedded: EmbeddedPostgres) -> None:
    """Restart the server whenever it is found dead, until cancelled (every CHECK_SECONDS: a check reads
    one process's state)."""
    while True:
        await asyncio.sleep(CHECK_SECONDS)
        if embedded.postmaster() is not None:
            continue
        try:
            await asyncio.to_thread(embedded.revive)
        except Exception:
            # pg_ctl failed or timed out; the next check tries again, and the process goes on meanwhile.
            log.exception("could not restart the embedded PostgreSQL in %s", embedded.pgdata)
