"""email.smtp against its emulator (aiosmtpd) over loopback SMTP: plain, STARTTLS and implicit TLS,
AUTH, the MIME message, connection reuse and every reply mapping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiosmtplib
import pytest

from kernel.channels import (
    Emulator,
    FailureReason,
    MessageContent,
    OutboundMessage,
    Outcome,
    SendResult,
)
from kernel.conformance import ChannelConformance
from kernel.plugins import ChannelManager
from plugins.smtp.emulator import SmtpEmulator
from plugins.smtp.sender import MAX_MESSAGE_BYTES, split_endpoint
from tests.plugins.conftest import channel_sender, refused_field, standalone_emulator

CHANNEL = "email.smtp"
USER, PASSWORD = "herald", "correct horse battery staple"


def config_for(emulator: SmtpEmulator, **changes: Any) -> dict[str, Any]:
    host, port = split_endpoint(emulator.endpoint)
    config = {
        "host": host,
        "port": port,
        "security": emulator.security,
        "username": USER,
        "password": PASSWORD,
        "from_address": "news@herald.example",
        "from_name": "Herald News",
        "tls_ca_pem": emulator.ca_pem,
    }
    return {**config, **changes}


@pytest.fixture(params=["none", "starttls", "tls"])
async def emulator(request: pytest.FixtureRequest) -> AsyncIterator[SmtpEmulator]:
    """An SMTP server requiring AUTH, in each security mode."""
    async with SmtpEmulator(USER, PASSWORD, security=request.param) as running:
        yield running


@pytest.fixture
async def plain() -> AsyncIterator[SmtpEmulator]:
    """A plain-SMTP server requiring AUTH (for the mode-independent checks)."""
    async with SmtpEmulator(USER, PASSWORD) as running:
        yield running


async def send(
    manager: ChannelManager, config: Mapping[str, Any], messages: list[OutboundMessage]
) -> list[SendResult]:
    async with channel_sender(manager, CHANNEL, config) as sender:
        return await sender.send_batch(messages)


def message(number: int, content: MessageContent | None = None) -> OutboundMessage:
    content = content or MessageContent(subject="Hello", text="Hello there")
    return OutboundMessage(f"msg-{number}", f"user{number}@example.com", content)


def test_discovered_through_the_entry_point(manager: ChannelManager) -> None:
    spec = manager.channel(CHANNEL)
    assert spec.consent_scope == "email"
    assert spec.capabilities.address_kind == "email"
    assert not spec.capabilities.per_recipient_substitution
    assert spec.capabilities.max_batch_size == 100
    assert spec.capabilities.max_payload_bytes == MAX_MESSAGE_BYTES
    assert spec.secret_config_fields == {"password"}


async def test_sends_a_proper_mime_message_in_every_security_mode(
    manager: ChannelManager, emulator: SmtpEmulator
) -> None:
    content = MessageContent(
        subject="Your receipt, n°42 ✓",
        text="Plain receipt",
        html="<p>HTML receipt</p>",
        reply_to="help@herald.example",
        url="https://herald.example/unsubscribe?u=1",
    )
    [result] = await send(manager, config_for(emulator), [message(7, content)])

    assert result.outcome is Outcome.ACCEPTED
    assert result.provider_id == "<msg-7@herald.example>"
    [record] = emulator.accepted
    assert record["mail_from"] == "news@herald.example"
    assert record["rcpt_tos"] == ["user7@example.com"]
    assert record["message_id"] == "<msg-7@herald.example>"
    assert record["subject"] == "Your receipt, n°42 ✓"
    assert record["from"] == "Herald News <news@herald.example>"
    assert record["text"].strip() == "Plain receipt"
    assert record["html"].strip() == "<p>HTML receipt</p>"
    assert record["headers"]["Content-Type"].startswith("multipart/alternative")
    assert record["headers"]["List-Unsubscribe"] == "<https://herald.example/unsubscribe?u=1>"
    assert record["headers"]["Reply-To"] == "help@herald.example"
    assert record["headers"]["X-Herald-Message-Id"] == "msg-7"


async def test_one_connection_serves_successive_batches(manager: ChannelManager, plain: SmtpEmulator) -> None:
    async with channel_sender(manager, CHANNEL, config_for(plain)) as sender:
        first = await sender.send_batch([message(i) for i in range(3)])
        second = await sender.send_batch([message(i) for i in range(3, 5)])
    assert [r.outcome for r in first + second] == [Outcome.ACCEPTED] * 5
    assert plain.connections == 1
    assert [r["rcpt_tos"] for r in plain.accepted] == [[f"user{i}@example.com"] for i in range(5)]


async def test_reconnects_when_the_server_dropped_an_idle_connection(
    manager: ChannelManager, plain: SmtpEmulator
) -> None:
    async with channel_sender(manager, CHANNEL, config_for(plain)) as sender:
        await sender.send_batch([message(0)])
        plain.disconnect_all()
        await asyncio.sleep(0)  # let the close reach the client
        [result] = await sender.send_batch([message(1)])
    assert result.outcome is Outcome.ACCEPTED
    assert plain.connections == 2
    assert len(plain.accepted) == 2


async def test_wrong_password_fails_the_batch_with_authentication(
    manager: ChannelManager, plain: SmtpEmulator
) -> None:
    results = await send(manager, config_for(plain, password="wrong"), [message(0), message(1)])
    assert [(r.outcome, r.reason) for r in results] == [(Outcome.FAILED, FailureReason.AUTHENTICATION)] * 2
    assert "535" in results[0].detail
    assert plain.accepted == []


async def test_server_requiring_auth_refuses_anonymous_senders(
    manager: ChannelManager, plain: SmtpEmulator
) -> None:
    [result] = await send(manager, config_for(plain, username="", password=""), [message(0)])
    assert (result.outcome, result.reason) == (Outcome.FAILED, FailureReason.AUTHENTICATION)
    assert "530" in result.detail


@pytest.mark.parametrize(
    ("code", "outcome", "reason"),
    [
        (421, Outcome.RETRY, None),
        (450, Outcome.RETRY, None),
        (451, Outcome.RETRY, None),
        (452, Outcome.RETRY, None),
        (552, Outcome.RETRY, None),
        (550, Outcome.FAILED, FailureReason.INVALID_ADDRESS),
        (551, Outcome.FAILED, FailureReason.INVALID_ADDRESS),
        (553, Outcome.FAILED, FailureReason.INVALID_ADDRESS),
        (554, Outcome.FAILED, FailureReason.REJECTED),
    ],
)
async def test_recipient_replies_map_to_results(
    manager: ChannelManager, plain: SmtpEmulator, code: int, outcome: Outcome, reason: FailureReason | None
) -> None:
    plain.fail_next(1, code)
    results = await send(manager, config_for(plain), [message(0), message(1)])
    assert (results[0].outcome, results[0].reason) == (outcome, reason)
    assert str(code) in results[0].detail
    if code != 421:  # 421 closes the connection: the rest of the batch is retried
        assert results[1].outcome is Outcome.ACCEPTED


async def test_invalidated_mailbox_is_pruned(manager: ChannelManager, plain: SmtpEmulator) -> None:
    plain.invalidate("user1@example.com")
    results = await send(manager, config_for(plain), [message(0), message(1), message(2)])
    assert [r.outcome for r in results] == [Outcome.ACCEPTED, Outcome.FAILED, Outcome.ACCEPTED]
    assert results[1].prunes_address


async def test_message_above_the_servers_size_limit_is_too_large(manager: ChannelManager) -> None:
    async with SmtpEmulator(USER, PASSWORD, max_message_bytes=2000) as small:
        content = MessageContent(subject="Long", text="lorem ipsum " * 500)
        [result] = await send(manager, config_for(small), [message(0, content)])
        assert (result.outcome, result.reason) == (Outcome.FAILED, FailureReason.PAYLOAD_TOO_LARGE)
        assert "552" in result.detail
        assert small.accepted == []


async def test_header_injection_is_refused_without_sending(
    manager: ChannelManager, plain: SmtpEmulator
) -> None:
    content = MessageContent(subject="Hi\r\nBcc: everyone@example.com", text="t")
    [result] = await send(manager, config_for(plain), [message(0, content)])
    assert (result.outcome, result.reason) == (Outcome.FAILED, FailureReason.REJECTED)
    assert plain.accepted == []


async def test_unreachable_server_is_retried(manager: ChannelManager, closed_port: int) -> None:
    config = {
        "host": "127.0.0.1",
        "port": closed_port,
        "security": "none",
        "from_address": "a@herald.example",
    }
    results = await send(manager, config, [message(0), message(1)])
    assert [r.outcome for r in results] == [Outcome.RETRY] * 2


async def test_untrusted_certificate_is_retried_not_sent(manager: ChannelManager) -> None:
    async with SmtpEmulator(USER, PASSWORD, security="tls") as server:
        [result] = await send(manager, config_for(server, tls_ca_pem=""), [message(0)])
        assert result.outcome is Outcome.RETRY
        assert "CERTIFICATE_VERIFY_FAILED" in result.detail
        assert server.accepted == []


async def test_starttls_server_refuses_mail_before_tls() -> None:
    async with SmtpEmulator(USER, PASSWORD, security="starttls") as server:
        host, port = split_endpoint(server.endpoint)
        client = aiosmtplib.SMTP(hostname=host, port=port, start_tls=False)
        await client.connect()
        try:
            with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
                await client.sendmail("a@herald.example", ["b@example.com"], "Subject: x\r\n\r\nx")
            assert refused.value.code == 530
        finally:
            await client.quit()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"host": ""}, "host"),
        ({"host": "smtp example"}, "host"),
        ({"security": "ssl"}, "security"),
        ({"port": 0}, "port"),
        ({"port": "25"}, "port"),
        ({"username": ""}, "username"),
        ({"password": ""}, "password"),
        ({"host": "smtp.example.com", "security": "none"}, "security"),
        ({"from_address": "herald"}, "from_address"),
        ({"tls_ca_pem": "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----"}, "tls_ca_pem"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
    ],
)
async def test_malformed_config_names_the_field(
    manager: ChannelManager, plain: SmtpEmulator, change: dict[str, Any], field: str
) -> None:
    assert refused_field(manager, CHANNEL, config_for(plain, **change)) == field


def test_default_port_follows_the_security_mode(manager: ChannelManager) -> None:
    base = {"host": "smtp.example.com", "from_address": "a@herald.example"}
    ports = {
        mode: manager.validate_config(CHANNEL, {**base, "security": mode})["port"]
        for mode in ("none", "starttls", "tls")
    }
    assert ports == {"none": 25, "starttls": 587, "tls": 465}


async def test_emulator_runs_standalone() -> None:
    async with standalone_emulator("plugins.smtp.emulator") as endpoint:
        host, port = split_endpoint(endpoint)
        client = aiosmtplib.SMTP(hostname=host, port=port, start_tls=False)
        await client.connect()
        errors, _ = await client.sendmail("a@herald.example", ["b@example.com"], "Subject: x\r\n\r\nx")
        await client.quit()
        assert errors == {}


class TestConformance(ChannelConformance):
    channel_name = CHANNEL
    throttle_status = 451
    server_error_status = 421
    reports_retry_after = False

    def config(self, emulator: Emulator) -> Mapping[str, Any]:
        host, port = split_endpoint(emulator.endpoint)
        return {"host": host, "port": port, "security": "none", "from_address": "news@herald.example"}

    def address(self, emulator: Emulator, index: int) -> tuple[str, Mapping[str, str]]:
        return f"reader{index}@example.com", {}
