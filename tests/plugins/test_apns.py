"""push.apns against its emulator over real HTTP/2 + TLS on loopback: provider tokens (checked here
with ``cryptography`` alone), alert and background pushes, Apple's error answers, token refresh,
GOAWAY, stream limits and flow control."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import h2.config
import h2.connection
import h2.events
import jwt
import orjson
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.channels import (
    ChannelSender,
    FailureReason,
    MessageContent,
    OutboundMessage,
    Outcome,
)
from kernel.conformance import ChannelConformance
from kernel.plugins import ChannelManager
from plugins.apns.config import ApnsConfig
from plugins.apns.emulator import ApnsEmulator
from plugins.apns.h2client import Response, StreamFailed, connect
from plugins.apns.payload import MAX_PAYLOAD_BYTES, Refusal, body_of, headers_of, payload
from plugins.apns.sender import ApnsSender, _client_context
from tests.plugins.conftest import channel_sender, refused_field, standalone_emulator

CHANNEL = "push.apns"
ALERT = MessageContent(title="Order shipped", body="It is on its way", data={"order": "A-17"})


def token(index: int) -> str:
    return f"{index:064x}"


def messages(count: int, content: MessageContent = ALERT, first: int = 0) -> list[OutboundMessage]:
    return [OutboundMessage(str(uuid.uuid4()), token(first + i), content) for i in range(count)]


def pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
async def emulator() -> AsyncIterator[ApnsEmulator]:
    """An APNs emulator on loopback, with an account of its own."""
    async with ApnsEmulator() as running:
        yield running


@pytest.fixture
async def sender(manager: ChannelManager, emulator: ApnsEmulator) -> AsyncIterator[ChannelSender]:
    """A push.apns sender for the emulator's account, created through the plugin manager."""
    async with channel_sender(manager, CHANNEL, emulator.credentials, emulator.endpoint) as created:
        yield created


def test_discovered_through_the_entry_point(manager: ChannelManager) -> None:
    spec = manager.channel(CHANNEL)
    assert spec.consent_scope == "push"
    assert spec.capabilities.address_kind == "apns_token"
    assert spec.capabilities.max_payload_bytes == 4096
    assert spec.capabilities.silent_push
    assert spec.capabilities.max_batch_size >= 100
    assert spec.secret_config_fields == {"key_p8"}


async def test_alert_push_carries_apple_headers_and_payload(
    sender: ChannelSender, emulator: ApnsEmulator
) -> None:
    content = MessageContent(
        title="Hi",
        body="There",
        badge=3,
        sound="ping.aiff",
        data={"deep_link": "app://x"},
        ttl_seconds=3600,
        collapse_key="news",
    )
    [message] = messages(1, content)
    [result] = await sender.send_batch([message])
    assert result.outcome is Outcome.ACCEPTED and result.provider_id == message.message_id
    [push] = emulator.accepted
    assert push["token"] == message.address and push["apns_id"] == message.message_id
    assert (push["push_type"], push["priority"], push["topic"]) == ("alert", 10, "dev.herald.sandbox")
    assert push["collapse_id"] == "news"
    assert abs(push["expiration"] - (time.time() + 3600)) < 60
    assert push["payload"] == {
        "deep_link": "app://x",
        "aps": {"alert": {"title": "Hi", "body": "There"}, "badge": 3, "sound": "ping.aiff"},
    }


async def test_normal_priority_alert_is_sent_at_priority_5(
    sender: ChannelSender, emulator: ApnsEmulator
) -> None:
    await sender.send_batch(messages(1, MessageContent(body="later", priority="normal")))
    assert emulator.accepted[0]["priority"] == 5


async def test_silent_push_is_a_background_push(sender: ChannelSender, emulator: ApnsEmulator) -> None:
    silent = MessageContent(title="ignored", badge=1, sound="x", data={"sync": "inbox"}, silent=True)
    [result] = await sender.send_batch(messages(1, silent))
    assert result.outcome is Outcome.ACCEPTED
    [push] = emulator.accepted
    assert (push["push_type"], push["priority"]) == ("background", 5)
    assert push["payload"] == {"sync": "inbox", "aps": {"content-available": 1}}


