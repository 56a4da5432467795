"""SendTransactional end to end through a channel plugin and its emulator, and the feedback loop back.

Uses the example out-of-tree channel (sms.webhook), so this also proves that the kernel drives any
plugin purely through the contract.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import grpc
import pytest
from google.protobuf import struct_pb2
from google.protobuf.duration_pb2 import Duration

from herald.v1 import (
    channels_pb2,
    channels_pb2_grpc,
    common_pb2,
    messages_pb2,
    messages_pb2_grpc,
    profiles_pb2,
)
from kernel.delivery.retry import RETRY_AFTER_SPREAD
from kernel.server import RunningServer
from tests.conftest import ProjectKey, replay_answer, rpc_error

CHANNEL = "sms.webhook"
PHONE = "+33612345678"


@pytest.fixture(scope="session")
def messages(channel: grpc.aio.Channel) -> messages_pb2_grpc.MessageServiceStub:
    """MessageService client."""
    return messages_pb2_grpc.MessageServiceStub(channel)


@pytest.fixture
async def gateway(server: RunningServer) -> AsyncIterator[Any]:
    """The example channel's gateway emulator; the kernel's senders point at it."""
    async with server.kernel.channels.emulator(CHANNEL) as emulator:
        server.kernel.senders.endpoints[CHANNEL] = emulator.endpoint
        yield emulator
        server.kernel.senders.endpoints.pop(CHANNEL)


@pytest.fixture
async def configured(channel: grpc.aio.Channel, project: ProjectKey, gateway: Any) -> ProjectKey:
    """The project, with the example channel configured for the gateway emulator."""
    config = struct_pb2.Struct()
    config.update({"url": "https://sms-gateway.example/messages", "token": gateway.token})
    await channels_pb2_grpc.ChannelServiceStub(channel).SetChannelConfig(
        channels_pb2.SetChannelConfigRequest(channel=CHANNEL, config=config), metadata=project.auth
    )
    return project


async def ann(profiles, project: ProjectKey, **changes: Any) -> str:
    reply = await profiles.UpsertProfile(
        profiles_pb2.UpsertProfileRequest(
            profile=common_pb2.ProfileRef(custom_id="ann"),
            attributes={
                "first_name": common_pb2.AttributeValue(string_value="Ann"),
                "vip": common_pb2.AttributeValue(bool_value=True),
            },
            add_addresses=[common_pb2.Address(kind="phone", value=PHONE)],
            **changes,
        ),
        metadata=project.auth,
    )
    return reply.profile_id


def request(**fields: Any) -> messages_pb2.SendTransactionalRequest:
    fields.setdefault("profile", common_pb2.ProfileRef(custom_id="ann"))
    fields.setdefault("channels", [CHANNEL])
    fields.setdefault(
        "template",
        messages_pb2.MessageTemplate(text="Hi {{ first_name }}{% if vip %} (VIP){% endif %}, {{ code }}"),
    )
    return messages_pb2.SendTransactionalRequest(**fields)


CODE = {"code": common_pb2.AttributeValue(string_value="123456")}


async def test_personalised_message_reaches_the_provider(messages, profiles, configured, gateway, db) -> None:
    profile_id = await ann(profiles, configured)
    reply = await messages.SendTransactional(request(data=CODE), metadata=configured.auth)
    [delivery] = reply.deliveries
    assert delivery.status == messages_pb2.DELIVERY_STATUS_ACCEPTED
    assert delivery.provider_id.startswith("gw-")
    assert gateway.accepted[-1]["text"] == "Hi Ann (VIP), 123456"
    assert gateway.accepted[-1]["to"] == PHONE
    assert gateway.accepted[-1]["message_id"] == delivery.message_id
    row = await db.fetchrow(
        "SELECT * FROM messages WHERE project_id = $1 AND message_id::text = $2",
        configured.project_id,
        delivery.message_id,
    )
    assert (row["status"], row["provider_id"], str(row["profile_id"])) == (
        "sent",
        delivery.provider_id,
        profile_id,
    )


async def test_a_request_id_replays_without_sending(messages, profiles, configured, gateway) -> None:
    await ann(profiles, configured)
    first, first_replayed = await replay_answer(
        messages.SendTransactional(request(data=CODE, request_id="reset-1"), metadata=configured.auth)
    )
    sent = len(gateway.accepted)
    again, again_replayed = await replay_answer(
        messages.SendTransactional(request(data=CODE, request_id="reset-1"), metadata=configured.auth)
    )
    assert again_replayed and not first_replayed
    assert again == first
    assert len(gateway.accepted) == sent
    _, other_replayed = await replay_answer(
        messages.SendTransactional(request(data=CODE, request_id="reset-2"), metadata=configured.auth)
    )
    assert not other_replayed and len(gateway.accepted) == sent + 1


async def test_raw_address_needs_no_profile(messages, configured, gateway) -> None:
    raw = common_pb2.Address(kind="phone", value="+33 6 98 76 54 32")
    reply = await messages.SendTransactional(
        messages_pb2.SendTransactionalRequest(
            address=raw, channels=[CHANNEL], template=messages_pb2.MessageTemplate(text="Welcome")
        ),
        metadata=configured.auth,
    )
    assert reply.deliveries[0].status == messages_pb2.DELIVERY_STATUS_ACCEPTED
    assert gateway.accepted[-1]["to"] == "+33698765432"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"channels": []}, "channels"),
        ({"channels": ["carrier.pigeon"]}, "channels[0]"),
        ({"channels": [CHANNEL, CHANNEL]}, "channels[1]"),
        ({"template": messages_pb2.MessageTemplate(text="{% if %}")}, "template.text"),
        ({"template": messages_pb2.MessageTemplate(text="x", priority="urgent")}, "template.priority"),
        (  # SparkPost's campaign_id: at most 64 bytes
            {
                "channels": ["email.sparkpost"],
                "template": messages_pb2.MessageTemplate(text="x", campaign="c" * 65),
            },
            "template.campaign",
        ),
        ({"request_id": "k" * 129}, "request_id"),
        ({"template": messages_pb2.MessageTemplate(text="x", ttl=Duration(seconds=-5))}, "template.ttl"),
        ({"template": messages_pb2.MessageTemplate(text="x", badge=-2)}, "template.badge"),
        ({"profile": common_pb2.ProfileRef()}, "profile"),
        ({"data": {"bad key": common_pb2.AttributeValue(string_value="x")}}, 'data["bad key"]'),
        # The channels' own rules (herald_validate_template), before anything is looked up or sent.
        (
            {
                "channels": ["email.smtp"],
                "template": messages_pb2.MessageTemplate(subject="Hi\r\nBcc: all@example.com", text="x"),
            },
            "template.subject",
        ),
        (
            {
                "channels": ["push.fcm"],
                "template": messages_pb2.MessageTemplate(title="t", data={"order": "1", "google.c.a": "x"}),
            },
            'template.data["google.c.a"]',
        ),
    ],
)
async def test_bad_requests_name_the_field(messages, profiles, configured, gateway, fields, field) -> None:
    await ann(profiles, configured)
    error = await rpc_error(messages.SendTransactional(request(**fields), metadata=configured.auth))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith(f"{field}:"), error.details()
    assert gateway.accepted == []


async def test_raw_address_must_match_the_channel(messages, configured) -> None:
    email = common_pb2.Address(kind="email", value="ann@example.com")
    error = await rpc_error(
        messages.SendTransactional(
            messages_pb2.SendTransactionalRequest(
                address=email, channels=[CHANNEL], template=messages_pb2.MessageTemplate(text="x")
            ),
            metadata=configured.auth,
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("channels[0]:")


async def test_unconfigured_channel_and_unknown_profile(messages, profiles, project, gateway) -> None:
    error = await rpc_error(messages.SendTransactional(request(), metadata=project.auth))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    await ann(profiles, project)
    error = await rpc_error(messages.SendTransactional(request(), metadata=project.auth))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and error.details().startswith("channels:")


async def test_profile_without_address(messages, profiles, configured) -> None:
    await profiles.UpsertProfile(
        profiles_pb2.UpsertProfileRequest(profile=common_pb2.ProfileRef(custom_id="ann")),
        metadata=configured.auth,
    )
    reply = await messages.SendTransactional(request(data=CODE), metadata=configured.auth)
    assert [d.status for d in reply.deliveries] == [messages_pb2.DELIVERY_STATUS_NO_ADDRESS]


async def test_dead_number_fails_and_is_pruned(messages, profiles, configured, gateway) -> None:
    await ann(profiles, configured)
    gateway.invalidate(PHONE)
    reply = await messages.SendTransactional(request(data=CODE), metadata=configured.auth)
    assert reply.deliveries[0].status == messages_pb2.DELIVERY_STATUS_FAILED
    assert reply.deliveries[0].reason == "invalid_address"
    view = await profiles.GetProfile(
        profiles_pb2.GetProfileRequest(profile=common_pb2.ProfileRef(custom_id="ann")),
        metadata=configured.auth,
    )
    assert list(view.addresses) == []


async def test_throttled_provider_schedules_a_retry(messages, profiles, configured, gateway, db) -> None:
    await ann(profiles, configured)
    gateway.fail_next(1, 429, retry_after=60)
    reply = await messages.SendTransactional(request(data=CODE), metadata=configured.auth)
    assert reply.deliveries[0].status == messages_pb2.DELIVERY_STATUS_RETRY_SCHEDULED
    row = await db.fetchrow(
        "SELECT status, next_attempt_at - now() AS wait FROM messages WHERE project_id = $1",
        configured.project_id,
    )
    # The provider's Retry-After, stretched as the retry policy spreads retries (less the moments since).
    assert row["status"] == "retry" and 50 < row["wait"].total_seconds() <= 60 * (1 + RETRY_AFTER_SPREAD)


async def test_a_retry_due_after_the_maximum_age_is_given_up_at_once(
    messages, profiles, configured, gateway, db, server
) -> None:
    await ann(profiles, configured)
    later = server.kernel.settings.message_max_age_seconds + 1
    gateway.fail_next(1, 429, retry_after=later)
    reply = await messages.SendTransactional(request(data=CODE), metadata=configured.auth)
    assert [(d.status, d.reason) for d in reply.deliveries] == [
        (messages_pb2.DELIVERY_STATUS_FAILED, "expired")
    ]
    row = await db.fetchrow(
        "SELECT status, attempts, next_attempt_at, payload FROM messages WHERE project_id = $1",
        configured.project_id,
    )
    assert tuple(row) == ("expired", 1, None, None)


async def test_transactional_opt_out_is_respected(messages, profiles, configured, gateway) -> None:
    opt_out = common_pb2.Subscription(
        channel="sms",
        purpose=common_pb2.PURPOSE_TRANSACTIONAL,
        status=common_pb2.SUBSCRIPTION_STATUS_OPTED_OUT,
    )
    await ann(profiles, configured, subscriptions=[opt_out])
    reply = await messages.SendTransactional(request(data=CODE), metadata=configured.auth)
    assert [(d.status, d.reason) for d in reply.deliveries] == [
        (messages_pb2.DELIVERY_STATUS_SUPPRESSED, "opted_out")
    ]
    assert gateway.accepted == []


@pytest.fixture
async def webhook_token(channel: grpc.aio.Channel, configured: ProjectKey) -> str:
    """The token Herald generated for the project's webhook, as GetChannelConfig shows it."""
    shown = await channels_pb2_grpc.ChannelServiceStub(channel).GetChannelConfig(
        channels_pb2.GetChannelConfigRequest(channel=CHANNEL), metadata=configured.auth
    )
    return shown.webhook.credentials["Authorization"].removeprefix("Bearer ")


