"""Shared fixtures: one real PostgreSQL and one real gRPC server (loopback, free port) per test session.

The database is the embedded one (pgserver) in a temporary folder, unless ``HERALD_TEST_DATABASE_URL``
points at an existing server. Tests isolate themselves by creating their own project (``project``).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import grpc
import pytest
from google.protobuf import duration_pb2, struct_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import settings as hypothesis_settings

from herald.v1 import channels_pb2, channels_pb2_grpc, profiles_pb2_grpc, projects_pb2, projects_pb2_grpc
from kernel.server import RunningServer, running
from kernel.settings import Settings
from plugins.sparkpost.emulator import SparkPostEmulator

ADMIN_KEY = "test-admin-key"

# No example may fail for being slow: the machines are shared and noisy, and speed is the benchmarks' job.
hypothesis_settings.register_profile("herald", deadline=None)
hypothesis_settings.load_profile("herald")


@pytest.fixture(scope="session")
def data_dir() -> Iterator[Path]:
    """A scratch data folder for the session."""
    with tempfile.TemporaryDirectory(prefix="herald-test-") as folder:
        yield Path(folder)


@pytest.fixture(scope="session")
def database_url(data_dir: Path) -> Iterator[str]:
    """A real PostgreSQL, fresh for the session (embedded unless HERALD_TEST_DATABASE_URL is set)."""
    external = os.environ.get("HERALD_TEST_DATABASE_URL")
    if external:
        yield external
        return
    import pgserver

    # "delete": unlike Herald's own embedded server, the test one stops (and vanishes) with the session.
    embedded = pgserver.get_server(data_dir.resolve() / "postgres", cleanup_mode="delete")
    try:
        yield embedded.get_uri()
    finally:
        embedded.cleanup()


@pytest.fixture(scope="session")
def settings(database_url: str, data_dir: Path) -> Settings:
    """Settings for the test server: real database, free loopback port, fixed admin key."""
    return Settings(
        grpc_address="127.0.0.1:0",
        webhook_address="127.0.0.1:0",
        database_url=database_url,
        admin_key=ADMIN_KEY,
        data_dir=data_dir,
        shutdown_grace_seconds=1.0,
        log_format="text",
        metrics_address="127.0.0.1:0",
        # Outgoing webhooks posted and retried within the tests' patience (the backoff's shape is kept).
        outhook_poll_seconds=0.1,
        outhook_retry_base_seconds=0.4,
        outhook_retry_max_seconds=2.0,
        # The tests' endpoints are on this machine.
        outhook_private_networks=True,
    )


@pytest.fixture(scope="session")
async def server(settings: Settings) -> AsyncIterator[RunningServer]:
    """The Herald kernel, serving gRPC on a loopback port."""
    async with running(settings, ADMIN_KEY) as running_server:
        yield running_server


@pytest.fixture(scope="session")
async def channel(server: RunningServer) -> AsyncIterator[grpc.aio.Channel]:
    """A client channel to the test server."""
    async with grpc.aio.insecure_channel(server.address) as client_channel:
        yield client_channel


@pytest.fixture(scope="session")
async def db(server: RunningServer) -> asyncpg.Pool:
    """The kernel's own pool, for tests that check what is (or is not) stored."""
    return server.kernel.db.pool


@pytest.fixture
async def scratch_url(database_url: str) -> AsyncIterator[str]:
    """An empty database of this test's own, in the session's server."""
    name = f"scratch_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield urlsplit(database_url)._replace(path=f"/{name}").geturl()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def bearer(key: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),)


ADMIN = bearer(ADMIN_KEY)


@dataclass(frozen=True)
class ProjectKey:
    project_id: uuid.UUID
    key: str

    @property
    def auth(self) -> tuple[tuple[str, str], ...]:
        return bearer(self.key)