async def test_a_message_id_that_is_not_a_uuid_gets_apples_apns_id(
    sender: ChannelSender, emulator: ApnsEmulator
) -> None:
    [result] = await sender.send_batch([OutboundMessage("order-17", token(1), ALERT)])
    assert result.outcome is Outcome.ACCEPTED
    assert str(uuid.UUID(result.provider_id)) == result.provider_id == emulator.accepted[0]["apns_id"]


async def test_provider_token_verifies_with_the_public_key_and_is_reused(
    sender: ChannelSender, emulator: ApnsEmulator
) -> None:
    await sender.send_batch(messages(2))
    await sender.send_batch(messages(1, first=2))
    tokens = {push["provider_token"] for push in emulator.accepted}
    assert len(tokens) == 1, "one JWT per refresh, not per push or per batch"
    header_b64, claims_b64, signature_b64 = tokens.pop().split(".")
    header, claims = json.loads(b64url(header_b64)), json.loads(b64url(claims_b64))
    assert header["alg"] == "ES256" and header["kid"] == emulator.credentials["key_id"]
    assert claims["iss"] == emulator.credentials["team_id"]
    assert abs(claims["iat"] - time.time()) < 60
    raw = b64url(signature_b64)
    signature = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key = serialization.load_pem_private_key(emulator.credentials["key_p8"].encode(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    signed = f"{header_b64}.{claims_b64}".encode()
    key.public_key().verify(signature, signed, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        key.public_key().verify(signature, signed + b"x", ec.ECDSA(hashes.SHA256()))


async def test_unregistered_token_fails_and_is_pruned(sender: ChannelSender, emulator: ApnsEmulator) -> None:
    dead, alive = messages(2)
    emulator.invalidate(dead.address)
    results = await sender.send_batch([dead, alive])
    assert [r.message_id for r in results] == [dead.message_id, alive.message_id]
    assert results[0].outcome is Outcome.FAILED and results[0].reason is FailureReason.UNREGISTERED
    assert results[0].prunes_address and "Unregistered" in results[0].detail
    assert results[1].outcome is Outcome.ACCEPTED
    assert [push["token"] for push in emulator.accepted] == [alive.address]


async def test_bad_device_token_fails_without_pruning(sender: ChannelSender, emulator: ApnsEmulator) -> None:
    """BadDeviceToken is also Apple's answer to a valid token of the other environment: a project
    configured for the wrong one would otherwise lose every token it has."""
    other_environment, malformed, alive = messages(3)
    emulator.from_other_environment(other_environment.address)
    malformed = malformed._replace(address="ab" * 31)
    results = await sender.send_batch([other_environment, malformed, alive])
    for result in results[:2]:
        assert (result.outcome, result.reason) == (Outcome.FAILED, FailureReason.CONFIG_SUSPECT)
        assert "400 BadDeviceToken" in result.detail and not result.prunes_address
    assert results[2].outcome is Outcome.ACCEPTED
    assert [push["reason"] for push in emulator.rejected] == ["BadDeviceToken"] * 2


async def test_a_token_that_is_not_hex_is_refused_without_a_request(
    sender: ChannelSender, emulator: ApnsEmulator
) -> None:
    [result] = await sender.send_batch([OutboundMessage(str(uuid.uuid4()), "not/a token", ALERT)])
    assert result.reason is FailureReason.INVALID_ADDRESS and result.prunes_address
    assert not emulator.accepted and not emulator.rejected


async def test_each_push_of_a_batch_is_checked_and_sent_on_its_own(
    sender: ChannelSender, emulator: ApnsEmulator
) -> None:
    """A batch's tokens and ids are checked together: a value holding a line break (two well-formed ones
    joined) must not pass, nor shift the others onto another device or id."""
    good, two_tokens, two_ids, upper = messages(4)
    two_tokens = two_tokens._replace(address=f"{token(8)}\n{token(9)}")
    two_ids = two_ids._replace(message_id=f"{uuid.uuid4()}\n{uuid.uuid4()}")
    upper = upper._replace(message_id=upper.message_id.upper())
    results = await sender.send_batch([good, two_tokens, two_ids, upper])
    assert results[1].reason is FailureReason.INVALID_ADDRESS
    assert [result.outcome for result in results] == [
        Outcome.ACCEPTED,
        Outcome.FAILED,
        *[Outcome.ACCEPTED] * 2,
    ]
    pushes = {push["token"]: push["apns_id"] for push in emulator.accepted}
    assert pushes[good.address] == good.message_id and pushes[upper.address] == upper.message_id.lower()
    assert uuid.UUID(pushes[two_ids.address]) and pushes[two_ids.address] not in two_ids.message_id
    assert len(pushes) == 3


@pytest.mark.parametrize(
    ("status", "error", "retry_after"),
    [(429, "TooManyRequests", 30), (429, "TooManyProviderTokenUpdates", None), (500, "", None), (503, "", 5)],
)
async def test_throttling_and_server_errors_are_retried(
    sender: ChannelSender, emulator: ApnsEmulator, status: int, error: str, retry_after: float | None
) -> None:
    emulator.fail_next(1, status, retry_after=retry_after, error=error)
    [result] = await sender.send_batch(messages(1))
    assert result.outcome is Outcome.RETRY and result.retry_after == retry_after
    assert str(status) in result.detail


@pytest.mark.parametrize(
    ("status", "error", "reason"),
    [
        (403, "InvalidProviderToken", FailureReason.AUTHENTICATION),
        (403, "MissingProviderToken", FailureReason.AUTHENTICATION),
        (413, "PayloadTooLarge", FailureReason.PAYLOAD_TOO_LARGE),
        (400, "TopicDisallowed", FailureReason.REJECTED),
        (400, "DeviceTokenNotForTopic", FailureReason.CONFIG_SUSPECT),
        (400, "BadDeviceToken", FailureReason.CONFIG_SUSPECT),
    ],
)
async def test_permanent_refusals_map_to_reasons(
    sender: ChannelSender, emulator: ApnsEmulator, status: int, error: str, reason: FailureReason
) -> None:
    emulator.fail_next(1, status, error=error)
    [result] = await sender.send_batch(messages(1))
    assert result.outcome is Outcome.FAILED and result.reason is reason and error in result.detail
    assert not result.prunes_address


async def test_oversized_payload_is_refused_without_a_request(
    sender: ChannelSender, emulator: ApnsEmulator
) -> None:
    big = MessageContent(title="Big", body="x" * MAX_PAYLOAD_BYTES)
    long_collapse = MessageContent(body="hi", collapse_key="k" * 65)
    results = await sender.send_batch([*messages(1, big), *messages(1, long_collapse, first=1)])
    assert results[0].reason is FailureReason.PAYLOAD_TOO_LARGE
    assert results[1].reason is FailureReason.REJECTED and "BadCollapseId" in results[1].detail
    assert not emulator.accepted and not emulator.rejected


async def test_expired_provider_token_is_resigned_and_the_push_resent(
    emulator: ApnsEmulator,
) -> None:
    """The wall clock was an hour behind when the token was signed (then NTP fixed it): APNs answers
    ExpiredProviderToken, and the sender signs a new token and sends again."""
    readings = iter([time.time() - 3700])

    def clock() -> float:
        return next(readings, time.time())

    sender = ApnsSender(ApnsConfig.parse(emulator.credentials), emulator.endpoint, clock=clock)
    try:
        results = await sender.send_batch(messages(3))
    finally:
        await sender.close()
    assert all(r.outcome is Outcome.ACCEPTED for r in results), results
    assert [r["reason"] for r in emulator.rejected] == ["ExpiredProviderToken"] * 3
    assert all(time.time() - push["iat"] < 60 for push in emulator.accepted)


async def test_a_token_still_expired_after_resigning_is_an_authentication_failure(
    sender: ChannelSender, emulator: ApnsEmulator
) -> None:
    emulator.fail_next(2, 403, error="ExpiredProviderToken")
    [result] = await sender.send_batch(messages(1))
    assert result.outcome is Outcome.FAILED and result.reason is FailureReason.AUTHENTICATION
    assert len(emulator.rejected) == 2, "re-signed and retried exactly once"


async def test_a_key_apple_does_not_know_is_an_authentication_failure(
    manager: ChannelManager, emulator: ApnsEmulator
) -> None:
    stranger = {**emulator.credentials, "key_p8": pem(ec.generate_private_key(ec.SECP256R1()))}
    async with channel_sender(manager, CHANNEL, stranger, emulator.endpoint) as sender:
        results = await sender.send_batch(messages(2))
    assert all(r.reason is FailureReason.AUTHENTICATION for r in results)
    assert {r["reason"] for r in emulator.rejected} == {"InvalidProviderToken"}


async def test_goaway_mid_batch_loses_nothing(sender: ChannelSender, emulator: ApnsEmulator) -> None:
    batch = messages(300)
    emulator.goaway_after(40)
    results = await sender.send_batch(batch)
    assert [r.message_id for r in results] == [m.message_id for m in batch]
    accepted = {r.message_id for r in results if r.outcome is Outcome.ACCEPTED}
    retried = {r.message_id for r in results if r.outcome is Outcome.RETRY}
    assert accepted | retried == {m.message_id for m in batch}, "every message accepted or given back"
    recorded = [push["apns_id"] for push in emulator.accepted]
    assert len(recorded) == len(set(recorded)), "nothing delivered twice"
    assert accepted <= set(recorded)
    assert len(accepted) > 40, "the pushes the server never processed went out on a new connection"


async def test_the_servers_stream_limit_is_respected(manager: ChannelManager) -> None:
    async with ApnsEmulator(max_concurrent_streams=5) as emulator:
        emulator.set_latency(0.02)
        async with channel_sender(manager, CHANNEL, emulator.credentials, emulator.endpoint) as sender:
            results = await sender.send_batch(messages(60))
        assert all(r.outcome is Outcome.ACCEPTED for r in results)
        assert len(emulator.accepted) == 60 and emulator.refused_streams == 0


async def test_large_payloads_wait_for_flow_control(sender: ChannelSender, emulator: ApnsEmulator) -> None:
    """60 pushes of ~4 KB exceed the 64 KB HTTP/2 connection window: the rest waits for WINDOW_UPDATE."""
    content = MessageContent(title="t", body="y" * 4000)
    results = await sender.send_batch(messages(60, content))
    assert all(r.outcome is Outcome.ACCEPTED for r in results), results[:2]
    assert len(emulator.accepted) == 60


async def test_a_refused_connection_is_a_retry(manager: ChannelManager, closed_port: int) -> None:
    config = ApnsEmulator().credentials
    async with channel_sender(manager, CHANNEL, config, f"https://127.0.0.1:{closed_port}") as sender:
        results = await sender.send_batch(messages(3))
    assert all(r.outcome is Outcome.RETRY and "connect" in r.detail for r in results)


def test_real_apns_certificates_are_verified_and_the_emulators_are_not() -> None:
    apple = _client_context("api.push.apple.com")
    assert apple.check_hostname and apple.verify_mode.name == "CERT_REQUIRED"
    assert _client_context("127.0.0.1").verify_mode.name == "CERT_NONE"


async def test_emulator_refuses_clients_that_do_not_speak_http2(emulator: ApnsEmulator) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError):
            await session.post(f"{emulator.endpoint}/3/device/{token(1)}", data=b"{}", ssl=False)


async def raw_request(
    emulator: ApnsEmulator, headers: list[tuple[bytes, bytes]], body: bytes
) -> Response | StreamFailed:
    """One HTTP/2 request with exactly these headers, as a misbehaving provider would send it."""
    port = int(emulator.endpoint.rsplit(":", 1)[1])
    connection = await connect("127.0.0.1", port, _client_context("127.0.0.1"), max_streams=10)
    answered: asyncio.Future[Response | StreamFailed] = asyncio.get_running_loop().create_future()
    try:
        connection.request(headers, body, lambda _tag, answer: answered.set_result(answer), 0)
        return await asyncio.wait_for(answered, 10)
    finally:
        await connection.close()


def provider_token(credentials: Mapping[str, str], *, age: float = 0, kid: str | None = None) -> str:
    key = serialization.load_pem_private_key(credentials["key_p8"].encode(), None)
    claims = {"iss": credentials["team_id"], "iat": int(time.time() - age)}
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid or credentials["key_id"]})  # type: ignore[arg-type]


