"""A Herald kernel in a process of its own, for benchmarks: ``herald serve`` with a scratch data folder
(embedded PostgreSQL) on a free loopback port, a fresh project, and a clean stop.

The kernel runs apart from the load generator so that the figures are those of one kernel process, as
in production; its CPU time (and PostgreSQL's) is reported so that a reader can tell who was busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import psutil
from grpc_health.v1 import health_pb2, health_pb2_grpc

from herald.v1 import (
    common_pb2,
    messages_pb2,
    messages_pb2_grpc,
    profiles_pb2,
    profiles_pb2_grpc,
    projects_pb2,
    projects_pb2_grpc,
)

START_TIMEOUT_SECONDS = 120.0


@dataclass
class Kernel:
    address: str
    api_key: str
    process: psutil.Process
    data_dir: Path

    @property
    def auth(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.api_key}"),)

    @property
    def dsn(self) -> str:
        """The kernel's embedded PostgreSQL, for checking what was stored."""
        import pgserver

        return pgserver.get_server(self.data_dir / "postgres", cleanup_mode=None).get_uri()

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by the kernel (with its api_processes siblings) and by the embedded
        PostgreSQL's processes."""
        kernel = 0.0
        for process in (self.process, *self.siblings()):
            times = process.cpu_times()
            kernel += times.user + times.system
        return {"kernel": kernel, "postgres": _postgres_cpu(self.data_dir)}

    def siblings(self) -> list[psutil.Process]:
        """The processes the kernel started to serve the API with it (kernel.api_processes)."""
        return [child for child in self.process.children() if "kernel.cli" in " ".join(child.cmdline())]

    def core_waits(self) -> dict[str, float]:
        """Seconds spent so far ready to run but waiting for a core (other processes had them): by the
        kernel's event loop (its main thread), and by the embedded PostgreSQL's live processes."""
        postgres = 0.0
        for process in _postgres_processes(self.data_dir):
            postgres += _run_delay(f"/proc/{process.pid}/schedstat")
        return {"kernel_loop": _run_delay(f"/proc/{self.process.pid}/schedstat"), "postgres": postgres}


