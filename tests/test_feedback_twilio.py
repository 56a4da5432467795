"""Twilio status callbacks end to end: the emulator signs them (X-Twilio-Signature, with the account's
auth token) and posts them to Herald's endpoint; a STOP (error 21610) opts the profile out of marketing
SMS, and a callback not signed with the project's auth token changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import grpc
import pytest
from google.protobuf import struct_pb2

from herald.v1 import (
    channels_pb2,
    channels_pb2_grpc,
    common_pb2,
    messages_pb2,
    messages_pb2_grpc,
    profiles_pb2,
)
from kernel.server import RunningServer
from plugins.sms.emulator import TwilioEmulator
from tests.conftest import ProjectKey

CHANNEL = "sms.twilio"
ACCOUNT_SID = "AC" + "5e" * 16
AUTH_TOKEN = "0d4c2b6a8e1f3d5c7b9a0e2d4c6b8a1f"
PHONE = "+447800900123"
ANN = common_pb2.ProfileRef(custom_id="ann")


@pytest.fixture
async def twilio(server: RunningServer) -> AsyncIterator[TwilioEmulator]:
    """Twilio's emulator for one account, with the kernel's senders pointed at it."""
    async with TwilioEmulator(ACCOUNT_SID, AUTH_TOKEN) as emulator:
        server.kernel.senders.endpoints[CHANNEL] = emulator.endpoint
        yield emulator
        server.kernel.senders.endpoints.pop(CHANNEL)


@pytest.fixture
async def ann(
    channel: grpc.aio.Channel, profiles, project: ProjectKey, server: RunningServer, twilio
) -> ProjectKey:
    """The project with Twilio configured (status callbacks to Herald) and a profile with a phone."""
    stub = channels_pb2_grpc.ChannelServiceStub(channel)
    config = struct_pb2.Struct()
    config.update({"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from_number": "+14155550100"})
    shown = await stub.SetChannelConfig(
        channels_pb2.SetChannelConfigRequest(channel=CHANNEL, config=config), metadata=project.auth
    )
    assert shown.webhook.credentials["auth_type"] == "X-Twilio-Signature"
    config.update({"status_callback": f"http://127.0.0.1:{server.webhooks.port}{shown.webhook.path}"})
    await stub.SetChannelConfig(
        channels_pb2.SetChannelConfigRequest(channel=CHANNEL, config=config), metadata=project.auth
    )
    await profiles.UpsertProfile(
        profiles_pb2.UpsertProfileRequest(
            profile=ANN, add_addresses=[common_pb2.Address(kind="phone", value=PHONE)]
        ),
        metadata=project.auth,
    )
    reply = await messages_pb2_grpc.MessageServiceStub(channel).SendTransactional(
        messages_pb2.SendTransactionalRequest(
            profile=ANN, channels=[CHANNEL], template=messages_pb2.MessageTemplate(text="Your code: 1234")
        ),
        metadata=project.auth,
    )
    assert reply.deliveries[0].status == messages_pb2.DELIVERY_STATUS_ACCEPTED
    return project


async def marketing_opt_outs(db: asyncpg.Pool, project: ProjectKey) -> int:
    return await db.fetchval(
        """SELECT count(*) FROM profile_subscriptions
           WHERE project_id = $1 AND purpose = 'marketing' AND status = 'opted_out'""",
        project.project_id,
    )


async def test_signed_stop_opts_out_and_a_forged_one_changes_nothing(
    ann: ProjectKey, twilio: TwilioEmulator, server: RunningServer, db: asyncpg.Pool
) -> None:
    [record] = twilio.accepted
    assert await twilio.post_status(record, "failed", "21610", auth_token="f" * 32) == 401
    await server.kernel.webhook_queue.drain(ann.project_id)
    assert await marketing_opt_outs(db, ann) == 0

    assert await twilio.post_status(record, "failed", "21610") == 200
    await server.kernel.webhook_queue.drain(ann.project_id)
    assert await marketing_opt_outs(db, ann) == 1