def request_headers(emulator: ApnsEmulator, **changes: str | None) -> list[tuple[bytes, bytes]]:
    """A valid request's headers with ``changes`` (None removes a header; _ in names for -)."""
    headers: dict[str, str | None] = {
        ":method": "POST",
        ":scheme": "https",
        ":authority": emulator.endpoint.removeprefix("https://"),
        ":path": f"/3/device/{token(1)}",
        "authorization": f"bearer {provider_token(emulator.credentials)}",
        "apns-topic": "dev.herald.sandbox",
        "apns-push-type": "alert",
        "apns-priority": "10",
    }
    headers.update({name.replace("_", "-"): value for name, value in changes.items()})
    return [(name.encode(), value.encode()) for name, value in headers.items() if value is not None]


ALERT_BODY = orjson.dumps({"aps": {"alert": {"body": "hi"}}})


@pytest.mark.parametrize(
    ("changes", "body", "status", "reason"),
    [
        ({":method": "GET"}, ALERT_BODY, 405, "MethodNotAllowed"),
        ({":path": "/3/nothing"}, ALERT_BODY, 404, "BadPath"),
        ({"authorization": None}, ALERT_BODY, 403, "MissingProviderToken"),
        ({"authorization": "expired"}, ALERT_BODY, 403, "ExpiredProviderToken"),
        ({"authorization": "unknown-kid"}, ALERT_BODY, 403, "InvalidProviderToken"),
        ({"authorization": "bearer not.a.jwt"}, ALERT_BODY, 403, "InvalidProviderToken"),
        ({"apns_topic": None}, ALERT_BODY, 400, "MissingTopic"),
        ({"apns_topic": "com.other.app"}, ALERT_BODY, 400, "TopicDisallowed"),
        ({"apns_push_type": "fax"}, ALERT_BODY, 400, "InvalidPushType"),
        ({"apns_push_type": "background"}, ALERT_BODY, 400, "BadPriority"),
        ({"apns_push_type": "background", "apns_priority": "5"}, ALERT_BODY, 400, "InvalidPushType"),
        ({"apns_priority": "7"}, ALERT_BODY, 400, "BadPriority"),
        ({"apns_id": "not-a-uuid"}, ALERT_BODY, 400, "BadMessageId"),
        ({"apns_expiration": "tomorrow"}, ALERT_BODY, 400, "BadExpirationDate"),
        ({"apns_collapse_id": "c" * 65}, ALERT_BODY, 400, "BadCollapseId"),
        ({":path": "/3/device/xyz"}, ALERT_BODY, 400, "BadDeviceToken"),
        ({}, b"", 400, "PayloadEmpty"),
        ({}, b'{"aps": {"alert": "' + b"x" * 4100 + b'"}}', 413, "PayloadTooLarge"),
        ({}, ALERT_BODY, 200, ""),
    ],
)
async def test_emulator_checks_requests_as_apns_does(
    emulator: ApnsEmulator, changes: dict[str, str | None], body: bytes, status: int, reason: str
) -> None:
    credentials = emulator.credentials
    special = {
        "expired": f"bearer {provider_token(credentials, age=3601)}",
        "unknown-kid": f"bearer {provider_token(credentials, kid='ZZZZZZZZZZ')}",
    }
    if changes.get("authorization") in special:
        changes = {**changes, "authorization": special[str(changes["authorization"])]}
    answer = await raw_request(emulator, request_headers(emulator, **changes), body)
    assert isinstance(answer, Response), answer
    assert answer.status == status
    apns_id = answer.header(b"apns-id")
    assert apns_id is not None and uuid.UUID(apns_id.decode())
    if reason:
        assert orjson.loads(answer.body)["reason"] == reason
    else:
        assert answer.body == b"" and len(emulator.accepted) == 1


