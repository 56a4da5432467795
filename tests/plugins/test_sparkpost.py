"""email.sparkpost against its emulator over loopback HTTP: batching, substitution, every response
mapping, configuration checks and event-webhook parsing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.channels import (
    ChannelSender,
    ConfigError,
    Emulator,
    FailureReason,
    FeedbackKind,
    MessageContent,
    OutboundMessage,
    Outcome,
    WebhookRequest,
)
from kernel.conformance import ChannelConformance
from kernel.plugins import ChannelManager
from plugins.sparkpost.config import SparkPostConfig
from plugins.sparkpost.emulator import SparkPostEmulator
from plugins.sparkpost.feedback import KINDS, parse_events
from plugins.sparkpost.sender import CONTENT_LIMIT
from tests.plugins.conftest import WebhookTarget, channel_sender, refused_field, standalone_emulator

CHANNEL = "email.sparkpost"
API_KEY = "0f3bc4b2c9d1e8f7a6b5c4d3e2f1a0b9c8d7e6f5"
CONFIG = {"api_key": API_KEY, "from_address": "news@herald.example", "from_name": "Herald"}


@pytest.fixture
async def emulator() -> AsyncIterator[SparkPostEmulator]:
    """A SparkPost emulator that accepts only API_KEY."""
    async with SparkPostEmulator(API_KEY) as running:
        yield running


@pytest.fixture
async def sender(manager: ChannelManager, emulator: SparkPostEmulator) -> AsyncIterator[ChannelSender]:
    """The plugin's sender, pointed at the emulator."""
    async with channel_sender(manager, CHANNEL, CONFIG, emulator.endpoint) as created:
        yield created


def message(number: int, content: MessageContent, data: dict[str, Any] | None = None) -> OutboundMessage:
    return OutboundMessage(f"msg-{number}", f"user{number}@example.com", content, substitution_data=data)


def test_discovered_through_the_entry_point(manager: ChannelManager) -> None:
    spec = manager.channel(CHANNEL)
    assert spec.consent_scope == "email"
    assert spec.capabilities.address_kind == "email"
    assert spec.capabilities.per_recipient_substitution
    assert spec.capabilities.max_batch_size == 2000
    assert spec.capabilities.max_payload_bytes == CONTENT_LIMIT
    assert {"api_key", "from_address"} <= set(spec.config_fields)
    assert isinstance(manager.emulator(CHANNEL), Emulator)


async def test_shared_content_is_one_transmission_personalised_per_recipient(
    sender: ChannelSender, emulator: SparkPostEmulator
) -> None:
    content = MessageContent(
        subject="Hello {{first_name}}",
        html="<p>Hi {{first_name}}, your code is {{code}}</p>",
        text="Hi {{first_name}}",
        campaign="spring-sale",
        tags={"segment": "vip"},
        reply_to="help@herald.example",
    )
    names = ["Ada", "Bob & Co", "Cy"]
    batch = [message(i, content, {"first_name": name, "code": i}) for i, name in enumerate(names)]

    results = await sender.send_batch(batch)

    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 3
    assert [r.message_id for r in results] == ["msg-0", "msg-1", "msg-2"]
    assert emulator.transmissions == 1
    assert len({r.provider_id for r in results}) == 1 and results[0].provider_id
    by_address = {record["email"]: record for record in emulator.accepted}
    assert by_address["user1@example.com"]["subject"] == "Hello Bob & Co"
    assert by_address["user1@example.com"]["html"] == "<p>Hi Bob &amp; Co, your code is 1</p>"
    assert by_address["user2@example.com"]["text"] == "Hi Cy"
    record = by_address["user0@example.com"]
    assert record["herald_message_id"] == "msg-0"
    assert record["campaign_id"] == "spring-sale"
    assert record["metadata"] == {"segment": "vip", "herald_message_id": "msg-0"}
    assert record["from"] == {"email": "news@herald.example", "name": "Herald"}
    assert record["reply_to"] == "help@herald.example"
    assert record["options"] == {"open_tracking": True, "click_tracking": True, "transactional": False}