def report(message_id: str, status: str, report_id: str) -> dict[str, str]:
    return {
        "id": report_id,
        "message_id": message_id,
        "to": PHONE,
        "status": status,
        "at": datetime.now(UTC).isoformat(),
    }


async def test_feedback_lands_on_the_profile_once(
    messages, profiles, configured, gateway, server, webhook_token
) -> None:
    await ann(profiles, configured)
    reply = await messages.SendTransactional(request(data=CODE), metadata=configured.auth)
    url = f"http://127.0.0.1:{server.webhooks.port}/webhooks/{configured.project_id}/{CHANNEL}"
    delivered = report(reply.deliveries[0].message_id, "delivered", "r1")
    assert await gateway.post_reports(url, [delivered], webhook_token) == 200
    assert await gateway.post_reports(url, [delivered], webhook_token) == 200  # the gateway retried
    await server.kernel.webhook_queue.drain(configured.project_id)
    view = await profiles.GetProfile(
        profiles_pb2.GetProfileRequest(profile=common_pb2.ProfileRef(custom_id="ann")),
        metadata=configured.auth,
    )
    feedback = [e for e in view.recent_events if e.name == "herald.message.delivered"]
    assert len(feedback) == 1
    assert feedback[0].attributes["message_id"].string_value == reply.deliveries[0].message_id


