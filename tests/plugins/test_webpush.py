"""webpush against its emulator over loopback HTTP: payloads decrypted by an independent RFC 8291
implementation (http_ece), the RFC 8291 test vector, VAPID tokens verified with ``cryptography``
alone, RFC 8030 headers, and every response mapping."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import http_ece
import jwt
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
from plugins.webpush.crypto import MAX_PLAINTEXT_BYTES, decrypt, encrypt
from plugins.webpush.emulator import Subscription, WebPushEmulator
from plugins.webpush.keys import b64url_decode, b64url_encode, load_private_key, private_key_text
from tests.plugins.conftest import channel_sender, refused_field, standalone_emulator

CHANNEL = "webpush"
VAPID_KEY = ec.generate_private_key(ec.SECP256R1())
CONFIG = {"vapid_private_key": private_key_text(VAPID_KEY), "subject": "mailto:push@example.com"}
CONTENT = MessageContent(
    title="Sale", body="Everything must go", url="https://shop.example.com/sale", data={"campaign": "c-1"}
)


def message(subscription: Subscription, content: MessageContent = CONTENT) -> OutboundMessage:
    return OutboundMessage(str(uuid.uuid4()), subscription.endpoint, content, subscription.address_details)


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def vapid_parts(authorization: str) -> tuple[str, str]:
    """(t, k) of an ``Authorization: vapid t=..., k=...`` header."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid"
    values = dict(part.strip().split("=", 1) for part in params.split(","))
    return values["t"], values["k"]


@pytest.fixture
async def emulator() -> AsyncIterator[WebPushEmulator]:
    """A web push service (and its browsers) on loopback."""
    async with WebPushEmulator() as running:
        yield running


@pytest.fixture
async def sender(manager: ChannelManager) -> AsyncIterator[ChannelSender]:
    """A webpush sender for CONFIG, created through the plugin manager."""
    async with channel_sender(manager, CHANNEL, CONFIG) as created:
        yield created


def test_discovered_through_the_entry_point(manager: ChannelManager) -> None:
    spec = manager.channel(CHANNEL)
    assert spec.consent_scope == "web_push"
    assert spec.capabilities.address_kind == "web_push"
    assert spec.capabilities.max_payload_bytes == 4096
    assert not spec.capabilities.silent_push
    assert spec.secret_config_fields == {"vapid_private_key"}


async def test_payload_decrypts_with_an_independent_rfc8291_implementation(
    sender: ChannelSender, emulator: WebPushEmulator
) -> None:
    subscription = emulator.new_subscription()
    sent = message(subscription)
    [result] = await sender.send_batch([sent])
    assert result.outcome is Outcome.ACCEPTED
    [record] = emulator.accepted
    assert result.provider_id == record["location"] and record["location"].startswith(emulator.endpoint)
    plaintext = http_ece.decrypt(
        record["body"],
        private_key=subscription.private_key,
        auth_secret=b64url(subscription.auth),
        version="aes128gcm",
    )
    assert json.loads(plaintext) == {
        "id": sent.message_id,
        "title": "Sale",
        "body": "Everything must go",
        "url": "https://shop.example.com/sale",
        "data": {"campaign": "c-1"},
    }
    assert record["payload"] == json.loads(plaintext)


def test_rfc8291_appendix_a_test_vector() -> None:
    """RFC 8291 section 5 / Appendix A: fixed keys and salt give exactly the published message."""
    ua_private = load_private_key("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94")
    ua_public = b64url(
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
    )
    auth = b64url("BTBZMqHH6r4Tts7J_aSIgg")
    body = encrypt(
        b"When I grow up, I want to be a watermelon",
        ua_public,
        auth,
        sender_key=load_private_key("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"),
        salt=b64url("DGv6ra1nlYgDCS1FRnbzlw"),
    )
    assert b64url_encode(body) == (
        "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6Tl"
        "zAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
    )
    assert decrypt(body, ua_private, auth) == b"When I grow up, I want to be a watermelon"
    independent = http_ece.decrypt(body, private_key=ua_private, auth_secret=auth, version="aes128gcm")
    assert independent == b"When I grow up, I want to be a watermelon"


async def test_vapid_token_verifies_with_k_and_is_reused_per_origin(
    sender: ChannelSender, emulator: WebPushEmulator
) -> None:
    await sender.send_batch([message(emulator.new_subscription()) for _ in range(2)])
    headers = {record["authorization"] for record in emulator.accepted}
    assert len(headers) == 1, "one signed token per push service origin, not one per message"
    token, k = vapid_parts(headers.pop())
    assert k == b64url_encode(
        VAPID_KEY.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    header_b64, claims_b64, signature_b64 = token.split(".")
    assert json.loads(b64url(header_b64)) == {"alg": "ES256", "typ": "JWT"}
    claims = json.loads(b64url(claims_b64))
    assert claims["aud"] == emulator.endpoint and claims["sub"] == "mailto:push@example.com"
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url(k))
    raw = b64url(signature_b64)
    signature = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    signed = f"{header_b64}.{claims_b64}".encode()
    public_key.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        public_key.verify(signature, signed + b".", ec.ECDSA(hashes.SHA256()))