async def completed_send(
    stub: messages_pb2_grpc.MessageServiceStub, kernel: Kernel, send_id: str, poll_seconds: float
) -> messages_pb2.Send:
    """The send's final state, once it is completed (asked every ``poll_seconds``)."""
    while True:
        state = await stub.GetSend(messages_pb2.GetSendRequest(send_id=send_id), metadata=kernel.auth)
        if state.state == messages_pb2.SEND_STATE_COMPLETED:
            return state
        await asyncio.sleep(poll_seconds)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def herald_kernel(**settings: str) -> Iterator[Kernel]:
    """Start ``herald serve`` (extra ``HERALD_*`` settings as keyword arguments), create a project, and
    stop everything (kernel, embedded PostgreSQL, data folder) at the end."""
    data_dir = Path(tempfile.mkdtemp(prefix="herald-bench-"))
    admin_key = "hadm_" + secrets.token_urlsafe(24)
    address = f"127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "HERALD_DATA_DIR": str(data_dir),
        "HERALD_ADMIN_KEY": admin_key,
        "HERALD_GRPC_ADDRESS": address,
        "HERALD_WEBHOOK_ADDRESS": "127.0.0.1:0",
        "HERALD_LOG_LEVEL": "WARNING",
        **{f"HERALD_{name.upper()}": value for name, value in settings.items()},
    }
    log = (data_dir / "kernel.log").open("w")
    popen = subprocess.Popen(
        [sys.executable, "-c", "from kernel.cli import main; main(['serve'])"], env=env, stderr=log
    )
    try:
        try:
            _wait_until_serving(address, popen)
        except RuntimeError:
            log.flush()
            print((data_dir / "kernel.log").read_text()[-3000:], file=sys.stderr)
            raise
        yield Kernel(address, _create_project(address, admin_key), psutil.Process(popen.pid), data_dir)
    finally:
        popen.send_signal(signal.SIGTERM)
        try:
            popen.wait(30)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()
        log.close()
        _stop_postgres(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


def version7_id_sql(millis: str) -> str:
    """A version 7 UUID whose clock reads ``millis`` (an SQL bigint expression), then random bits.

    Herald gives new profiles such ids (kernel.profiles.profile_ids): seeded in creation order with them, the
    profile tables lie in the order of their primary keys as they do in a real project filled over time."""
    clock = f"lpad(to_hex({millis}), 12, '0')"
    return (
        f"(substr({clock}, 1, 8) || '-' || substr({clock}, 9, 4) || '-7' "
        "|| substr(gen_random_uuid()::text, 16))::uuid"
    )


def seed_customers(kernel: Kernel, people: int) -> None:
    """Create ``customer-0`` ... ``customer-<people-1>`` (one event each, batched), so that the measured
    calls find existing profiles instead of measuring profile creation."""
    with grpc.insecure_channel(kernel.address) as channel:
        stub = profiles_pb2_grpc.ProfileServiceStub(channel)
        for start in range(0, people, 1000):
            events = [
                profiles_pb2.TrackedEvent(
                    profile=common_pb2.ProfileRef(custom_id=f"customer-{n}"), name="signed_up"
                )
                for n in range(start, min(start + 1000, people))
            ]
            stub.TrackEvents(profiles_pb2.TrackEventsRequest(events=events), metadata=kernel.auth)


def _wait_until_serving(address: str, popen: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if popen.poll() is not None:
                raise RuntimeError(f"herald serve exited with {popen.returncode}")
            with contextlib.suppress(grpc.RpcError):
                reply = health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            time.sleep(0.2)
    raise RuntimeError(f"herald serve did not start within {START_TIMEOUT_SECONDS} s")


def _create_project(address: str, admin_key: str) -> str:
    with grpc.insecure_channel(address) as channel:
        reply = projects_pb2_grpc.ProjectServiceStub(channel).CreateProject(
            projects_pb2.CreateProjectRequest(name="benchmark"),
            metadata=(("authorization", f"Bearer {admin_key}"),),
        )
    return reply.initial_api_key.secret


def _postgres_processes(data_dir: Path) -> list[psutil.Process]:
    pid_file = data_dir / "postgres" / "postmaster.pid"
    if not pid_file.exists():
        return []
    with contextlib.suppress(psutil.Error, ValueError):
        postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
        return [postmaster, *postmaster.children(recursive=True)]
    return []


def _postgres_cpu(data_dir: Path) -> float:
    """Live processes' CPU, plus the postmaster's reaped children (backends that have exited)."""
    total = 0.0
    for process in _postgres_processes(data_dir):
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


def _run_delay(schedstat: str) -> float:
    """The scheduler's run-queue wait of a thread (the second figure of its schedstat, nanoseconds)."""
    with contextlib.suppress(OSError):
        return int(Path(schedstat).read_text().split()[1]) / 1e9
    return 0.0


def _stop_postgres(data_dir: Path) -> None:
    """The embedded PostgreSQL stops with the last Herald process using it, but a ``herald serve`` killed
    after 30 s never stops it; a benchmark's must not outlive the benchmark."""
    import pgserver

    pgdata = data_dir / "postgres"
    if not (pgdata / "postmaster.pid").exists():
        return
    user = "pgserver" if os.geteuid() == 0 else None
    with contextlib.suppress(subprocess.CalledProcessError):
        pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)


def peak_rss_mb(process: psutil.Process) -> float:
    """The process's peak resident memory so far (VmHWM), in MB."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_report(before: dict[str, float], after: dict[str, float], elapsed: float) -> dict[str, float]:
    """Cores used on average during the run, per side."""
    return {f"{side}_cores": round((after[side] - before[side]) / elapsed, 2) for side in before}