async def test_rendered_transactional_content_is_flagged_and_reaches_recipients_verbatim(
    sender: ChannelSender, emulator: SparkPostEmulator
) -> None:
    # What Herald rendered from a profile value "{{evil}}" and a Liquid {% raw %} block.
    content = MessageContent(
        subject="Reset {{evil}}",
        html="<p>Hi {{evil}}, keep {{{ braces }}}</p>",
        text="Hi {{evil}}",
        from_name="Support {{team}}",
        transactional=True,
    )
    [result] = await sender.send_batch([message(0, content)])

    assert result.outcome is Outcome.ACCEPTED
    [record] = emulator.accepted
    assert record["options"]["transactional"] is True
    assert (record["subject"], record["html"], record["text"]) == (
        "Reset {{evil}}",
        "<p>Hi {{evil}}, keep {{{ braces }}}</p>",
        "Hi {{evil}}",
    )
    assert record["from"]["name"] == "Support {{team}}"


async def test_fields_herald_renders_beside_substitution_reach_recipients_verbatim(
    sender: ChannelSender, emulator: SparkPostEmulator
) -> None:
    content = MessageContent(
        subject="Hi {{{h0}}}", text="t", from_name="{{evil}}", reply_to="{{r}}@x.example"
    )
    [result] = await sender.send_batch([message(0, content, {"h0": "Ann"})])

    assert result.outcome is Outcome.ACCEPTED
    [record] = emulator.accepted
    assert (record["subject"], record["from"]["name"], record["reply_to"]) == (
        "Hi Ann",
        "{{evil}}",
        "{{r}}@x.example",
    )


async def test_distinct_contents_are_separate_transmissions_in_order(
    sender: ChannelSender, emulator: SparkPostEmulator
) -> None:
    first, second = MessageContent(subject="A", text="a"), MessageContent(subject="B", html="<b>b</b>")
    batch = [message(0, first), message(1, second), message(2, first)]

    results = await sender.send_batch(batch)

    assert [r.message_id for r in results] == ["msg-0", "msg-1", "msg-2"]
    assert emulator.transmissions == 2
    assert results[0].provider_id == results[2].provider_id != results[1].provider_id
    assert sorted(r["subject"] for r in emulator.accepted) == ["A", "A", "B"]


async def test_wrong_api_key_fails_every_message_with_authentication(
    manager: ChannelManager, emulator: SparkPostEmulator
) -> None:
    async with channel_sender(
        manager, CHANNEL, {**CONFIG, "api_key": "not-the-key"}, emulator.endpoint
    ) as sender:
        results = await sender.send_batch([message(0, MessageContent(subject="s", text="t"))])
    assert results[0].outcome is Outcome.FAILED
    assert results[0].reason is FailureReason.AUTHENTICATION
    assert emulator.accepted == []


@pytest.mark.parametrize(
    ("status", "retry_after", "error", "outcome", "reason", "expected_after"),
    [
        (429, 7, "", Outcome.RETRY, None, 7.0),
        (500, None, "", Outcome.RETRY, None, None),
        (503, 2, "", Outcome.RETRY, None, 2.0),
        (420, None, "Exceed Sending Limit (hourly)", Outcome.RETRY, None, 3600.0),
        (420, None, "Exceed Sending Limit (daily)", Outcome.RETRY, None, 86400.0),
        (401, None, "", Outcome.FAILED, FailureReason.AUTHENTICATION, None),
        (403, None, "", Outcome.FAILED, FailureReason.AUTHENTICATION, None),
        # 1902 "suppressed due to customer policy": a suppression of unknown cause, not an unsubscribe.
        (400, None, "", Outcome.FAILED, FailureReason.REJECTED, None),
        (
            422,
            None,
            "The estimated message size is above the 20 MB message size limit",
            Outcome.FAILED,
            FailureReason.PAYLOAD_TOO_LARGE,
            None,
        ),
        (
            400,
            None,
            "Unconfigured Sending Domain <herald.example>",
            Outcome.FAILED,
            FailureReason.REJECTED,
            None,
        ),
    ],
)
async def test_error_responses_map_to_results(
    sender: ChannelSender,
    emulator: SparkPostEmulator,
    status: int,
    retry_after: float | None,
    error: str,
    outcome: Outcome,
    reason: FailureReason | None,
    expected_after: float | None,
) -> None:
    emulator.fail_next(1, status, retry_after=retry_after, error=error)
    [result] = await sender.send_batch([message(0, MessageContent(subject="s", text="t"))])
    assert (result.outcome, result.reason, result.retry_after) == (outcome, reason, expected_after)
    assert result.detail
    # The failure was for one request only: the next one goes through.
    [again] = await sender.send_batch([message(1, MessageContent(subject="s", text="t"))])
    assert again.outcome is Outcome.ACCEPTED