@pytest.mark.parametrize(
    ("content", "ttl", "urgency", "topic"),
    [
        (MessageContent(body="a"), 28 * 24 * 3600, "high", None),
        (
            MessageContent(body="a", ttl_seconds=600, priority="normal", collapse_key="scores"),
            600,
            "normal",
            "scores",
        ),
        (MessageContent(body="a", ttl_seconds=0, priority="very-low"), 0, "very-low", None),
    ],
)
async def test_rfc8030_headers(
    sender: ChannelSender,
    emulator: WebPushEmulator,
    content: MessageContent,
    ttl: int,
    urgency: str,
    topic: str | None,
) -> None:
    [result] = await sender.send_batch([message(emulator.new_subscription(), content)])
    assert result.outcome is Outcome.ACCEPTED
    [record] = emulator.accepted
    assert (record["ttl"], record["urgency"], record["topic"]) == (ttl, urgency, topic)


async def test_a_collapse_key_that_is_no_topic_is_hashed_into_one(
    sender: ChannelSender, emulator: WebPushEmulator
) -> None:
    content = MessageContent(body="a", collapse_key="match 17 / live score (an over-long key)")
    subscription = emulator.new_subscription()
    results = await sender.send_batch([message(subscription, content), message(subscription, content)])
    assert all(r.outcome is Outcome.ACCEPTED for r in results)
    topics = {record["topic"] for record in emulator.accepted}
    assert len(topics) == 1 and len(topics.pop()) == 32


async def test_a_slow_service_gets_a_whole_batch_with_results_in_order(
    sender: ChannelSender, emulator: WebPushEmulator
) -> None:
    emulator.set_latency(0.02)
    batch = [message(emulator.new_subscription()) for _ in range(60)]
    results = await sender.send_batch(batch)
    assert [r.message_id for r in results] == [m.message_id for m in batch]
    assert all(r.outcome is Outcome.ACCEPTED for r in results)
    assert {record["endpoint"] for record in emulator.accepted} == {m.address for m in batch}


@pytest.mark.parametrize("gone", ["unknown", "invalidated"])
async def test_a_dead_subscription_is_pruned(
    sender: ChannelSender, emulator: WebPushEmulator, gone: str
) -> None:
    subscription = emulator.new_subscription()
    if gone == "invalidated":
        emulator.invalidate(subscription.endpoint)
        expected = "410"
    else:
        subscription = Subscription(
            f"{emulator.endpoint}/push/never-issued",
            subscription.p256dh,
            subscription.auth,
            subscription.private_key,
        )
        expected = "404"
    [result] = await sender.send_batch([message(subscription)])
    assert result.outcome is Outcome.FAILED and result.reason is FailureReason.UNREGISTERED
    assert result.prunes_address and result.detail.startswith(expected)


@pytest.mark.parametrize(
    ("status", "retry_after", "outcome", "reason"),
    [
        (429, 120, Outcome.RETRY, None),
        (500, None, Outcome.RETRY, None),
        (503, 30, Outcome.RETRY, None),
        (413, None, Outcome.FAILED, FailureReason.PAYLOAD_TOO_LARGE),
        (400, None, Outcome.FAILED, FailureReason.REJECTED),
        (401, None, Outcome.FAILED, FailureReason.AUTHENTICATION),
    ],
)
async def test_response_mapping(
    sender: ChannelSender,
    emulator: WebPushEmulator,
    status: int,
    retry_after: float | None,
    outcome: Outcome,
    reason: FailureReason | None,
) -> None:
    emulator.fail_next(1, status, retry_after=retry_after)
    [result] = await sender.send_batch([message(emulator.new_subscription())])
    assert (result.outcome, result.reason, result.retry_after) == (outcome, reason, retry_after)
    assert not result.prunes_address


