"""Fixtures of the engagement tests: the SegmentService and TemplateService clients, the domain's view of
conditions, and the bulk-delivery fixtures (emulated SparkPost and SMS gateway, a configured project, a
sender worker of the test's own)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
import grpc
import pytest

from herald.v1 import segments_pb2 as pb
from herald.v1 import segments_pb2_grpc, templates_pb2_grpc
from kernel.engage.segments import Vocabulary, parse_condition
from kernel.engage.segments.freeze import inline
from kernel.engage.segments.queries import preview
from kernel.server import RunningServer
from tests.delivery.conftest import (  # noqa: F401 (fixtures)
    configured,
    gateway,
    messages,
    quiet_kernel_workers,
    sparkpost,
    worker,
)


@pytest.fixture(scope="session")
def segments(channel: grpc.aio.Channel) -> segments_pb2_grpc.SegmentServiceStub:
    """SegmentService client."""
    return segments_pb2_grpc.SegmentServiceStub(channel)


@pytest.fixture(scope="session")
def templates(channel: grpc.aio.Channel) -> templates_pb2_grpc.TemplateServiceStub:
    """TemplateService client."""
    return templates_pb2_grpc.TemplateServiceStub(channel)


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
