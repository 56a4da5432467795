"""Fixtures of the bulk-delivery tests: the MessageService client, the SparkPost and SMS gateway
emulators the kernel's senders point at, a project with both channels configured, and sender workers
started by the test itself.

The kernel's own in-process workers are stopped while these tests run (``quiet_kernel_workers``), so
that each test decides which workers run, with which settings and clock; ``kernel_workers`` starts them
for the tests that exercise the kernel as deployed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2

from herald.v1 import channels_pb2, channels_pb2_grpc, messages_pb2_grpc
from kernel.delivery.registry import new_worker_id
from kernel.delivery.worker import SenderWorker
from kernel.server import RunningServer
from tests.conftest import ProjectKey

EMAIL = "email.sparkpost"
SMS = "sms.webhook"
SPARKPOST_KEY = "sparkpost-test-key"
#: Worker settings that make tests quick: short backoff and lease, small batches, frequent heartbeats.
FAST = {
    "retry_base_seconds": 0.1,
    "retry_max_seconds": 1.0,
    "lease_seconds": 2.0,
    "heartbeat_seconds": 0.2,
    "worker_batch_size": 50,
}


@pytest.fixture(scope="session")
def messages(channel: grpc.aio.Channel) -> messages_pb2_grpc.MessageServiceStub:
    """MessageService client."""
    return messages_pb2_grpc.MessageServiceStub(channel)


@pytest.fixture(autouse=True)
async def quiet_kernel_workers(server: RunningServer) -> AsyncIterator[None]:
    """The kernel's in-process workers are stopped for the test (and restarted after it)."""
    was_running = server.kernel.workers.running
    await server.kernel.workers.stop()
    yield
    if was_running:
        server.kernel.workers.start()


@pytest.fixture
async def kernel_workers(server: RunningServer, quiet_kernel_workers: None) -> None:
    """The kernel's in-process workers, as deployed (worker_count from the settings)."""
    server.kernel.workers.start()


@contextlib.asynccontextmanager
async def pointed_emulator(server: RunningServer, name: str) -> AsyncIterator[Any]:
    """The channel's emulator, running in this process, with the kernel's senders pointed at it."""
    async with server.kernel.channels.emulator(name) as emulator:
        server.kernel.senders.endpoints[name] = emulator.endpoint
        yield emulator
        server.kernel.senders.endpoints.pop(name)


@pytest.fixture
async def sparkpost(server: RunningServer) -> AsyncIterator[Any]:
    """The SparkPost emulator, in this process; the kernel's senders point at it."""
    async with pointed_emulator(server, EMAIL) as emulator:
        emulator.api_key = SPARKPOST_KEY
        yield emulator


@pytest.fixture
async def gateway(server: RunningServer) -> AsyncIterator[Any]:
    """The example SMS channel's gateway emulator; the kernel's senders point at it."""
    async with pointed_emulator(server, SMS) as emulator:
        yield emulator


async def configure(
    channel: grpc.aio.Channel, project: ProjectKey, name: str, config: dict[str, Any]
) -> None:
    message = struct_pb2.Struct()
    message.update(config)
    await channels_pb2_grpc.ChannelServiceStub(channel).SetChannelConfig(
        channels_pb2.SetChannelConfigRequest(channel=name, config=message), metadata=project.auth
    )


@pytest.fixture
async def configured(
    channel: grpc.aio.Channel, project: ProjectKey, sparkpost: Any, gateway: Any
) -> ProjectKey:
    """The project, with SparkPost and the SMS gateway configured (both emulated)."""
    await configure(channel, project, EMAIL, {"api_key": SPARKPOST_KEY, "from_address": "news@herald.test"})
    await configure(
        channel, project, SMS, {"url": "https://sms-gateway.example/messages", "token": gateway.token}
    )
    return project


@contextlib.asynccontextmanager
async def sender_worker(
    server: RunningServer,
    *,
    clock: Callable[[], float] | None = None,
    worker_id: str | None = None,
    **settings: Any,
) -> AsyncIterator[SenderWorker]:
    """A sender worker of the test's own (quick settings, plus ``settings``), running for the block."""
    kernel = server.kernel
    worker = SenderWorker(
        kernel.db.pool,
        kernel.channels,
        kernel.senders,
        kernel.settings.model_copy(update={**FAST, **settings}),
        worker_id or new_worker_id(),
        **({"clock": clock} if clock else {}),
    )
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def worker(server: RunningServer) -> AsyncIterator[SenderWorker]:
    """One quick sender worker for the test."""
    async with sender_worker(server) as running:
        yield running