async def test_a_subscription_bound_to_another_key_refuses_the_vapid_token(
    sender: ChannelSender, emulator: WebPushEmulator
) -> None:
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    bound = b64url_encode(
        other.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    [result] = await sender.send_batch([message(emulator.new_subscription(application_server_key=bound))])
    assert result.reason is FailureReason.AUTHENTICATION and result.detail.startswith("VAPID refused: 403")


async def test_oversized_payload_is_refused_without_a_request(
    sender: ChannelSender, emulator: WebPushEmulator
) -> None:
    big = MessageContent(title="Big", body="x" * MAX_PLAINTEXT_BYTES)
    [result] = await sender.send_batch([message(emulator.new_subscription(), big)])
    assert result.outcome is Outcome.FAILED and result.reason is FailureReason.PAYLOAD_TOO_LARGE
    assert not emulator.accepted and not emulator.rejected


@pytest.mark.parametrize(
    ("endpoint", "details"),
    [
        ("http://push.example.com/push/x", None),
        ("not a url", None),
        (None, {"p256dh": "BCVx", "auth": "BTBZMqHH6r4Tts7J_aSIgg"}),
        (None, {"p256dh": None, "auth": "short"}),
        (None, {"p256dh": None, "auth": "BTBZMqHH6r4Tts7J+aSIgg"}),
        (None, {}),
    ],
)
async def test_a_malformed_subscription_is_an_invalid_address(
    sender: ChannelSender, emulator: WebPushEmulator, endpoint: str | None, details: dict[str, Any] | None
) -> None:
    subscription = emulator.new_subscription()
    if details is not None:
        details = {key: subscription.p256dh if value is None else value for key, value in details.items()}
    malformed = OutboundMessage(
        str(uuid.uuid4()),
        endpoint or subscription.endpoint,
        CONTENT,
        subscription.address_details if details is None else details,
    )
    [result] = await sender.send_batch([malformed])
    assert result.reason is FailureReason.INVALID_ADDRESS and result.prunes_address
    assert not emulator.accepted and not emulator.rejected


async def test_an_endpoint_override_sends_every_subscription_to_the_emulator(
    manager: ChannelManager, emulator: WebPushEmulator
) -> None:
    subscription = emulator.new_subscription()
    path = subscription.endpoint.removeprefix(emulator.endpoint)
    elsewhere = Subscription(
        f"https://fcm.googleapis.com{path}", subscription.p256dh, subscription.auth, subscription.private_key
    )
    async with channel_sender(manager, CHANNEL, CONFIG, emulator.endpoint) as sender:
        [result] = await sender.send_batch([message(elsewhere)])
    assert result.outcome is Outcome.ACCEPTED
    token, _ = vapid_parts(emulator.accepted[0]["authorization"])
    assert json.loads(b64url(token.split(".")[1]))["aud"] == emulator.endpoint


async def test_an_unreachable_push_service_is_a_retry(
    sender: ChannelSender, emulator: WebPushEmulator, closed_port: int
) -> None:
    issued = emulator.new_subscription()
    elsewhere = Subscription(
        f"http://127.0.0.1:{closed_port}/push/x", issued.p256dh, issued.auth, issued.private_key
    )
    [result] = await sender.send_batch([message(elsewhere)])
    assert result.outcome is Outcome.RETRY and "unreachable" in result.detail


def vapid_header(
    endpoint: str, *, exp: float, sub: str = "mailto:a@example.com", aud: str | None = None
) -> str:
    token = jwt.encode({"aud": aud or endpoint, "exp": int(exp), "sub": sub}, VAPID_KEY, algorithm="ES256")
    k = b64url_encode(
        VAPID_KEY.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    return f"vapid t={token}, k={k}"


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({}, 201),
        ({"Authorization": None}, 401),
        ({"Authorization": "WebPush abc"}, 401),
        ({"Authorization": "expired"}, 401),
        ({"Authorization": "two days"}, 401),
        ({"Authorization": "other audience"}, 401),
        ({"Authorization": "no contact"}, 401),
        ({"TTL": None}, 400),
        ({"TTL": "-5"}, 400),
        ({"Content-Encoding": "aesgcm"}, 415),
        ({"Urgency": "urgent"}, 400),
        ({"Topic": "not a topic!"}, 400),
        ({"body": b"\x00" * 200}, 400),
        ({"body": b"\x00" * 4097}, 413),
    ],
)
async def test_emulator_checks_requests_as_a_push_service_does(
    emulator: WebPushEmulator, change: dict[str, Any], status: int
) -> None:
    subscription = emulator.new_subscription()
    now = time.time()
    special = {
        "expired": vapid_header(emulator.endpoint, exp=now - 10),
        "two days": vapid_header(emulator.endpoint, exp=now + 48 * 3600),
        "other audience": vapid_header(emulator.endpoint, exp=now + 3600, aud="https://push.example.net"),
        "no contact": vapid_header(emulator.endpoint, exp=now + 3600, sub="push@example.com"),
    }
    headers: dict[str, str | None] = {
        "Authorization": vapid_header(emulator.endpoint, exp=now + 3600),
        "TTL": "60",
        "Content-Encoding": "aes128gcm",
    }
    body = encrypt(b'{"title": "hi"}', b64url(subscription.p256dh), b64url(subscription.auth))
    for name, value in change.items():
        if name == "body":
            body = value
        else:
            headers[name] = special.get(value, value) if value else None
    sent = {name: value for name, value in headers.items() if value is not None}
    async with (
        aiohttp.ClientSession() as session,
        session.post(subscription.endpoint, data=body, headers=sent) as response,
    ):
        assert response.status == status, await response.text()
        if status != 201:
            error = await response.json()
            assert error["code"] == status and error["message"]
        else:
            assert response.headers["Location"].startswith(f"{emulator.endpoint}/m/")
            assert emulator.accepted[0]["payload"] == {"title": "hi"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"vapid_private_key": "not a key"}, "vapid_private_key"),
        ({"vapid_private_key": b64url_encode(b"\x01" * 31)}, "vapid_private_key"),
        ({"vapid_private_key": b64url_encode(b"\xff" * 32)}, "vapid_private_key"),
        (
            {
                "vapid_private_key": rsa.generate_private_key(public_exponent=65537, key_size=1024)
                .private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                .decode()
            },
            "vapid_private_key",
        ),
        ({"vapid_private_key": ""}, "vapid_private_key"),
        ({"subject": "push@example.com"}, "subject"),
        ({"subject": "http://example.com/contact"}, "subject"),
        ({"subject": None}, "subject"),
        ({"vapid_public_key": b64url_encode(b"\x04" * 65)}, "vapid_public_key"),
        ({"gcm_api_key": "x"}, "gcm_api_key"),
    ],
)
def test_malformed_config_names_the_field(
    manager: ChannelManager, change: dict[str, Any], field: str
) -> None:
    assert refused_field(manager, CHANNEL, {**CONFIG, **change}) == field


