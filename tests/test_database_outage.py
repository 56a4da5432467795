"""A kernel whose database goes away: calls answer UNAVAILABLE ("database unreachable"), which clients'
retry policies retry, and no status carries an exception's name or text.

The kernel here is the test's own, reaching the session's PostgreSQL through a loopback relay that the
test cuts, as a network partition or a stopped PostgreSQL would: the shared database keeps serving the
other tests.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import grpc
import pytest

from herald.v1 import common_pb2, profiles_pb2, profiles_pb2_grpc, projects_pb2, projects_pb2_grpc
from kernel.server import running
from kernel.settings import Settings
from tests.conftest import ADMIN, ADMIN_KEY, bearer, new_project, rpc_error

UNREACHABLE = "database unreachable, retry later"


@dataclass
class Relay:
    """Copies bytes between the kernel and PostgreSQL until :meth:`cut`."""

    upstream: str
    listener: asyncio.Server | None = None
    writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> int:
        self.listener = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return self.listener.sockets[0].getsockname()[1]

    def cut(self) -> None:
        """Refuse new connections and drop the open ones, as a database that went away."""
        assert self.listener is not None
        self.listener.close()
        for writer in self.writers:
            writer.transport.abort()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await self._connect_upstream()
        self.writers |= {writer, up_writer}
        await asyncio.gather(_copy(reader, up_writer), _copy(up_reader, writer))

    async def _connect_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        parts = urlsplit(self.upstream)
        port = parts.port or 5432
        socket_dir = parse_qs(parts.query).get("host", [""])[0]
        if socket_dir.startswith("/"):
            return await asyncio.open_unix_connection(f"{socket_dir}/.s.PGSQL.{port}")
        return await asyncio.open_connection(parts.hostname or "127.0.0.1", port)


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


def through(database_url: str, port: int) -> str:
    """``database_url`` with its server replaced by the relay on ``port``."""
    parts = urlsplit(database_url)
    credentials = parts.netloc.rpartition("@")[0]
    query = {k: v for k, v in parse_qs(parts.query).items() if k != "host"}
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, doseq=True), ""))


@pytest.fixture
async def relay(database_url: str) -> AsyncIterator[tuple[Relay, int]]:
    link = Relay(database_url)
    port = await link.start()
    yield link, port
    if link.listener is not None:
        link.listener.close()


async def test_calls_answer_unavailable_while_the_database_is_unreachable(
    settings: Settings, database_url: str, relay: tuple[Relay, int]
) -> None:
    link, port = relay
    own = settings.model_copy(update={"database_url": through(database_url, port), "worker_count": 0})
    async with running(own, ADMIN_KEY) as server, grpc.aio.insecure_channel(server.address) as channel:
        projects = projects_pb2_grpc.ProjectServiceStub(channel)
        profiles = profiles_pb2_grpc.ProfileServiceStub(channel)
        project = await new_project(projects)
        ann = common_pb2.ProfileRef(custom_id="ann")
        await profiles.UpsertProfile(profiles_pb2.UpsertProfileRequest(profile=ann), metadata=project.auth)

        link.cut()

        calls = {
            "a read, key cached": profiles.GetProfile(
                profiles_pb2.GetProfileRequest(profile=ann), metadata=project.auth
            ),
            "events": profiles.TrackEvents(
                profiles_pb2.TrackEventsRequest(events=[profiles_pb2.TrackedEvent(profile=ann, name="x")]),
                metadata=project.auth,
            ),
            "admin": projects.ListProjects(projects_pb2.ListProjectsRequest(), metadata=ADMIN),
            "a key to look up": profiles.GetProfile(
                profiles_pb2.GetProfileRequest(profile=ann), metadata=bearer("hrk_not_cached")
            ),
        }
        for name, call in calls.items():
            error = await rpc_error(call)
            assert error.code() == grpc.StatusCode.UNAVAILABLE, (name, error.details())
            assert "database unreachable" in error.details(), name
            assert "Error" not in error.details() and "<class" not in error.details(), name
        error = await rpc_error(
            profiles.GetProfile(profiles_pb2.GetProfileRequest(profile=ann), metadata=project.auth)
        )
        assert error.details() == UNREACHABLE