async def test_an_h2_library_client_is_answered_by_the_emulator(emulator: ApnsEmulator) -> None:
    """Another HTTP/2 implementation: h2 Huffman-codes its header blocks; the emulator decodes them."""
    context = _client_context("127.0.0.1")
    port = int(emulator.endpoint.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    peer = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
    peer.initiate_connection()
    apns_id = str(uuid.uuid4()).encode()
    peer.send_headers(1, request_headers(emulator, apns_id=apns_id.decode()))
    peer.send_data(1, ALERT_BODY, end_stream=True)
    writer.write(peer.data_to_send())
    response: list[tuple[bytes, bytes]] = []
    try:
        while not response:
            for event in peer.receive_data(await asyncio.wait_for(reader.read(65_536), 10)):
                if isinstance(event, h2.events.ResponseReceived):
                    response = event.headers
            writer.write(peer.data_to_send())
    finally:
        writer.close()
    assert response == [(b":status", b"200"), (b"apns-id", apns_id)]
    assert emulator.accepted[0]["payload"] == orjson.loads(ALERT_BODY)


@pytest.mark.parametrize("how", ["invalidated", "injected"])
async def test_emulator_answers_unregistered_with_apples_timestamp(emulator: ApnsEmulator, how: str) -> None:
    """410: ``{"reason": "Unregistered", "timestamp": <ms since the epoch>}``, and nothing else."""
    if how == "invalidated":
        emulator.invalidate(token(1))
    else:
        emulator.fail_next(1, 410)
    answer = await raw_request(emulator, request_headers(emulator), ALERT_BODY)
    assert isinstance(answer, Response) and answer.status == 410
    assert answer.header(b"content-type") == b"application/json" and answer.header(b"apns-id")
    body = orjson.loads(answer.body)
    assert set(body) == {"reason", "timestamp"} and body["reason"] == "Unregistered"
    assert isinstance(body["timestamp"], int) and abs(body["timestamp"] / 1000 - time.time()) < 60


@pytest.mark.parametrize("how", ["other environment", "malformed", "injected"])
async def test_emulator_answers_bad_device_token_as_apple_does(emulator: ApnsEmulator, how: str) -> None:
    """400: ``{"reason": "BadDeviceToken"}`` alone, whether the token is another environment's or
    malformed: APNs does not tell the two apart."""
    path = f"/3/device/{token(1)}"
    if how == "other environment":
        emulator.from_other_environment(token(1))
    elif how == "malformed":
        path = f"/3/device/{'ab' * 31}"
    else:
        emulator.fail_next(1, 400)
    answer = await raw_request(emulator, request_headers(emulator, **{":path": path}), ALERT_BODY)
    assert isinstance(answer, Response) and answer.status == 400
    assert answer.header(b"content-type") == b"application/json" and answer.header(b"apns-id")
    assert orjson.loads(answer.body) == {"reason": "BadDeviceToken"}
    assert not emulator.accepted


@pytest.mark.parametrize(
    "change",
    [
        [(b"Apns-Collapse-Id", b"upper-case names are malformed")],
        [(b"connection", b"close")],  # connection-specific
        [(b"te", b"gzip")],
        [(b"content-length", b"5")],  # not the body's length
        [(b"content-length", b"%d" % len(ALERT_BODY))] * 2,
        [(b"apns-topic", b" dev.herald.sandbox")],  # leading whitespace
        [(b"apns-collapse-id", b"a\x00b")],
        [(b":authority", b"late")],  # a pseudo-header after regular ones
        [(b":protocol", b"websocket")],
    ],
)
async def test_emulator_resets_a_malformed_header_block(
    emulator: ApnsEmulator, change: list[tuple[bytes, bytes]]
) -> None:
    answer = await raw_request(emulator, [*request_headers(emulator), *change], ALERT_BODY)
    assert isinstance(answer, StreamFailed) and not emulator.accepted


async def test_emulator_resets_a_request_without_a_path(emulator: ApnsEmulator) -> None:
    headers = [header for header in request_headers(emulator) if header[0] != b":path"]
    answer = await raw_request(emulator, headers, ALERT_BODY)
    assert isinstance(answer, StreamFailed) and not emulator.accepted


async def test_emulator_accepts_a_matching_content_length(emulator: ApnsEmulator) -> None:
    headers = [*request_headers(emulator), (b"content-length", b"%d" % len(ALERT_BODY))]
    answer = await raw_request(emulator, headers, ALERT_BODY)
    assert isinstance(answer, Response) and answer.status == 200


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"key_p8": "-----BEGIN PRIVATE KEY-----\nbm9wZQ==\n-----END PRIVATE KEY-----"}, "key_p8"),
        ({"key_p8": pem(RSA_KEY)}, "key_p8"),
        ({"key_p8": pem(ec.generate_private_key(ec.SECP384R1()))}, "key_p8"),
        ({"key_p8": ""}, "key_p8"),
        ({"team_id": "ABC"}, "team_id"),
        ({"team_id": " ABCDE12345"}, "team_id"),
        ({"bundle_id": 7}, "bundle_id"),
        ({"key_id": "abcdefghij"}, "key_id"),
        ({"bundle_id": "not a bundle"}, "bundle_id"),
        ({"environment": "staging"}, "environment"),
        ({"certificate_p12": "..."}, "certificate_p12"),
    ],
)
def test_malformed_config_names_the_field(
    manager: ChannelManager, change: dict[str, str], field: str
) -> None:
    assert refused_field(manager, CHANNEL, {**ApnsEmulator().credentials, **change}) == field