def test_a_pem_key_is_normalised_to_the_raw_form_and_the_public_key_is_derived(
    manager: ChannelManager,
) -> None:
    pem = VAPID_KEY.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    valid = manager.validate_config(CHANNEL, {**CONFIG, "vapid_private_key": pem})
    assert valid["vapid_private_key"] == CONFIG["vapid_private_key"]
    public = b64url(valid["vapid_public_key"])
    assert len(public) == 65 and public[0] == 4
    assert manager.validate_config(CHANNEL, valid) == valid


async def test_emulator_runs_standalone_and_hands_out_subscriptions(manager: ChannelManager) -> None:
    async with (
        standalone_emulator("plugins.webpush.emulator") as endpoint,
        aiohttp.ClientSession() as session,
        session.post(f"{endpoint}/subscriptions") as response,
    ):
        subscription = await response.json()
        sent = OutboundMessage(str(uuid.uuid4()), subscription["endpoint"], CONTENT, subscription["keys"])
        async with channel_sender(manager, CHANNEL, CONFIG) as sender:
            [result] = await sender.send_batch([sent])
    assert result.outcome is Outcome.ACCEPTED and result.provider_id.startswith(f"{endpoint}/m/")


@given(st.binary(max_size=200), st.booleans())
def test_base64url_round_trip(data: bytes, padded: bool) -> None:
    text = b64url_encode(data)
    assert "=" not in text and "+" not in text and "/" not in text
    assert b64url_decode(text + "=" * (-len(text) % 4) if padded else text) == data


@given(st.text(alphabet="+/ .!\n", min_size=1, max_size=5), st.text(alphabet="AZaz09-_", max_size=8))
def test_base64url_refuses_other_alphabets(bad: str, good: str) -> None:
    with pytest.raises(ValueError, match="base64url"):
        b64url_decode(good + bad)


SUBSCRIBER = ec.generate_private_key(ec.SECP256R1())
SUBSCRIBER_PUBLIC = SUBSCRIBER.public_key().public_bytes(
    serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=MAX_PLAINTEXT_BYTES), st.binary(min_size=16, max_size=16))
def test_encrypt_decrypt_round_trip_up_to_the_limit(plaintext: bytes, auth: bytes) -> None:
    body = encrypt(plaintext, SUBSCRIBER_PUBLIC, auth)
    assert len(body) <= 4096
    assert decrypt(body, SUBSCRIBER, auth) == plaintext
    assert http_ece.decrypt(body, private_key=SUBSCRIBER, auth_secret=auth, version="aes128gcm") == plaintext


def test_one_byte_over_the_limit_does_not_fit_one_record() -> None:
    with pytest.raises(ValueError, match="one record"):
        encrypt(b"x" * (MAX_PLAINTEXT_BYTES + 1), SUBSCRIBER_PUBLIC, b"\x00" * 16)


class TestConformance(ChannelConformance):
    channel_name = CHANNEL

    def config(self, emulator: Any) -> Mapping[str, Any]:
        return CONFIG

    def address(self, emulator: Any, index: int) -> tuple[str, Mapping[str, str]]:
        subscription = emulator.new_subscription()
        return subscription.endpoint, subscription.address_details
