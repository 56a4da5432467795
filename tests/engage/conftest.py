"""Fixtures of the engagement tests: the CampaignService client, the bulk-delivery fixtures (emulated
SparkPost and SMS gateway, a configured project, a sender worker of the test's own), and kernels of the
test's own on the session's database (to stop one and start another, or run two at once)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import grpc
import pytest

from herald.v1 import campaigns_pb2_grpc
from kernel.server import RunningServer, running
from kernel.settings import Settings
from tests.conftest import ADMIN_KEY
from tests.delivery.conftest import (  # noqa: F401 (fixtures)
    configured,
    gateway,
    messages,
    quiet_kernel_workers,
    sparkpost,
    worker,
)


@pytest.fixture(scope="session")
def campaigns(channel: grpc.aio.Channel) -> campaigns_pb2_grpc.CampaignServiceStub:
    """CampaignService client."""
    return campaigns_pb2_grpc.CampaignServiceStub(channel)


@pytest.fixture
async def quiet_session_scheduler(server: RunningServer) -> AsyncIterator[None]:
    """The session kernel's scheduler is stopped for the test: only the test's own kernels run timers."""
    await server.kernel.scheduler.stop()
    yield
    server.kernel.scheduler.start()


@contextlib.asynccontextmanager
async def other_kernel(settings: Settings) -> AsyncIterator[RunningServer]:
    """Another kernel on the session's database, polling for timers often; it sends nothing itself (no
    workers): the test's sender worker, pointed at the emulators, delivers what it creates."""
    quick = settings.model_copy(
        update={"scheduler_poll_seconds": 0.05, "worker_count": 0, "webhook_workers": 0}
    )
    async with running(quick, ADMIN_KEY) as kernel:
        yield kernel