async def test_bounce_suppresses_and_stop_opts_out_of_marketing(
    messages, profiles, configured, gateway, server, webhook_token
) -> None:
    await ann(profiles, configured)
    url = f"http://127.0.0.1:{server.webhooks.port}/webhooks/{configured.project_id}/{CHANNEL}"
    assert await gateway.post_reports(url, [report("", "stop", "r2")], webhook_token) == 200
    await server.kernel.webhook_queue.drain(configured.project_id)
    view = await profiles.GetProfile(
        profiles_pb2.GetProfileRequest(profile=common_pb2.ProfileRef(custom_id="ann")),
        metadata=configured.auth,
    )
    marketing = [s for s in view.subscriptions if s.purpose == common_pb2.PURPOSE_MARKETING]
    assert [(s.channel, s.status) for s in marketing] == [("sms", common_pb2.SUBSCRIPTION_STATUS_OPTED_OUT)]
    # A STOP withdraws marketing consent only: transactional messages still go.
    reply = await messages.SendTransactional(request(data=CODE), metadata=configured.auth)
    assert reply.deliveries[0].status == messages_pb2.DELIVERY_STATUS_ACCEPTED

    assert await gateway.post_reports(url, [report("", "undeliverable", "r3")], webhook_token) == 200
    await server.kernel.webhook_queue.drain(configured.project_id)
    sent = len(gateway.accepted)
    reply = await messages.SendTransactional(request(data=CODE), metadata=configured.auth)
    assert [(d.status, d.reason) for d in reply.deliveries] == [
        (messages_pb2.DELIVERY_STATUS_SUPPRESSED, "bounced")
    ]
    assert len(gateway.accepted) == sent


async def test_webhook_refuses_bad_credentials_and_unknown_targets(
    configured, gateway, server, other_project
) -> None:
    base = f"http://127.0.0.1:{server.webhooks.port}/webhooks"
    async with aiohttp.ClientSession() as session:
        # The gateway's own API token is not the webhook's: Herald generated that one.
        for token in ("x", gateway.token):
            async with session.post(
                f"{base}/{configured.project_id}/{CHANNEL}",
                json=[],
                headers={"Authorization": f"Bearer {token}"},
            ) as r:
                assert r.status == 401
        for target in (
            f"{other_project.project_id}/{CHANNEL}",
            f"{configured.project_id}/nope",
            f"not-a-uuid/{CHANNEL}",
        ):
            async with session.post(f"{base}/{target}", json=[]) as r:
                assert r.status == 404, target
