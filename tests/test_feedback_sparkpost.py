"""The feedback loop with a real provider's format: SparkPost's emulator posts its event webhooks to
Herald's endpoint, and they reach the profile, the suppression list and consent."""

from __future__ import annotations

import grpc
import pytest

from herald.v1 import (
    common_pb2,
    messages_pb2,
    messages_pb2_grpc,
    profiles_pb2,
)
from kernel.server import RunningServer
from plugins.sparkpost.emulator import SparkPostEmulator
from tests.conftest import SPARKPOST, SPARKPOST_WEBHOOK_AUTH, ProjectKey

EMAIL = "ann@example.com"
ANN = common_pb2.ProfileRef(custom_id="ann")


@pytest.fixture
async def ann(profiles, project: ProjectKey, sparkpost) -> ProjectKey:
    """A project with SparkPost configured (webhooks with basic auth) and a profile with an email."""
    await profiles.UpsertProfile(
        profiles_pb2.UpsertProfileRequest(
            profile=ANN, add_addresses=[common_pb2.Address(kind=common_pb2.ADDRESS_KIND_EMAIL, value=EMAIL)]
        ),
        metadata=project.auth,
    )
    return project


async def send(channel: grpc.aio.Channel, project: ProjectKey) -> messages_pb2.Delivery:
    reply = await messages_pb2_grpc.MessageServiceStub(channel).SendTransactional(
        messages_pb2.SendTransactionalRequest(
            profile=ANN,
            channels=[SPARKPOST],
            template=messages_pb2.MessageTemplate(subject="Your receipt", text="Thanks!"),
        ),
        metadata=project.auth,
    )
    [delivery] = reply.deliveries
    return delivery


async def test_sparkpost_events_reach_profile_and_suppression_list(
    channel, profiles, ann: ProjectKey, sparkpost: SparkPostEmulator, server: RunningServer
) -> None:
    delivery = await send(channel, ann)
    assert delivery.status == messages_pb2.DELIVERY_STATUS_ACCEPTED
    record = sparkpost.accepted[-1]
    url = f"http://127.0.0.1:{server.webhooks.port}/webhooks/{ann.project_id}/{SPARKPOST}"

    # Unauthenticated webhook calls are refused: anyone could otherwise suppress a customer.
    assert await sparkpost.post_events(url, [sparkpost.event("delivery", record)]) == 400

    events = [
        sparkpost.event("delivery", record),
        sparkpost.event("click", record, target_link_url="https://shop.example/offer"),
        sparkpost.event("bounce", record, bounce_class="10", reason="550 5.1.1 user unknown"),
    ]
    assert await sparkpost.post_events(url, events, auth=SPARKPOST_WEBHOOK_AUTH) == 200

    view = await profiles.GetProfile(profiles_pb2.GetProfileRequest(profile=ANN), metadata=ann.auth)
    timeline = {e.name: e for e in view.recent_events}
    assert {"herald.message.delivered", "herald.message.clicked", "herald.message.bounced"} <= set(timeline)
    assert timeline["herald.message.clicked"].attributes["url"].string_value == "https://shop.example/offer"
    assert timeline["herald.message.delivered"].attributes["message_id"].string_value == delivery.message_id

    again = await send(channel, ann)
    assert (again.status, again.reason) == (messages_pb2.DELIVERY_STATUS_SUPPRESSED, "bounced")
    assert len([r for r in sparkpost.accepted if r["email"] == EMAIL]) == 1
