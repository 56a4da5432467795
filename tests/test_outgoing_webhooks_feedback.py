"""A transactional email's life reaches the customer's endpoint: sent (the provider accepted it), then
delivered and opened as the SparkPost emulator reports them by webhook, in sandbox mode."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from herald.v1 import (
    common_pb2,
    messages_pb2,
    messages_pb2_grpc,
    profiles_pb2,
    profiles_pb2_grpc,
    projects_pb2_grpc,
    webhooks_pb2,
    webhooks_pb2_grpc,
)
from kernel.server import RunningServer
from kernel.settings import Settings
from tests.conftest import SPARKPOST, ProjectKey, new_project
from tests.outhook_receiver import Receiver, receiving
from tests.sandbox_support import sandbox_kernel

#: Every message delivered and opened, nothing else: the events to expect are certain.
RATES = {
    "sandbox_feedback_bounced": 0.0,
    "sandbox_feedback_delivered": 1.0,
    "sandbox_feedback_opened": 1.0,
    "sandbox_feedback_clicked": 0.0,
    "sandbox_feedback_unsubscribed": 0.0,
    "sandbox_feedback_unregistered": 0.0,
}
MESSAGE_TYPES = [
    webhooks_pb2.WEBHOOK_EVENT_TYPE_MESSAGE_SENT,
    webhooks_pb2.WEBHOOK_EVENT_TYPE_MESSAGE_DELIVERED,
    webhooks_pb2.WEBHOOK_EVENT_TYPE_MESSAGE_OPENED,
]


@pytest.fixture(scope="module")
async def sandboxed(settings: Settings, server: RunningServer) -> AsyncIterator[RunningServer]:
    """A sandbox kernel with feedback at RATES (see :func:`tests.sandbox_support.sandbox_kernel`)."""
    async with sandbox_kernel(settings, server, RATES) as sandbox:
        yield sandbox


@pytest.fixture
async def client(sandboxed: RunningServer) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(sandboxed.address) as channel:
        yield channel


@pytest.fixture
async def project(client: grpc.aio.Channel) -> ProjectKey:
    """A project that configures no channel (the sandbox's SparkPost serves it)."""
    return await new_project(projects_pb2_grpc.ProjectServiceStub(client))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """The customer's system, on loopback."""
    async for started in receiving():
        yield started


async def test_a_transactional_email_is_followed_sent_delivered_opened(
    sandboxed: RunningServer, client: grpc.aio.Channel, project: ProjectKey, receiver: Receiver
) -> None:
    await webhooks_pb2_grpc.WebhookEndpointServiceStub(client).CreateWebhookEndpoint(
        webhooks_pb2.CreateWebhookEndpointRequest(
            endpoint=webhooks_pb2.WebhookEndpoint(url=receiver.url, event_types=MESSAGE_TYPES)
        ),
        metadata=project.auth,
    )
    ref = common_pb2.ProfileRef(custom_id="buyer")
    upserted = await profiles_pb2_grpc.ProfileServiceStub(client).UpsertProfile(
        profiles_pb2.UpsertProfileRequest(
            profile=ref, add_addresses=[common_pb2.Address(kind="email", value="buyer@shop.example")]
        ),
        metadata=project.auth,
    )
    reply = await messages_pb2_grpc.MessageServiceStub(client).SendTransactional(
        messages_pb2.SendTransactionalRequest(
            profile=ref,
            channels=[SPARKPOST],
            template=messages_pb2.MessageTemplate(
                subject="Your receipt", html="<p>Thanks</p>", text="Thanks"
            ),
        ),
        metadata=project.auth,
    )
    [delivery] = reply.deliveries
    assert delivery.status == messages_pb2.DELIVERY_STATUS_ACCEPTED

    await receiver.until(lambda: len(receiver.delivered()) >= 3)
    events = {event["type"]: event["data"] for event in receiver.delivered()}
    assert set(events) == {"message.sent", "message.delivered", "message.opened"}
    for data in events.values():
        assert (data["message_id"], data["profile_id"], data["channel"]) == (
            delivery.message_id,
            upserted.profile_id,
            SPARKPOST,
        )
    assert events["message.sent"]["provider_id"] == delivery.provider_id
