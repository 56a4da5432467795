"""push.fcm against its emulator over loopback HTTP: OAuth2 tokens minted from a test service account
(RS256 JWT bearer grant), notification and data-only messages, and every response mapping."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from kernel.channels import (
    ChannelSender,
    ConfigError,
    Emulator,
    FailureReason,
    MessageContent,
    OutboundMessage,
    Outcome,
)
from kernel.conformance import ChannelConformance
from kernel.plugins import ChannelManager
from plugins.fcm.emulator import FcmEmulator
from plugins.fcm.message import MAX_PAYLOAD_BYTES
from plugins.fcm.token import GRANT_TYPE, SCOPE
from tests.plugins.conftest import channel_sender, refused_field, standalone_emulator

CHANNEL = "push.fcm"


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def service_account(key: rsa.RSAPrivateKey, project: str = "herald-test") -> dict[str, Any]:
    """A key file shaped like the JSON the Firebase console downloads."""
    return {
        "type": "service_account",
        "project_id": project,
        "private_key_id": "5c3f2a1b0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b",
        "private_key": pem(key),
        "client_email": f"firebase-adminsdk@{project}.iam.gserviceaccount.com",
        "client_id": "109876543210987654321",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ACCOUNT = service_account(KEY)
CONFIG = {"service_account_json": orjson.dumps(ACCOUNT).decode()}


def token(number: int) -> str:
    return f"device{number}:APA91b{'Qx7-_z' * 24}"


def message(number: int, content: MessageContent | None = None) -> OutboundMessage:
    content = content or MessageContent(title="Hello", body="You have mail", data={"thread": "42"})
    return OutboundMessage(f"msg-{number}", token(number), content)


@pytest.fixture
async def emulator() -> AsyncIterator[FcmEmulator]:
    """An FCM emulator that trusts only ACCOUNT's key."""
    async with FcmEmulator(ACCOUNT) as running:
        yield running


@pytest.fixture
async def sender(manager: ChannelManager, emulator: FcmEmulator) -> AsyncIterator[ChannelSender]:
    """The plugin's sender; with an endpoint, both the token URI and the FCM base point at it."""
    async with channel_sender(manager, CHANNEL, CONFIG, emulator.endpoint) as created:
        yield created


def test_discovered_through_the_entry_point(manager: ChannelManager) -> None:
    spec = manager.channel(CHANNEL)
    caps = spec.capabilities
    assert (spec.consent_scope, caps.address_kind) == ("push", "fcm_token")
    assert caps.silent_push and not caps.per_recipient_substitution
    assert (caps.max_batch_size, caps.max_payload_bytes) == (500, 4096)
    assert caps.default_rate_per_second == 10_000
    assert spec.secret_config_fields == {"service_account_json"}


async def test_requests_carry_a_bearer_token_minted_from_the_service_account(
    sender: ChannelSender, emulator: FcmEmulator
) -> None:
    results = await sender.send_batch([message(0), message(1)])

    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 2
    assert results[0].provider_id.startswith("projects/herald-test/messages/")
    [assertion] = emulator.assertions
    # Independently of the emulator: the assertion verifies with the service account's public key.
    claims = jwt.decode(assertion, KEY.public_key(), algorithms=["RS256"], audience=emulator.token_url)
    assert claims["iss"] == ACCOUNT["client_email"]
    assert claims["scope"] == SCOPE
    assert claims["exp"] - claims["iat"] == 3600
    assert abs(claims["iat"] - time.time()) < 300
    assert jwt.get_unverified_header(assertion) == {
        "alg": "RS256",
        "typ": "JWT",
        "kid": ACCOUNT["private_key_id"],
    }
    # The emulator served the sends only to a bearer token it issued for that assertion.
    assert {record["client_email"] for record in emulator.accepted} == {ACCOUNT["client_email"]}


async def test_token_is_cached_across_batches(sender: ChannelSender, emulator: FcmEmulator) -> None:
    await sender.send_batch([message(0)])
    await sender.send_batch([message(1), message(2)])
    assert len(emulator.assertions) == 1
    assert len(emulator.accepted) == 3


async def test_refused_token_is_refreshed_once(sender: ChannelSender, emulator: FcmEmulator) -> None:
    await sender.send_batch([message(0)])
    emulator.fail_next(1, 401)
    [refreshed] = await sender.send_batch([message(1)])
    assert refreshed.outcome is Outcome.ACCEPTED
    assert len(emulator.assertions) == 2

    emulator.fail_next(2, 401)
    [refused] = await sender.send_batch([message(2)])
    assert (refused.outcome, refused.reason) == (Outcome.FAILED, FailureReason.AUTHENTICATION)
    assert "UNAUTHENTICATED" in refused.detail


