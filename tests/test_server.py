"""The server as an operator sees it: health checks, reflection, `herald serve` and graceful shutdown."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import psutil
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from herald.v1 import projects_pb2, projects_pb2_grpc
from kernel.server import SERVICE_NAMES
from tests.cli_support import herald
from tests.conftest import bearer


async def test_health_reports_every_service_serving(channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    for service in (*SERVICE_NAMES, ""):
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING, service


async def test_reflection_lists_the_services(channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)

    async def requests():
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    async for reply in stub.ServerReflectionInfo(requests()):
        names = {s.name for s in reply.list_services_response.service}
        assert set(SERVICE_NAMES) <= names
        assert "grpc.health.v1.Health" in names
        break


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_serving(address: str, process: subprocess.Popen[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as client:
        stub = health_pb2_grpc.HealthStub(client)
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read() if process.stderr else "exited"
            try:
                stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                return
            except grpc.RpcError:
                time.sleep(0.2)
    raise AssertionError("herald serve did not become healthy")


@contextlib.contextmanager
def _serving(
    database_url: str, tmp_path: Path, **settings: str
) -> Iterator[tuple[subprocess.Popen[str], int, dict[str, str]]]:
    """`herald serve` as a separate process, on a free port, with no admin key configured."""
    port = _free_port()
    env = {
        **os.environ,
        "HERALD_GRPC_ADDRESS": f"127.0.0.1:{port}",
        "HERALD_WEBHOOK_ADDRESS": "127.0.0.1:0",
        "HERALD_DATABASE_URL": database_url,
        "HERALD_DATA_DIR": str(tmp_path / "data"),
        "HERALD_SHUTDOWN_GRACE_SECONDS": "2",
        # Where it notes its admin key file for clients: the test's, not the user's.
        "XDG_STATE_HOME": str(tmp_path / "state"),
        **{f"HERALD_{name.upper()}": value for name, value in settings.items()},
    }
    env.pop("HERALD_ADMIN_KEY", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "kernel.cli", "serve"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_serving(f"127.0.0.1:{port}", process)
        yield process, port, env
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


@pytest.fixture
def serve_process(database_url: str, tmp_path: Path):
    """`herald serve` as a separate process, on a free port, with no admin key configured."""
    with _serving(database_url, tmp_path) as serving:
        yield serving


def test_first_start_generates_an_admin_key_and_prints_a_first_call(serve_process, tmp_path: Path) -> None:
    process, port, env = serve_process
    key_file = tmp_path / "data" / "admin_key"
    admin_key = key_file.read_text().strip()
    assert admin_key.startswith("hadm_")
    assert key_file.stat().st_mode & 0o077 == 0, "the admin key must be readable by its owner only"

    created = subprocess.run(
        [sys.executable, "-m", "kernel.cli", "project", "create", "First"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    secret = created.stdout.split("API key (shown once): ")[1].split()[0]
    project_id = created.stdout.split("project ")[1].split()[0]
    with grpc.insecure_channel(f"127.0.0.1:{port}") as client:
        projects = projects_pb2_grpc.ProjectServiceStub(client)
        get = projects_pb2.GetProjectRequest(project_id=project_id)
        assert projects.GetProject(get, metadata=bearer(admin_key)).name == "First"
        assert projects.GetProject(get, metadata=bearer(secret)).name == "First"

    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert admin_key in stdout and "herald project create" in stdout  # the script, by name or path
    messages = [json.loads(line)["message"] for line in stderr.splitlines() if line.startswith("{")]
    assert messages.index("herald listening") < messages.index("shutting down")


async def test_a_second_terminal_elsewhere_finds_the_servers_admin_key(serve_process, tmp_path: Path) -> None:
    """Another directory, no HERALD_DATA_DIR: the client finds the key file through the note the server
    left for its port, instead of generating a key of its own in ./herald-data (which the server would
    refuse)."""
    _, port, env = serve_process
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    created = await herald(
        elsewhere,
        "project",
        "create",
        "Second terminal",
        "--address",
        f"127.0.0.1:{port}",
        XDG_STATE_HOME=env["XDG_STATE_HOME"],
    )
    assert created.status == 0, created.err
    assert "API key (shown once): hrk_" in created.out
    assert not (elsewhere / "herald-data").exists()


def test_settings_command_masks_the_admin_key(tmp_path: Path) -> None:
    env = {**os.environ, "HERALD_ADMIN_KEY": "super-secret", "HERALD_MAX_ATTRIBUTES": "12"}
    shown = subprocess.run(
        [sys.executable, "-m", "kernel.cli", "settings"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 0, shown.stderr
    assert "super-secret" not in shown.stdout
    assert '"max_attributes": 12' in shown.stdout
    doc = subprocess.run(
        [sys.executable, "-m", "kernel.cli", "settings", "--doc"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert "HERALD_GRPC_ADDRESS" in doc.stdout and "127.0.0.1:50051" in doc.stdout


def test_api_processes_share_the_port_and_stop_with_the_first(database_url: str, tmp_path: Path) -> None:
    """With api_processes = 2 a sibling answers calls on the same port, on its own: with the first process
    frozen, a call on some new connection is still answered (the system hands each new connection to one
    of the listeners). The sibling stops with the first process."""
    with _serving(database_url, tmp_path, api_processes="2") as (process, port, _):
        first = psutil.Process(process.pid)
        sibling = _sibling_of(first)
        _wait_for_sibling(f"127.0.0.1:{port}", first)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
        assert not sibling.is_running() or sibling.status() == psutil.STATUS_ZOMBIE


def test_an_api_sibling_stops_when_the_first_process_is_killed(database_url: str, tmp_path: Path) -> None:
    """No orphan keeps answering on the port once the process that started it is gone, however it ended."""
    with _serving(database_url, tmp_path, api_processes="2") as (process, port, _):
        first = psutil.Process(process.pid)
        sibling = _sibling_of(first)
        _wait_for_sibling(f"127.0.0.1:{port}", first)
        process.kill()
        process.wait()
        try:
            # Its graceful stop: SHUTDOWN_GRACE_SECONDS, then the database's pool closing.
            sibling.wait(timeout=60)
        finally:
            if sibling.is_running():
                sibling.kill()


def _sibling_of(first: psutil.Process, timeout: float = 30.0) -> psutil.Process:
    """The one process ``first`` started to serve with it (it starts it once it listens itself)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        siblings = [child for child in first.children() if "kernel.cli" in " ".join(child.cmdline())]
        if siblings:
            [sibling] = siblings
            return sibling
        time.sleep(0.1)
    raise AssertionError("no sibling process started")


def _wait_for_sibling(address: str, first: psutil.Process, attempts: int = 40) -> None:
    """A health check answered by another process than ``first`` (frozen meanwhile)."""
    first.suspend()
    try:
        for _ in range(attempts):
            # A channel of its own: a new connection, which the system may hand to either listener.
            with grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)]) as client:
                try:
                    health_pb2_grpc.HealthStub(client).Check(health_pb2.HealthCheckRequest(), timeout=1)
                    return
                except grpc.RpcError:
                    continue
        raise AssertionError(f"no call answered in {attempts} connections with the first process frozen")
    finally:
        first.resume()