async def test_invalid_recipient_fails_and_the_rest_are_accepted_in_one_transmission(
    sender: ChannelSender, emulator: SparkPostEmulator
) -> None:
    content = MessageContent(subject="s", text="t")
    bad = OutboundMessage("msg-bad", "not-an-address@", content)
    results = await sender.send_batch([message(0, content), bad, message(2, content)])

    assert [r.outcome for r in results] == [Outcome.ACCEPTED, Outcome.FAILED, Outcome.ACCEPTED]
    assert results[1].reason is FailureReason.INVALID_ADDRESS
    assert results[1].prunes_address
    assert "not-an-address@" in results[1].detail
    assert results[0].provider_id == results[2].provider_id
    assert emulator.transmissions == 1
    assert [r["email"] for r in emulator.accepted] == ["user0@example.com", "user2@example.com"]


async def test_dead_recipients_are_pruned_and_the_rest_delivered(
    sender: ChannelSender, emulator: SparkPostEmulator
) -> None:
    emulator.invalidate("user1@example.com")
    emulator.invalidate("user3@example.com")
    content = MessageContent(subject="s", text="t")
    results = await sender.send_batch([message(i, content) for i in range(4)])

    assert [(r.outcome, r.reason) for r in results] == [
        (Outcome.ACCEPTED, None),
        (Outcome.FAILED, FailureReason.INVALID_ADDRESS),
        (Outcome.ACCEPTED, None),
        (Outcome.FAILED, FailureReason.INVALID_ADDRESS),
    ]
    assert emulator.transmissions == 1
    assert [r["email"] for r in emulator.accepted] == ["user0@example.com", "user2@example.com"]


@pytest.mark.parametrize("count", [1, 2])
async def test_a_transmission_without_a_valid_recipient_fails_each_as_an_invalid_address(
    sender: ChannelSender, emulator: SparkPostEmulator, count: int
) -> None:
    content = MessageContent(subject="s", text="t")
    batch = [OutboundMessage(f"msg-{i}", f"bad{i}@", content) for i in range(count)]
    results = await sender.send_batch(batch)

    failed = (Outcome.FAILED, FailureReason.INVALID_ADDRESS)
    assert [(r.outcome, r.reason) for r in results] == [failed] * count
    assert all(r.prunes_address and "5002" in r.detail for r in results)
    assert emulator.transmissions == 0


@pytest.mark.parametrize("count", [1, 2])
async def test_suppressed_recipient_is_accepted_and_comes_back_as_a_rejection(
    manager: ChannelManager, sender: ChannelSender, emulator: SparkPostEmulator, count: int
) -> None:
    emulator.suppress("user0@example.com")
    content = MessageContent(subject="s", text="t")
    results = await sender.send_batch([message(i, content) for i in range(count)])

    # SparkPost accepts the transmission and reports the suppressed recipient by event afterwards: an
    # Admin-class bounce (25), of a cause SparkPost does not give.
    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * count
    assert [r["email"] for r in emulator.accepted] == [f"user{i}@example.com" for i in range(1, count)]
    request = WebhookRequest({}, orjson.dumps(emulator.pending_events))
    events = manager.parse_feedback(CHANNEL, request, CONFIG)
    assert [(e.kind, e.address, e.message_id) for e in events] == [
        (FeedbackKind.REJECTED, "user0@example.com", "msg-0")
    ]


async def test_oversized_content_fails_without_a_request(
    sender: ChannelSender, emulator: SparkPostEmulator
) -> None:
    content = MessageContent(subject="big", html="x" * (CONTENT_LIMIT + 1))
    results = await sender.send_batch([message(0, content), message(1, content)])
    assert {(r.outcome, r.reason) for r in results} == {(Outcome.FAILED, FailureReason.PAYLOAD_TOO_LARGE)}
    assert emulator.transmissions == 0