async def test_third_party_auth_error_fails_without_a_new_token(
    sender: ChannelSender, emulator: FcmEmulator
) -> None:
    emulator.fail_next(1, 401, error="THIRD_PARTY_AUTH_ERROR")
    [result] = await sender.send_batch([message(0)])
    assert (result.outcome, result.reason) == (Outcome.FAILED, FailureReason.AUTHENTICATION)
    assert len(emulator.assertions) == 1


async def test_assertion_signed_by_another_key_is_refused(
    manager: ChannelManager, emulator: FcmEmulator
) -> None:
    impostor = service_account(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    async with channel_sender(
        manager, CHANNEL, {"service_account_json": impostor}, emulator.endpoint
    ) as created:
        results = await created.send_batch([message(0), message(1)])
    assert [(r.outcome, r.reason) for r in results] == [(Outcome.FAILED, FailureReason.AUTHENTICATION)] * 2
    assert "Invalid JWT Signature" in results[0].detail
    assert emulator.accepted == [] and emulator.assertions == []


async def test_notification_and_data_only_messages(sender: ChannelSender, emulator: FcmEmulator) -> None:
    alert = MessageContent(
        title="Sale", body="50% off", data={"deep_link": "app://sale"}, sound="chime", badge=3,
        collapse_key="sale", ttl_seconds=3600, priority="high",
    )  # fmt: skip
    silent = MessageContent(data={"sync": "inbox"}, silent=True, priority="normal")
    await sender.send_batch([message(0, alert), message(1, silent)])
    by_token = {record["token"]: record["message"] for record in emulator.accepted}

    shown = by_token[token(0)]
    assert shown["notification"] == {"title": "Sale", "body": "50% off"}
    assert shown["data"] == {"deep_link": "app://sale"}
    assert shown["android"] == {
        "priority": "HIGH",
        "ttl": "3600s",
        "collapse_key": "sale",
        "notification": {"sound": "chime", "notification_count": 3},
    }
    assert shown["apns"]["headers"]["apns-push-type"] == "alert"
    assert shown["apns"]["headers"]["apns-priority"] == "10"
    assert shown["apns"]["headers"]["apns-collapse-id"] == "sale"
    assert int(shown["apns"]["headers"]["apns-expiration"]) > time.time()
    assert shown["apns"]["payload"] == {"aps": {"sound": "chime", "badge": 3}}

    data_only = by_token[token(1)]
    assert "notification" not in data_only
    assert data_only["data"] == {"sync": "inbox"}
    assert data_only["android"]["priority"] == "NORMAL"
    assert data_only["apns"]["headers"] == {"apns-priority": "5", "apns-push-type": "background"}
    assert data_only["apns"]["payload"] == {"aps": {"content-available": 1}}


@pytest.mark.parametrize(
    ("status", "retry_after", "outcome", "reason", "expected_after"),
    [
        (404, None, Outcome.FAILED, FailureReason.UNREGISTERED, None),
        (403, None, Outcome.FAILED, FailureReason.CONFIG_SUSPECT, None),
        (400, None, Outcome.FAILED, FailureReason.REJECTED, None),
        (429, 30, Outcome.RETRY, None, 30.0),
        (503, 5, Outcome.RETRY, None, 5.0),
        (500, None, Outcome.RETRY, None, None),
    ],
)
async def test_error_responses_map_to_results(
    sender: ChannelSender,
    emulator: FcmEmulator,
    status: int,
    retry_after: float | None,
    outcome: Outcome,
    reason: FailureReason | None,
    expected_after: float | None,
) -> None:
    emulator.fail_next(1, status, retry_after=retry_after)
    results = await sender.send_batch([message(0)])
    assert [(r.outcome, r.reason, r.retry_after) for r in results] == [(outcome, reason, expected_after)]
    [again] = await sender.send_batch([message(1)])
    assert again.outcome is Outcome.ACCEPTED


async def test_dead_and_malformed_tokens_are_pruned(sender: ChannelSender, emulator: FcmEmulator) -> None:
    emulator.invalidate(token(1))
    malformed = OutboundMessage("msg-x", "not a token", MessageContent(title="t"))
    results = await sender.send_batch([message(0), message(1), malformed])
    assert [(r.outcome, r.reason) for r in results] == [
        (Outcome.ACCEPTED, None),
        (Outcome.FAILED, FailureReason.UNREGISTERED),
        (Outcome.FAILED, FailureReason.UNREGISTERED),
    ]
    assert results[1].prunes_address and results[2].prunes_address
    assert "UNREGISTERED" in results[1].detail
    assert "registration token" in results[2].detail


async def test_a_token_of_another_sender_fails_without_pruning(
    sender: ChannelSender, emulator: FcmEmulator
) -> None:
    """SENDER_ID_MISMATCH is also what every token answers when the project is configured with another
    Firebase project's service account: never a reason to prune."""
    emulator.from_other_sender(token(1))
    results = await sender.send_batch([message(0), message(1)])
    assert [(r.outcome, r.reason) for r in results] == [
        (Outcome.ACCEPTED, None),
        (Outcome.FAILED, FailureReason.CONFIG_SUSPECT),
    ]
    assert not results[1].prunes_address and "403 PERMISSION_DENIED SENDER_ID_MISMATCH" in results[1].detail


async def bearer(session: aiohttp.ClientSession, emulator: FcmEmulator) -> dict[str, str]:
    """An Authorization header with an access token the emulator's token endpoint granted to ACCOUNT."""
    now = int(time.time())
    claims = {"iss": ACCOUNT["client_email"], "scope": SCOPE, "aud": emulator.token_url, "iat": now}
    form = {"grant_type": GRANT_TYPE, "assertion": jwt.encode({**claims, "exp": now + 600}, KEY, "RS256")}
    async with session.post(emulator.token_url, data=form) as response:
        granted = await response.json()
    assert granted["token_type"] == "Bearer" and granted["expires_in"] == 3599
    return {"Authorization": f"Bearer {granted['access_token']}"}


@pytest.mark.parametrize(
    ("how", "status", "canonical", "error_code", "text"),
    [
        ("other sender", 403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", "SenderId mismatch"),
        ("injected 403", 403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", "SenderId mismatch"),
        ("invalidated", 404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found."),
        ("injected 404", 404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found."),
    ],
)
async def test_emulator_answers_token_errors_in_fcms_shape(
    emulator: FcmEmulator, how: str, status: int, canonical: str, error_code: str, text: str
) -> None:
    """A google.rpc.Status whose details carry the FcmError with its errorCode, and nothing else."""
    if how == "other sender":
        emulator.from_other_sender(token(0))
    elif how == "invalidated":
        emulator.invalidate(token(0))
    else:
        emulator.fail_next(1, status)
    send_url = f"{emulator.endpoint}/v1/projects/herald-test/messages:send"
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, emulator)
        async with session.post(send_url, json={"message": {"token": token(0)}}, headers=headers) as response:
            assert (response.status, response.content_type) == (status, "application/json")
            body = await response.json()
    assert body == {
        "error": {
            "code": status,
            "message": text,
            "status": canonical,
            "details": [
                {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": error_code}
            ],
        }
    }
    assert emulator.accepted == []


@pytest.mark.parametrize("key", ["from", "message_type", "google", "google.c.a.e", "gcm.n.e", "gcmx"])
def test_templates_with_fcms_reserved_data_keys_are_refused(manager: ChannelManager, key: str) -> None:
    template = MessageContent(title="t", data={"order": "{{ order }}", key: "x"})
    with pytest.raises(ConfigError) as refused:
        manager.validate_template(CHANNEL, template)
    assert refused.value.field == f'data["{key}"]'


@pytest.mark.parametrize("key", ["fromage", "type", "notification", "collapse_key", "my_google"])
def test_other_data_keys_pass(manager: ChannelManager, key: str) -> None:
    manager.validate_template(CHANNEL, MessageContent(title="t", data={key: "x"}))


async def test_oversized_payload_fails_without_a_request(
    sender: ChannelSender, emulator: FcmEmulator
) -> None:
    content = MessageContent(title="t", data={"blob": "x" * MAX_PAYLOAD_BYTES})
    [result] = await sender.send_batch([message(0, content)])
    assert (result.outcome, result.reason) == (Outcome.FAILED, FailureReason.PAYLOAD_TOO_LARGE)
    assert emulator.accepted == []


async def test_a_full_batch_goes_out_concurrently_on_one_token(
    sender: ChannelSender, emulator: FcmEmulator
) -> None:
    results = await sender.send_batch([message(i) for i in range(200)])
    assert [r.message_id for r in results] == [f"msg-{i}" for i in range(200)]
    assert {r.outcome for r in results} == {Outcome.ACCEPTED}
    assert len({r.provider_id for r in results}) == 200
    assert len(emulator.assertions) == 1


async def test_unreachable_provider_is_retried(manager: ChannelManager, closed_port: int) -> None:
    async with channel_sender(manager, CHANNEL, CONFIG, f"http://127.0.0.1:{closed_port}") as created:
        results = await created.send_batch([message(0), message(1)])
    assert [r.outcome for r in results] == [Outcome.RETRY] * 2


async def test_emulator_checks_requests_as_fcm_does(emulator: FcmEmulator) -> None:
    send_url = f"{emulator.endpoint}/v1/projects/herald-test/messages:send"
    async with aiohttp.ClientSession() as session:
        async with session.post(emulator.token_url, data={"grant_type": "client_credentials"}) as response:
            assert (response.status, (await response.json())["error"]) == (400, "unsupported_grant_type")

        now = int(time.time())
        claims = {"iss": ACCOUNT["client_email"], "scope": SCOPE, "aud": emulator.token_url, "iat": now}
        for extra, error in [
            ({"exp": now + 7200}, "invalid_grant"),
            ({"exp": now + 600, "aud": "https://elsewhere.example/token"}, "invalid_grant"),
            ({"exp": now + 600, "scope": "https://www.googleapis.com/auth/drive"}, "invalid_scope"),
        ]:
            assertion = jwt.encode({**claims, **extra}, KEY, algorithm="RS256")
            form = {"grant_type": GRANT_TYPE, "assertion": assertion}
            async with session.post(emulator.token_url, data=form) as response:
                assert (response.status, (await response.json())["error"]) == (400, error)

        authorization = await bearer(session, emulator)

        async with session.post(send_url, json={"message": {"token": token(0)}}) as response:
            assert (await response.json())["error"]["status"] == "UNAUTHENTICATED"
        other_project = send_url.replace("herald-test", "someone-else")
        async with session.post(
            other_project, json={"message": {"token": token(0)}}, headers=authorization
        ) as response:
            assert (response.status, (await response.json())["error"]["status"]) == (403, "PERMISSION_DENIED")
        for body, field in [
            ({"message": {}}, "message"),
            ({"message": {"token": token(0), "data": {"count": 3}}}, "message.data[0].value"),
            ({"message": {"token": token(0), "data": {"from": "me"}}}, "message.data[0].key"),
            ({"message": {"token": token(0), "android": {"ttl": "1 hour"}}}, "message.android.ttl"),
        ]:
            async with session.post(send_url, json=body, headers=authorization) as response:
                error = (await response.json())["error"]
                assert (response.status, error["status"]) == (400, "INVALID_ARGUMENT")
                violations = [d for d in error["details"] if d["@type"].endswith("google.rpc.BadRequest")]
                assert violations[0]["fieldViolations"][0]["field"] == field


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (None, "service_account_json"),
        ("{not json", "service_account_json"),
        ("[1, 2]", "service_account_json"),
        ({"type": "authorized_user"}, "service_account_json.type"),
        ({"project_id": ""}, "service_account_json.project_id"),
        ({"client_email": "nobody"}, "service_account_json.client_email"),
        (
            {"private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"},
            "service_account_json.private_key",
        ),
        ({"private_key": pem(ec.generate_private_key(ec.SECP256R1()))}, "service_account_json.private_key"),
        ({"token_uri": "http://oauth2.googleapis.com/token"}, "service_account_json.token_uri"),
    ],
)
def test_malformed_service_account_names_the_field(manager: ChannelManager, change: Any, field: str) -> None:
    value = {**ACCOUNT, **change} if isinstance(change, dict) else change
    assert refused_field(manager, CHANNEL, {"service_account_json": value}) == field


def test_validated_config_keeps_the_key_file(manager: ChannelManager) -> None:
    assert manager.validate_config(CHANNEL, CONFIG) == {"service_account_json": ACCOUNT}


async def test_emulator_runs_standalone(tmp_path: Path) -> None:
    key_file = tmp_path / "service-account.json"
    key_file.write_bytes(orjson.dumps(ACCOUNT))
    async with (
        standalone_emulator("plugins.fcm.emulator", "--service-account", str(key_file)) as endpoint,
        aiohttp.ClientSession() as session,
        session.post(f"{endpoint}/token", data={}) as response,
    ):
        assert response.status == 400


class TestConformance(ChannelConformance):
    channel_name = CHANNEL
    config_suspect_failure = (403, "SENDER_ID_MISMATCH")

    def config(self, emulator: Emulator) -> Mapping[str, Any]:
        return CONFIG

    def address(self, emulator: Emulator, index: int) -> tuple[str, Mapping[str, str]]:
        return token(index), {}
