"""Fixtures of the engagement tests: the SegmentService, TemplateService and CampaignService clients, the
domain's view of conditions, the bulk-delivery fixtures (emulated SparkPost and SMS gateway, a configured
project, a sender worker of the test's own), and kernels of the test's own on the session's database (to
stop one and start another, or run two at once)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg
import grpc
import pytest

from herald.v1 import (
    automations_pb2_grpc,
    campaigns_pb2_grpc,
    segments_pb2_grpc,
    templates_pb2_grpc,
    webhooks_pb2_grpc,
)
from herald.v1 import segments_pb2 as pb
from kernel.engage.segments import Vocabulary, parse_condition
from kernel.engage.segments.freeze import inline
from kernel.engage.segments.queries import preview
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
from tests.outhook_receiver import Receiver, receiving


@pytest.fixture(scope="session")
def segments(channel: grpc.aio.Channel) -> segments_pb2_grpc.SegmentServiceStub:
    """SegmentService client."""
    return segments_pb2_grpc.SegmentServiceStub(channel)


@pytest.fixture(scope="session")
def templates(channel: grpc.aio.Channel) -> templates_pb2_grpc.TemplateServiceStub:
    """TemplateService client."""
    return templates_pb2_grpc.TemplateServiceStub(channel)


@pytest.fixture(scope="session")
def automations(channel: grpc.aio.Channel) -> automations_pb2_grpc.AutomationServiceStub:
    """AutomationService client."""
    return automations_pb2_grpc.AutomationServiceStub(channel)


@pytest.fixture
def hooks(channel: grpc.aio.Channel) -> webhooks_pb2_grpc.WebhookEndpointServiceStub:
    """WebhookEndpointService client."""
    return webhooks_pb2_grpc.WebhookEndpointServiceStub(channel)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """The customer's system, receiving the project's outgoing webhooks."""
    async for started in receiving():
        yield started


@pytest.fixture(scope="session")
def campaigns(channel: grpc.aio.Channel) -> campaigns_pb2_grpc.CampaignServiceStub:
    """CampaignService client."""
    return campaigns_pb2_grpc.CampaignServiceStub(channel)


async def matching(
    server: RunningServer, project_id: uuid.UUID, condition: pb.Condition, now: datetime
) -> set[str]:
    """The custom ids of the profiles the condition matches at ``now``, through the domain's own parse,
    inlining and compiled query (the API's Count and Preview take the present instant)."""
    kernel = server.kernel
    parsed = parse_condition(condition, "condition", Vocabulary.of(kernel.channels), kernel.limits)
    conn: asyncpg.Connection
    async with kernel.db.pool.acquire() as conn:
        inlined = await inline(conn, project_id, parsed, "condition")
        rows = await preview(conn, project_id, inlined, now, 100_000, None, [])
    return {row["custom_id"] for row in rows}


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