async def test_unreachable_provider_is_retried(manager: ChannelManager, closed_port: int) -> None:
    async with channel_sender(manager, CHANNEL, CONFIG, f"http://127.0.0.1:{closed_port}") as sender:
        results = await sender.send_batch([message(0, MessageContent(subject="s", text="t"))])
    assert results[0].outcome is Outcome.RETRY


async def test_emulator_checks_the_request_as_sparkpost_does(emulator: SparkPostEmulator) -> None:
    url = f"{emulator.endpoint}/api/v1/transmissions"
    good = {
        "recipients": [{"address": {"email": "a@example.com"}}],
        "content": {"from": {"email": "n@herald.example"}, "subject": "s", "text": "t"},
    }
    cases = [
        ({}, {**good, "recipients": []}, 400, "At least one valid recipient is required"),
        ({}, {**good, "content": {**good["content"], "from": {}}}, 422, "'content.from' is required"),
        ({}, {**good, "content": {"from": "n@herald.example", "text": "t"}}, 422, "'content.subject'"),
        ({}, {**good, "content": {"from": "n@herald.example", "subject": "s"}}, 422, "'content.html'"),
        ({"Authorization": "wrong"}, good, 401, "Unauthorized."),
    ]
    async with aiohttp.ClientSession() as session:
        for headers, body, status, text in cases:
            async with session.post(
                url, json=body, headers={"Authorization": API_KEY, **headers}
            ) as response:
                answer = await response.json()
                assert response.status == status
                assert text in answer["errors"][0]["message"]
        async with session.post(url, json=good, headers={"Authorization": API_KEY}) as response:
            answer = await response.json()
            assert response.status == 200
            assert answer == {
                "results": {
                    "total_rejected_recipients": 0,
                    "total_accepted_recipients": 1,
                    "id": answer["results"]["id"],
                }
            }


async def test_emulator_answers_recipient_errors_in_sparkposts_shapes(emulator: SparkPostEmulator) -> None:
    """The shapes of SparkPost's Transmissions API documentation and of its answers as observed."""
    url = f"{emulator.endpoint}/api/v1/transmissions"
    content = {"from": {"email": "n@herald.example"}, "subject": "s", "text": "t"}
    mixed = {
        "recipients": [
            {"address": {"email": "a@example.com"}},
            {"address": {"email": "normdexample.com"}},
            {"address": {"name": "No Address"}},
        ],
        "content": content,
    }
    invalid = {"recipients": [{"address": {"email": "normdexample.com"}}], "content": content}
    long_campaign = {**invalid, "recipients": mixed["recipients"][:1], "campaign_id": "c" * 65}
    headers = {"Authorization": API_KEY}
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=mixed, headers=headers) as response:
            answer = await response.json()
        assert response.status == 200
        assert answer == {
            "errors": [
                {
                    "message": "transmission created, but with validation errors",
                    "description": "message submitted for generation successfully",
                    "code": "2000",
                }
            ],
            "results": {
                "rcpt_to_errors": [
                    {
                        "message": "invalid data format/type",
                        "description": "invalid recipient address.email: normdexample.com",
                        "code": "1300",
                    },
                    {
                        "message": "required field is missing",
                        "description": "address.email is required for each recipient",
                        "code": "1400",
                    },
                ],
                "total_rejected_recipients": 2,
                "total_accepted_recipients": 1,
                "id": answer["results"]["id"],
            },
        }
        async with session.post(f"{url}?num_rcpt_errors=1", json=mixed, headers=headers) as response:
            answer = await response.json()
        assert len(answer["results"]["rcpt_to_errors"]) == 1
        assert answer["results"]["total_rejected_recipients"] == 2
        async with session.post(url, json=invalid, headers=headers) as response:
            answer = await response.json()
        assert response.status == 400
        assert answer == {"errors": [{"message": "At least one valid recipient is required", "code": 5002}]}
        async with session.post(url, json=long_campaign, headers=headers) as response:
            answer = await response.json()
        assert response.status == 422
        assert answer["errors"][0]["code"] == "1300"
    assert [record["email"] for record in emulator.accepted] == ["a@example.com", "a@example.com"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"api_key": ""}, "api_key"),
        ({"api_key": "has space"}, "api_key"),
        ({"from_address": "nobody"}, "from_address"),
        ({"from_address": None}, "from_address"),
        ({"base_url": "http://api.sparkpost.com"}, "base_url"),
        ({"open_tracking": "yes"}, "open_tracking"),
    ],
)
def test_malformed_config_names_the_field(
    manager: ChannelManager, change: dict[str, Any], field: str
) -> None:
    assert refused_field(manager, CHANNEL, {**CONFIG, **change}) == field


