"""More ``herald serve`` processes answering the API on the same port (``api_processes``).

A kernel's event loop runs in one Python process and so uses one core at most: under thousands of small
calls a second (UpsertProfile, single-event TrackEvents) it is the loop that saturates, and latency
becomes the length of its queue, while another core may sit idle. Kernels are stateless, so more of them
can share the work: the first ``herald serve`` starts ``api_processes - 1`` siblings that listen on its
address too. Each gRPC listener sets SO_REUSEPORT (gRPC's default on Linux, asked for explicitly by
:mod:`kernel.server`), and the operating system hands each new client connection to one of them.
A client's calls on one HTTP/2 connection therefore stay with one process: the spread is per connection.

The siblings only serve the API: no sender workers, no webhook applying, no metrics port (the first
process keeps those); each has its own database pool and group commits, so the calls of a project are
grouped per process, in smaller groups. They share the first process's settings and data folder (its
embedded PostgreSQL and admin key), and stop with it: on SIGTERM, or when it dies whichever way (on Linux
the system signals them), so that no orphan keeps answering on the port with an older process's code.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import subprocess
import sys

from kernel.settings import Settings

log = logging.getLogger(__name__)

#: What a sibling changes of the first process's settings (environment variables override the rest).
SIBLING_SETTINGS = {
    "API_PROCESSES": "1",
    "WORKER_COUNT": "0",
    "WEBHOOK_WORKERS": "0",
    "WEBHOOK_ADDRESS": "127.0.0.1:0",
    "METRICS_ADDRESS": "",
}

#: ``herald serve`` option naming the first process's id: the process started is its sibling.
SIBLING_OPTION = "--sibling-of"
#: prctl(2): the signal this process gets when its parent dies.
_PR_SET_PDEATHSIG = 1
#: How long after its grace period a sibling that has not exited is killed.
STOP_MARGIN_SECONDS = 10.0


def sibling_environment(host: str, port: int) -> dict[str, str]:
    """The first process's environment, listening on its port (a port 0 was resolved by then)."""
    overrides = {**SIBLING_SETTINGS, "GRPC_ADDRESS": f"{host}:{port}"}
    return {**os.environ, **{f"HERALD_{name}": value for name, value in overrides.items()}}


class ApiSiblings:
    """The sibling processes of one ``herald serve``: started once it listens, stopped before it closes."""

    def __init__(self) -> None:
        self._processes: list[subprocess.Popen[bytes]] = []

    def start(self, settings: Settings, port: int) -> None:
        host = settings.grpc_address.rpartition(":")[0]
        environment = sibling_environment(host, port)
        for _ in range(settings.api_processes - 1):
            self._processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "kernel.cli", "serve", SIBLING_OPTION, str(os.getpid())],
                    env=environment,
                )
            )
        if self._processes:
            log.info("api siblings started", extra={"pids": [p.pid for p in self._processes]})

    async def stop(self, grace: float) -> None:
        """SIGTERM: each drains its calls for ``grace`` seconds, as the first process does."""
        for process in self._processes:
            process.send_signal(signal.SIGTERM)
        await asyncio.gather(*(asyncio.to_thread(_wait, process, grace) for process in self._processes))
        self._processes.clear()


def die_with(first_pid: int) -> None:
    """In a sibling: be sent SIGTERM when the first process dies, even killed with SIGKILL (Linux), and
    stop at once if it died before this was asked."""
    prctl = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None)  # Linux only
    if prctl is None or prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        log.warning("this sibling will not stop by itself if the first process is killed")
    if os.getppid() != first_pid:
        sys.exit("herald: the process this one was started to serve with has stopped")


def _wait(process: subprocess.Popen[bytes], grace: float) -> None:
    try:
        process.wait(grace + STOP_MARGIN_SECONDS)
    except subprocess.TimeoutExpired:
        log.warning("api sibling did not stop; killed", extra={"pid": process.pid})
        process.kill()
        process.wait()