def test_validated_config_is_normalised(manager: ChannelManager) -> None:
    given = {**ApnsEmulator().credentials}
    given["key_p8"] = f"\n  {given['key_p8']}\n\n"
    del given["environment"]
    valid = manager.validate_config(CHANNEL, given)
    assert valid["environment"] == "production" and valid["key_p8"].startswith("-----BEGIN PRIVATE KEY")
    assert manager.validate_config(CHANNEL, valid) == valid


async def test_emulator_trusts_a_projects_own_key_when_told(
    manager: ChannelManager, emulator: ApnsEmulator
) -> None:
    config = {
        "team_id": "TEAM123456",
        "key_id": "KEY7654321",
        "key_p8": pem(ec.generate_private_key(ec.SECP256R1())),
        "bundle_id": "com.example.shop",
    }
    async with channel_sender(manager, CHANNEL, config, emulator.endpoint) as sender:
        [refused] = await sender.send_batch(messages(1))
        emulator.trust_config(config)
        [accepted] = await sender.send_batch(messages(1, first=1))
    assert refused.reason is FailureReason.AUTHENTICATION and accepted.outcome is Outcome.ACCEPTED
    assert emulator.accepted[0]["topic"] == "com.example.shop"


async def test_emulator_runs_standalone_trusting_a_given_key(manager: ChannelManager, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public_file = tmp_path / "AuthKey.pub"
    public_file.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    config = {
        "team_id": "TEAM123456",
        "key_id": "KEY1234567",
        "key_p8": pem(key),
        "bundle_id": "com.example.app",
    }
    trust = ("--team-id", "TEAM123456", "--key-id", "KEY1234567", "--public-key", str(public_file))
    async with (
        standalone_emulator("plugins.apns.emulator", *trust) as endpoint,
        channel_sender(manager, CHANNEL, config, endpoint) as sender,
    ):
        results = await sender.send_batch(messages(2))
    assert all(r.outcome is Outcome.ACCEPTED for r in results), results


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=2500)


