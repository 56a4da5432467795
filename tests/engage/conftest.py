"""Fixtures of the engagement tests: the TemplateService client, and the bulk-delivery fixtures (emulated
SparkPost and SMS gateway, a configured project, a sender worker of the test's own)."""

from __future__ import annotations

import grpc
import pytest

from herald.v1 import templates_pb2_grpc
from tests.delivery.conftest import (  # noqa: F401 (fixtures)
    configured,
    gateway,
    messages,
    quiet_kernel_workers,
    sparkpost,
    worker,
)


@pytest.fixture(scope="session")
def templates(channel: grpc.aio.Channel) -> templates_pb2_grpc.TemplateServiceStub:
    """TemplateService client."""
    return templates_pb2_grpc.TemplateServiceStub(channel)
