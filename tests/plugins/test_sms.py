"""sms.twilio against its emulator over loopback HTTP: Basic auth and form fields, E.164 checks,
GSM-7 / UCS-2 segment counting, every response mapping and status callbacks."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.channels import (
    ConfigError,
    Emulator,
    FailureReason,
    FeedbackKind,
    MessageContent,
    OutboundMessage,
    Outcome,
    SendResult,
    WebhookRequest,
)
from kernel.conformance import ChannelConformance
from kernel.plugins import ChannelManager
from plugins.sms.emulator import TwilioEmulator
from plugins.sms.segments import GSM7_BASIC, GSM7_EXTENSION, SegmentCount, count_segments
from tests.plugins.conftest import WebhookTarget, channel_sender, refused_field, standalone_emulator

CHANNEL = "sms.twilio"
ACCOUNT_SID = "AC" + "3f" * 16
AUTH_TOKEN = "9c1b7e5d3a2f4e6b8d0c1a3e5f7b9d2c"
FROM = "+14155550100"
CONFIG = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from_number": FROM}


def number(index: int) -> str:
    return f"+4478009{index:05d}"


def message(index: int, text: str = "Your code is 123456") -> OutboundMessage:
    return OutboundMessage(f"msg-{index}", number(index), MessageContent(text=text))


@pytest.fixture
async def emulator() -> AsyncIterator[TwilioEmulator]:
    """A Twilio emulator for one account."""
    async with TwilioEmulator(ACCOUNT_SID, AUTH_TOKEN) as running:
        yield running


async def send(
    manager: ChannelManager, endpoint: str, messages: list[OutboundMessage], **changes: Any
) -> list[SendResult]:
    async with channel_sender(manager, CHANNEL, {**CONFIG, **changes}, endpoint) as sender:
        return await sender.send_batch(messages)


def test_discovered_through_the_entry_point(manager: ChannelManager) -> None:
    spec = manager.channel(CHANNEL)
    assert (spec.consent_scope, spec.capabilities.address_kind) == ("sms", "phone")
    assert spec.capabilities.max_batch_size == 100
    assert spec.secret_config_fields == {"auth_token"}


async def test_sends_form_fields_with_basic_auth(manager: ChannelManager, emulator: TwilioEmulator) -> None:
    callback = "https://herald.example/webhooks/project-1/sms.twilio?k=v"
    results = await send(
        manager, emulator.endpoint, [message(0), message(1, "Ünïcödé ✓")], status_callback=callback
    )

    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 2
    assert all(r.provider_id.startswith("SM") and len(r.provider_id) == 34 for r in results)
    first, second = emulator.accepted
    assert (first["to"], first["from"], first["body"]) == (number(0), FROM, "Your code is 123456")
    assert (first["encoding"], first["num_segments"]) == ("GSM-7", "1")
    assert second["encoding"] == "UCS-2"
    query = parse_qs(urlsplit(first["status_callback"]).query)
    assert query == {"k": ["v"], "herald_message_id": ["msg-0"]}


async def test_messaging_service_replaces_the_sender_number(
    manager: ChannelManager, emulator: TwilioEmulator
) -> None:
    service = "MG" + "0a" * 16
    config = {"from_number": "", "messaging_service_sid": service}
    [result] = await send(manager, emulator.endpoint, [message(0)], **config)
    assert result.outcome is Outcome.ACCEPTED
    [record] = emulator.accepted
    assert (record["from"], record["messaging_service_sid"]) == (None, service)


async def test_wrong_auth_token_fails_with_authentication(
    manager: ChannelManager, emulator: TwilioEmulator
) -> None:
    results = await send(manager, emulator.endpoint, [message(0), message(1)], auth_token="0" * 32)
    assert [(r.outcome, r.reason) for r in results] == [(Outcome.FAILED, FailureReason.AUTHENTICATION)] * 2
    assert "20003" in results[0].detail


@pytest.mark.parametrize("address", ["07700900123", "+1234", "+44 7800 900123", "+447800900123x", ""])
async def test_non_e164_numbers_fail_without_a_request(
    manager: ChannelManager, emulator: TwilioEmulator, address: str
) -> None:
    bad = OutboundMessage("msg-bad", address, MessageContent(text="hi"))
    [result] = await send(manager, emulator.endpoint, [bad])
    assert (result.outcome, result.reason) == (Outcome.FAILED, FailureReason.INVALID_ADDRESS)
    assert emulator.accepted == []


async def test_text_over_the_segment_budget_fails_without_a_request(
    manager: ChannelManager, emulator: TwilioEmulator
) -> None:
    two_segments, three_segments = "a" * 306, "a" * 307
    results = await send(
        manager, emulator.endpoint, [message(0, two_segments), message(1, three_segments)], max_segments=2
    )
    assert results[0].outcome is Outcome.ACCEPTED
    assert (results[1].outcome, results[1].reason) == (Outcome.FAILED, FailureReason.PAYLOAD_TOO_LARGE)
    assert "3 GSM-7 segments" in results[1].detail
    assert len(emulator.accepted) == 1


@pytest.mark.parametrize(
    ("status", "error", "retry_after", "outcome", "reason", "expected_after"),
    [
        (400, "21211", None, Outcome.FAILED, FailureReason.INVALID_ADDRESS, None),
        (400, "21614", None, Outcome.FAILED, FailureReason.INVALID_ADDRESS, None),
        (400, "21610", None, Outcome.FAILED, FailureReason.UNSUBSCRIBED, None),
        (400, "21617", None, Outcome.FAILED, FailureReason.PAYLOAD_TOO_LARGE, None),
        (400, "21408", None, Outcome.FAILED, FailureReason.REJECTED, None),
        (401, "", None, Outcome.FAILED, FailureReason.AUTHENTICATION, None),
        (429, "", 5, Outcome.RETRY, None, 5.0),
        (429, "20429", None, Outcome.RETRY, None, None),
        (500, "", None, Outcome.RETRY, None, None),
        (503, "", 2, Outcome.RETRY, None, 2.0),
    ],
)
async def test_error_responses_map_to_results(
    manager: ChannelManager,
    emulator: TwilioEmulator,
    status: int,
    error: str,
    retry_after: float | None,
    outcome: Outcome,
    reason: FailureReason | None,
    expected_after: float | None,
) -> None:
    emulator.fail_next(1, status, retry_after=retry_after, error=error)
    [result, after] = await send(manager, emulator.endpoint, [message(0), message(1)])
    assert (result.outcome, result.reason, result.retry_after) == (outcome, reason, expected_after)
    assert after.outcome is Outcome.ACCEPTED


async def test_invalidated_number_is_pruned(manager: ChannelManager, emulator: TwilioEmulator) -> None:
    emulator.invalidate(number(1))
    results = await send(manager, emulator.endpoint, [message(0), message(1)])
    assert [r.outcome for r in results] == [Outcome.ACCEPTED, Outcome.FAILED]
    assert results[1].prunes_address and "21614" in results[1].detail


async def test_unsubscribed_number_is_suppressed_not_pruned(
    manager: ChannelManager, emulator: TwilioEmulator
) -> None:
    emulator.unsubscribe(number(1))
    results = await send(manager, emulator.endpoint, [message(0), message(1)])
    assert [(r.outcome, r.reason) for r in results] == [
        (Outcome.ACCEPTED, None),
        (Outcome.FAILED, FailureReason.UNSUBSCRIBED),
    ]
    assert not results[1].prunes_address and "21610" in results[1].detail


@pytest.mark.parametrize(
    ("how", "status", "code", "message_text", "retry_after"),
    [
        ("invalid to", 400, 21211, "Invalid 'To' Phone Number: 12345", None),
        ("injected 21211", 400, 21211, "Invalid 'To' Phone Number", None),
        ("unsubscribed", 400, 21610, "Attempt to send to unsubscribed recipient", None),
        ("injected 21610", 400, 21610, "Attempt to send to unsubscribed recipient", None),
        ("injected 20429", 429, 20429, "Too Many Requests", None),
        ("injected 20429", 429, 20429, "Too Many Requests", 3),
    ],
)
async def test_emulator_answers_errors_in_twilios_shape(
    emulator: TwilioEmulator,
    how: str,
    status: int,
    code: int,
    message_text: str,
    retry_after: int | None,
) -> None:
    """``{"code", "message", "more_info", "status"}`` and nothing else; Retry-After only when given."""
    to = "12345" if how == "invalid to" else number(0)
    if how == "unsubscribed":
        emulator.unsubscribe(to)
    elif how.startswith("injected"):
        emulator.fail_next(1, status, retry_after=retry_after, error=str(code))
    url = f"{emulator.endpoint}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    auth = {"Authorization": aiohttp.encode_basic_auth(ACCOUNT_SID, AUTH_TOKEN)}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data={"To": to, "From": FROM, "Body": "x"}, headers=auth) as response,
    ):
        assert (response.status, response.content_type) == (status, "application/json")
        assert response.headers.get("Retry-After") == (None if retry_after is None else str(retry_after))
        body = await response.json()
    assert body == {
        "code": code,
        "message": message_text,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    assert emulator.accepted == []


async def test_unreachable_provider_is_retried(manager: ChannelManager, closed_port: int) -> None:
    [result] = await send(manager, f"http://127.0.0.1:{closed_port}", [message(0)])
    assert result.outcome is Outcome.RETRY


async def test_emulator_checks_requests_as_twilio_does(emulator: TwilioEmulator) -> None:
    url = f"{emulator.endpoint}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    auth = {"Authorization": aiohttp.encode_basic_auth(ACCOUNT_SID, AUTH_TOKEN)}
    cases = [
        ({}, {"To": number(0), "From": FROM, "Body": "x"}, 401, 20003),
        (auth, {"From": FROM, "Body": "x"}, 400, 21604),
        (auth, {"To": "12345", "From": FROM, "Body": "x"}, 400, 21211),
        (auth, {"To": number(0), "Body": "x"}, 400, 21603),
        (auth, {"To": number(0), "From": FROM}, 400, 21602),
        (auth, {"To": number(0), "From": FROM, "Body": "x" * 1601}, 400, 21617),
    ]
    async with aiohttp.ClientSession() as session:
        for headers, form, status, code in cases:
            async with session.post(url, data=form, headers=headers) as response:
                body = await response.json()
                assert (response.status, body["code"], body["status"]) == (status, code, status)
                assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
        async with session.post(
            url, data={"To": number(0), "From": FROM, "Body": "x"}, headers=auth
        ) as response:
            created = await response.json()
        assert response.status == 201
        assert (created["status"], created["direction"], created["num_segments"]) == (
            "queued",
            "outbound-api",
            "1",
        )


@pytest.mark.parametrize(
    ("status", "error_code", "kind"),
    [
        ("delivered", "", FeedbackKind.DELIVERED),
        ("undelivered", "30005", FeedbackKind.BOUNCED),
        ("failed", "30006", FeedbackKind.BOUNCED),
        ("undelivered", "30003", FeedbackKind.DEFERRED),
        ("failed", "21610", FeedbackKind.UNSUBSCRIBED),
    ],
)
async def test_signed_status_callbacks_become_feedback(
    manager: ChannelManager,
    emulator: TwilioEmulator,
    webhook_target: WebhookTarget,
    status: str,
    error_code: str,
    kind: FeedbackKind,
) -> None:
    config = manager.validate_config(CHANNEL, {**CONFIG, "status_callback": webhook_target.url})
    await send(manager, emulator.endpoint, [message(3)], status_callback=webhook_target.url)
    [record] = emulator.accepted
    assert await emulator.post_status(record, "sent") == 200
    assert await emulator.post_status(record, status, error_code) == 200
    sent, final = webhook_target.received

    assert manager.verify_webhook(CHANNEL, sent, config, "") and manager.verify_webhook(
        CHANNEL, final, config, ""
    )
    assert manager.parse_feedback(CHANNEL, sent, config) == []
    [event] = manager.parse_feedback(CHANNEL, final, config)
    assert (event.kind, event.message_id, event.address) == (kind, "msg-3", number(3))
    assert event.provider_event_id == f"{record['sid']}:{status}"
    assert error_code in event.detail


async def test_forged_status_callback_is_refused(
    manager: ChannelManager, emulator: TwilioEmulator, webhook_target: WebhookTarget
) -> None:
    config = manager.validate_config(CHANNEL, {**CONFIG, "status_callback": webhook_target.url})
    await send(manager, emulator.endpoint, [message(0)], status_callback=webhook_target.url)
    await emulator.post_status(emulator.accepted[0], "undelivered", "30005")
    [genuine] = webhook_target.received
    forged = WebhookRequest(
        genuine.headers, genuine.body.replace(b"30005", b"30003"), genuine.query, genuine.url
    )
    unsigned = WebhookRequest({}, genuine.body, genuine.query, genuine.url)
    other_account = {**config, "auth_token": "f" * 32}

    assert manager.verify_webhook(CHANNEL, genuine, config, "")
    assert not manager.verify_webhook(CHANNEL, forged, config, "")
    assert not manager.verify_webhook(CHANNEL, unsigned, config, "")
    assert not manager.verify_webhook(CHANNEL, genuine, other_account, "")
    # Without a configured status_callback the signature is still checked, over the URL the call reached.
    assert manager.verify_webhook(CHANNEL, genuine, CONFIG, "")
    assert not manager.verify_webhook(CHANNEL, forged, CONFIG, "")
    moved = WebhookRequest(
        genuine.headers, genuine.body, genuine.query, genuine.url.replace("/webhooks", "/x")
    )
    assert not manager.verify_webhook(CHANNEL, moved, CONFIG, "")


@pytest.mark.parametrize(("body", "field"), [(b"", "MessageSid"), (b"MessageSid=SM1", "MessageStatus")])
def test_incomplete_status_callback_is_refused(manager: ChannelManager, body: bytes, field: str) -> None:
    with pytest.raises(ConfigError) as raised:
        manager.parse_feedback(CHANNEL, WebhookRequest({}, body), CONFIG)
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"account_sid": "AC123"}, "account_sid"),
        ({"auth_token": ""}, "auth_token"),
        ({"from_number": ""}, "from_number"),
        ({"from_number": "0044 7800"}, "from_number"),
        ({"messaging_service_sid": "MG1"}, "messaging_service_sid"),
        ({"status_callback": "http://herald.example/cb"}, "status_callback"),
        ({"status_callback": "https://"}, "status_callback"),
        ({"max_segments": 0}, "max_segments"),
        ({"base_url": "ftp://api.twilio.com"}, "base_url"),
    ],
)
def test_malformed_config_names_the_field(
    manager: ChannelManager, change: dict[str, Any], field: str
) -> None:
    assert refused_field(manager, CHANNEL, {**CONFIG, **change}) == field


@pytest.mark.parametrize("sender", ["+14155550100", "HERALD", "Herald Co", "72345"])
def test_sender_may_be_a_number_a_short_code_or_an_id(manager: ChannelManager, sender: str) -> None:
    assert manager.validate_config(CHANNEL, {**CONFIG, "from_number": sender})["from_number"] == sender


# -- segment counting -----------------------------------------------------------------------------

GSM_BASIC_TEXT = st.text(alphabet=sorted(GSM7_BASIC), max_size=1000)
GSM_TEXT = st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION), max_size=1000)
BMP_TEXT = st.text(alphabet=st.characters(min_codepoint=0x400, max_codepoint=0x4FF), min_size=1, max_size=500)


def expected(units: int, single: int, multi: int) -> int:
    return 0 if units == 0 else 1 if units <= single else math.ceil(units / multi)


def test_alphabet_tables_have_the_standard_sizes() -> None:
    assert (len(GSM7_BASIC), len(GSM7_EXTENSION)) == (127, 10)


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("€" * 80, "GSM-7", 160, 1),
        ("€" * 81, "GSM-7", 162, 2),
        ("a" * 152 + "€" + "a" * 10, "GSM-7", 164, 2),
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),  # the escape pair is not split
        ("ł" * 70, "UCS-2", 70, 1),
        ("ł" * 71, "UCS-2", 71, 2),
        ("😀" * 35, "UCS-2", 70, 1),
        ("a" * 66 + "😀" + "a" * 67, "UCS-2", 135, 3),  # the surrogate pair is not split
    ],
)
def test_segment_examples(text: str, encoding: str, units: int, segments: int) -> None:
    assert count_segments(text) == SegmentCount(encoding, units, segments)


@given(GSM_BASIC_TEXT)
def test_gsm7_basic_text_follows_the_160_153_rule(text: str) -> None:
    count = count_segments(text)
    assert (count.encoding, count.units) == ("GSM-7", len(text))
    assert count.segments == expected(len(text), 160, 153)


@given(GSM_TEXT)
def test_extension_characters_count_two_septets(text: str) -> None:
    count = count_segments(text)
    assert count.encoding == "GSM-7"
    assert count.units == len(text) + sum(char in GSM7_EXTENSION for char in text)
    lower = expected(count.units, 160, 153)
    # Never splitting an escape pair costs at most one septet per segment.
    assert lower <= count.segments <= max(lower, expected(count.units, 160, 152))


@given(BMP_TEXT, GSM_BASIC_TEXT)
def test_any_other_character_forces_ucs2_and_the_70_67_rule(text: str, gsm: str) -> None:
    mixed = gsm + text
    count = count_segments(mixed)
    assert (count.encoding, count.units) == ("UCS-2", len(mixed))
    assert count.segments == expected(len(mixed), 70, 67)


@given(st.text(max_size=400))
def test_segments_are_never_negative_and_zero_only_when_empty(text: str) -> None:
    count = count_segments(text)
    assert count.segments >= 0 and count.units >= 0
    assert (count.segments == 0) == (text == "")


async def test_emulator_runs_standalone() -> None:
    async with standalone_emulator("plugins.sms.emulator") as endpoint:
        url = f"{endpoint}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        async with aiohttp.ClientSession() as session, session.post(url, data={}) as response:
            assert (await response.json())["code"] == 20003


class TestConformance(ChannelConformance):
    channel_name = CHANNEL

    def config(self, emulator: Emulator) -> Mapping[str, Any]:
        return CONFIG

    def address(self, emulator: Emulator, index: int) -> tuple[str, Mapping[str, str]]:
        return number(index), {}