@pytest.fixture(scope="session")
def projects(channel: grpc.aio.Channel) -> projects_pb2_grpc.ProjectServiceStub:
    """ProjectService client."""
    return projects_pb2_grpc.ProjectServiceStub(channel)


@pytest.fixture(scope="session")
def profiles(channel: grpc.aio.Channel) -> profiles_pb2_grpc.ProfileServiceStub:
    """ProfileService client."""
    return profiles_pb2_grpc.ProfileServiceStub(channel)


def days(count: int) -> duration_pb2.Duration:
    """A span of whole days, as ProjectSettings.inactivity_retention takes it."""
    return duration_pb2.Duration(seconds=count * 86_400)


async def new_project(
    stub: projects_pb2_grpc.ProjectServiceStub, name: str = "test", **settings: object
) -> ProjectKey:
    reply = await stub.CreateProject(
        projects_pb2.CreateProjectRequest(name=name, settings=projects_pb2.ProjectSettings(**settings)),
        metadata=ADMIN,
    )
    return ProjectKey(uuid.UUID(reply.project_id), reply.initial_api_key.secret)


@pytest.fixture
async def project(projects: projects_pb2_grpc.ProjectServiceStub) -> ProjectKey:
    """A new, empty project of this test's own, with an API key."""
    return await new_project(projects)


@pytest.fixture
async def other_project(projects: projects_pb2_grpc.ProjectServiceStub) -> ProjectKey:
    """A second project, to check that nothing crosses tenants."""
    return await new_project(projects, "other")


async def rpc_error(call: object) -> grpc.aio.AioRpcError:
    """Await ``call`` and return the RpcError it must raise."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return caught.value


async def replay_answer(call: Any) -> tuple[Any, bool]:
    """Await a create's ``call``: its answer, and whether it says it replays an earlier call's (the
    ``herald-replayed: true`` trailer every create uses)."""
    reply = await call
    return reply, ("herald-replayed", "true") in tuple(await call.trailing_metadata() or ())


def field_violations(error: grpc.aio.AioRpcError) -> list[tuple[str, str]]:
    """The (field, description) pairs of the error's google.rpc.BadRequest detail."""
    status = rpc_status.from_call(error)
    assert status is not None, "no google.rpc.Status in the trailers"
    violations = []
    for detail in status.details:
        request = error_details_pb2.BadRequest()
        assert detail.Unpack(request), detail.type_url
        violations.extend((v.field, v.description) for v in request.field_violations)
    return violations


SPARKPOST = "email.sparkpost"


@pytest.fixture
async def sparkpost_config(channel: grpc.aio.Channel, project: ProjectKey) -> channels_pb2.ChannelConfig:
    """SparkPost configured in the project: the answer holds the webhook setup to enter at SparkPost."""
    config = struct_pb2.Struct()
    config.update({"api_key": "sp-key", "from_address": "news@herald.example"})
    return await channels_pb2_grpc.ChannelServiceStub(channel).SetChannelConfig(
        channels_pb2.SetChannelConfigRequest(channel=SPARKPOST, config=config), metadata=project.auth
    )


@pytest.fixture
def sparkpost_webhook_auth(sparkpost_config: channels_pb2.ChannelConfig) -> tuple[str, str]:
    """The basic-auth credentials the operator enters in SparkPost's webhook settings."""
    credentials = sparkpost_config.webhook.credentials
    assert credentials["auth_type"] == "basic"
    return credentials["auth_credentials.username"], credentials["auth_credentials.password"]


@pytest.fixture
async def sparkpost(
    server: RunningServer, sparkpost_config: channels_pb2.ChannelConfig
) -> AsyncIterator[SparkPostEmulator]:
    """SparkPost's emulator, with the kernel's senders pointed at it, in a project configured for it."""
    async with SparkPostEmulator("sp-key") as emulator:
        server.kernel.senders.endpoints[SPARKPOST] = emulator.endpoint
        try:
            yield emulator
        finally:
            server.kernel.senders.endpoints.pop(SPARKPOST)