def test_config_is_normalised(manager: ChannelManager) -> None:
    stored = manager.validate_config(CHANNEL, {**CONFIG, "base_url": "https://api.eu.sparkpost.com"})
    assert stored["base_url"] == "https://api.eu.sparkpost.com"
    assert stored["open_tracking"] is True
    assert SparkPostConfig.parse(stored) == SparkPostConfig.parse(stored)


async def test_webhook_events_map_to_feedback(
    manager: ChannelManager, sender: ChannelSender, emulator: SparkPostEmulator, webhook_target: WebhookTarget
) -> None:
    await sender.send_batch(
        [message(0, MessageContent(subject="s", html="<a href='https://x.example'>x</a>"))]
    )
    record = emulator.accepted[0]
    batch = [
        emulator.event("delivery", record),
        emulator.event("bounce", record, bounce_class="10", reason="550 5.1.1 user unknown"),
        emulator.event("bounce", record, bounce_class="22", reason="452 mailbox full"),
        emulator.event("spam_complaint", record),
        emulator.event("initial_open", record),
        emulator.event("open", record),
        emulator.event("click", record, target_link_url="https://x.example"),
        emulator.event("list_unsubscribe", record),
        emulator.event("link_unsubscribe", record),
        emulator.event("delay", record) | {"msys": {"message_event": {"type": "injection"}}},
    ]

    assert await emulator.post_events(webhook_target.url, batch) == 200
    [request] = webhook_target.received
    assert request.headers["X-MessageSystems-Batch-ID"]
    events = manager.parse_feedback(CHANNEL, request, CONFIG)

    assert [e.kind for e in events] == [
        FeedbackKind.DELIVERED,
        FeedbackKind.BOUNCED,
        FeedbackKind.DEFERRED,
        FeedbackKind.COMPLAINED,
        FeedbackKind.OPENED,
        FeedbackKind.OPENED,
        FeedbackKind.CLICKED,
        FeedbackKind.UNSUBSCRIBED,
        FeedbackKind.UNSUBSCRIBED,
    ]
    assert {e.message_id for e in events} == {"msg-0"}
    assert {e.address for e in events} == {"user0@example.com"}
    assert events[6].url == "https://x.example"
    assert "550 5.1.1" in events[1].detail
    assert len({e.provider_event_id for e in events}) == len(events)
    assert all(e.occurred_at.tzinfo is not None for e in events)