@settings(max_examples=200, deadline=None)
@given(
    title=TEXT,
    body=TEXT,
    data=st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=300), max_size=4),
    silent=st.booleans(),
)
def test_payload_is_apples_json_or_refused_for_its_size(
    title: str, body: str, data: dict[str, str], silent: bool
) -> None:
    content = MessageContent(title=title, body=body, data=data, silent=silent)
    headers = dict(headers_of(content, b"com.example.app", 0))
    try:
        encoded = body_of(content)
    except Refusal as refusal:
        assert refusal.reason is FailureReason.PAYLOAD_TOO_LARGE
        assert len(orjson.dumps(payload(content))) > MAX_PAYLOAD_BYTES
        return
    assert len(encoded) <= MAX_PAYLOAD_BYTES
    decoded: dict[str, Any] = orjson.loads(encoded)
    assert {key: value for key, value in decoded.items() if key != "aps"} == {
        key: value for key, value in data.items() if key != "aps"
    }
    if silent:
        assert decoded["aps"] == {"content-available": 1}
        assert (headers[b"apns-push-type"], headers[b"apns-priority"]) == (b"background", b"5")
    else:
        alert = decoded["aps"].get("alert", {})
        assert (alert.get("title", ""), alert.get("body", "")) == (title, body)
        assert headers[b"apns-push-type"] == b"alert"


class TestConformance(ChannelConformance):
    channel_name = CHANNEL
    config_suspect_failure = (400, "BadDeviceToken")

    def config(self, emulator: Any) -> Mapping[str, Any]:
        return emulator.credentials

    def address(self, emulator: Any, index: int) -> tuple[str, Mapping[str, str]]:
        return token(index), {}
