"""Logs an operator runs on: a channel in trouble is reported a few times (never not at all, never once
per message), and a send's life is told from creation to completion, with its figures."""

from __future__ import annotations

import logging
import socket

import pytest

from herald.v1 import messages_pb2
from tests.delivery.conftest import EMAIL, sender_worker
from tests.delivery.support import completed, person, send_request

TROUBLE = "kernel.delivery.trouble"
SEND_EVENTS = "kernel.delivery.send_events"


def closed_port() -> int:
    """A loopback port nothing listens on: a dead provider host."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_channel_pointed_at_a_dead_host_is_logged_a_few_times(
    messages, profiles, configured, server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for index in range(30):
        await person(profiles, configured, f"dead{index}", email=f"dead{index}@example.com")
    server.kernel.senders.endpoints[EMAIL] = f"http://127.0.0.1:{closed_port()}"
    async with sender_worker(server, message_max_age_seconds=1.0, retry_base_seconds=0.05):
        send = await messages.CreateSend(send_request(), metadata=configured.auth)
        done = await completed(messages, configured, send.send_id)
    assert done.expired == 30 and done.retries > 30

    trouble = [record for record in caplog.records if record.name == TROUBLE]
    events = {(record.event, record.channel, record.domain) for record in trouble}
    assert ("deferring", EMAIL, "other") in events
    assert ("expired", EMAIL, "other") in events
    deferring = next(record for record in trouble if record.event == "deferring")
    assert "Connect" in deferring.answer and deferring.levelno == logging.WARNING
    # One line per kind of trouble in the log's window (a minute): not one per message.
    assert len(trouble) <= 2 * len(events) < done.retries


def send_events(caplog: pytest.LogCaptureFixture, send_id: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == SEND_EVENTS and str(r.send_id) == send_id]


async def test_a_send_life_is_logged_with_its_figures(
    messages, profiles, configured, sparkpost, server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for index in range(3):
        await person(profiles, configured, f"life{index}", email=f"life{index}@example.com")
    send = await messages.CreateSend(send_request(start_paused=True), metadata=configured.auth)
    await messages.ResumeSend(messages_pb2.ResumeSendRequest(send_id=send.send_id), metadata=configured.auth)
    async with sender_worker(server):
        await completed(messages, configured, send.send_id)
    lines = send_events(caplog, send.send_id)
    assert [r.event for r in lines] == ["send created", "send resumed", "send started", "send completed"]
    assert lines[0].state == "SEND_STATE_PAUSED" and lines[0].channels == [EMAIL]
    assert (lines[-1].sent, lines[-1].planned, lines[-1].pending) == (3, 3, 0)
    assert all(r.project_id == configured.project_id for r in lines)

    other = await messages.CreateSend(send_request(name="other"), metadata=configured.auth)
    await messages.PauseSend(messages_pb2.PauseSendRequest(send_id=other.send_id), metadata=configured.auth)
    await messages.CancelSend(messages_pb2.CancelSendRequest(send_id=other.send_id), metadata=configured.auth)
    events = [r.event for r in send_events(caplog, other.send_id)]
    assert events == ["send created", "send paused", "send cancelled"]