async def test_webhook_basic_auth_is_always_checked(
    manager: ChannelManager, emulator: SparkPostEmulator, webhook_target: WebhookTarget
) -> None:
    secret = "generated-by-herald"
    credentials = manager.webhook_credentials(CHANNEL, CONFIG, secret)
    assert credentials["auth_type"] == "basic"
    auth = (credentials["auth_credentials.username"], credentials["auth_credentials.password"])
    ping = [{"msys": {}}]
    await emulator.post_events(webhook_target.url, ping, auth=auth)
    await emulator.post_events(webhook_target.url, ping, auth=(auth[0], "guess"))
    await emulator.post_events(webhook_target.url, ping)
    good, wrong, missing = webhook_target.received

    assert manager.verify_webhook(CHANNEL, good, CONFIG, secret)
    assert not manager.verify_webhook(CHANNEL, wrong, CONFIG, secret)
    assert not manager.verify_webhook(CHANNEL, missing, CONFIG, secret)
    # A configuration without a generated secret (sandbox default) verifies nothing, not everything.
    assert not manager.verify_webhook(CHANNEL, missing, CONFIG, "")
    assert manager.webhook_credentials(CHANNEL, CONFIG, "") == {}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b'{"msys": {}}', "body"),
    ],
)
def test_unreadable_webhook_body_is_refused(body: bytes, field: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_events(body)
    assert raised.value.field == field


def test_malformed_events_are_skipped_alone() -> None:
    good = {"type": "delivery", "rcpt_to": "a@b.c", "timestamp": "1", "event_id": "1"}
    batch = [
        1,
        {"msys": {"message_event": {"type": "delivery", "timestamp": "1"}}},
        {"msys": {"track_event": {"type": "open", "rcpt_to": "a@b.c", "timestamp": "soon"}}},
        {"msys": {"message_event": {"type": ["bounce"], "rcpt_to": "a@b.c", "timestamp": "1"}}},
        {"msys": {"message_event": {**good, "type": "bounce", "bounce_class": 1e300}}},
        {"msys": {"message_event": "not an object"}},
        {"msys": {"message_event": good}},
    ]
    events = parse_events(orjson.dumps(batch))
    assert [(e.kind, e.address) for e in events] == [
        (FeedbackKind.DEFERRED, "a@b.c"),
        (FeedbackKind.DELIVERED, "a@b.c"),
    ]


TRACKED = sorted({*KINDS, "bounce", "out_of_band"})
#: SparkPost's bounce classes by category: Hard (10, 30, 90), Admin (25); the others are temporary.
BOUNCE_KINDS = {
    10: FeedbackKind.BOUNCED,
    30: FeedbackKind.BOUNCED,
    90: FeedbackKind.BOUNCED,
    25: FeedbackKind.REJECTED,
}
UNTRACKED = ["injection", "delay", "policy_rejection", "generation_failure", "sms_status", "relay_injection"]


@st.composite
def sparkpost_event(draw: st.DrawFn) -> tuple[dict[str, Any], FeedbackKind | None]:
    kind = draw(st.sampled_from(TRACKED + UNTRACKED))
    bounce_class = draw(st.sampled_from([1, 10, 20, 21, 22, 25, 30, 40, 50, 90, 100]))
    event = {
        "type": kind,
        "rcpt_to": draw(st.emails()),
        "rcpt_meta": {"herald_message_id": draw(st.uuids()).hex},
        "event_id": str(draw(st.integers(1, 10**18))),
        "timestamp": draw(st.one_of(st.integers(0, 2**31), st.integers(0, 2**31).map(str))),
        "bounce_class": str(bounce_class),
    }
    if kind in ("bounce", "out_of_band"):
        expected = BOUNCE_KINDS.get(bounce_class, FeedbackKind.DEFERRED)
    else:
        expected = KINDS.get(kind)
    wrapper = draw(st.sampled_from(["message_event", "track_event", "unsubscribe_event", "gen_event"]))
    return {"msys": {wrapper: event}}, expected


@given(st.lists(sparkpost_event(), max_size=30))
def test_parser_keeps_every_tracked_event_of_a_random_batch(
    batch: list[tuple[dict[str, Any], FeedbackKind | None]],
) -> None:
    events = parse_events(orjson.dumps([item for item, _ in batch]))
    tracked = [(item["msys"], kind) for item, kind in batch if kind is not None]
    assert [e.kind for e in events] == [kind for _, kind in tracked]
    for parsed, (msys, _) in zip(events, tracked, strict=True):
        [source] = msys.values()
        assert parsed.message_id == source["rcpt_meta"]["herald_message_id"]
        assert parsed.address == source["rcpt_to"]
        assert parsed.provider_event_id == source["event_id"]
        assert parsed.occurred_at.timestamp() == int(source["timestamp"])


async def test_emulator_runs_standalone() -> None:
    async with (
        standalone_emulator("plugins.sparkpost.emulator", "--api-key", "k") as endpoint,
        aiohttp.ClientSession() as session,
        session.post(f"{endpoint}/api/v1/transmissions", json={}, headers={"Authorization": "x"}) as response,
    ):
        assert response.status == 401


class TestConformance(ChannelConformance):
    channel_name = CHANNEL

    def config(self, emulator: Emulator) -> Mapping[str, Any]:
        return CONFIG

    def address(self, emulator: Emulator, index: int) -> tuple[str, Mapping[str, str]]:
        return f"reader{index}@example.com", {}
