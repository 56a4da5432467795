"""Answers that also mean a wrong configuration (APNs BadDeviceToken) fail their message and never prune
its token; a send that sees mostly such answers pauses the channel for the project, says why in GetSend,
the logs and the metrics, and goes on once the pause is lifted (SetChannelConfig or ResumeSend).

Driven end to end: push.apns against its emulator (HTTP/2 + TLS on loopback), a sender worker of the
test's own, one claimed batch at a time so that the order of events is fixed."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from prometheus_client import REGISTRY

from herald.v1 import common_pb2, messages_pb2, profiles_pb2, profiles_pb2_grpc
from kernel.server import RunningServer
from tests.conftest import ProjectKey
from tests.delivery.conftest import EMAIL, SPARKPOST_KEY, configure, pointed_emulator, sender_worker
from tests.delivery.support import EMAIL_TEMPLATE, completed, scrape, send_request, until, wait_for

APNS = "push.apns"
PUSH_TEMPLATE = messages_pb2.MessageTemplate(title="Sale", body="Everything must go, {{ custom_id }}")
PEOPLE = 30
#: One claimed batch of 5 at a time, and a pause after 5 suspect answers making half of a send's.
ONE_BATCH_AT_A_TIME = {
    "worker_batch_size": 5,
    "worker_concurrency": 1,
    "config_suspect_pause_failures": 5,
    "config_suspect_pause_ratio": 0.5,
}


def token(index: int) -> str:
    return f"{index:064x}"


@pytest.fixture
async def apns(server: RunningServer) -> AsyncIterator[Any]:
    """The APNs emulator, in this process; the kernel's senders point at it."""
    async with pointed_emulator(server, APNS) as emulator:
        yield emulator


@pytest.fixture
async def devices(
    channel: grpc.aio.Channel, profiles: profiles_pb2_grpc.ProfileServiceStub, project: ProjectKey, apns: Any
) -> ProjectKey:
    """The project with push.apns configured for the emulator, and PEOPLE profiles with a device each."""
    await configure(channel, project, APNS, apns.credentials)
    for index in range(PEOPLE):
        device = common_pb2.Address(kind="apns_token", value=token(index))
        await profiles.UpsertProfile(
            profiles_pb2.UpsertProfileRequest(
                profile=common_pb2.ProfileRef(custom_id=f"p{index}"), add_addresses=[device]
            ),
            metadata=project.auth,
        )
    return project


async def tokens_kept(db: Any, project: ProjectKey) -> set[str]:
    """The APNs tokens still on the project's profiles."""
    rows = await db.fetch(
        "SELECT value FROM profile_addresses WHERE project_id = $1 AND kind = 'apns_token'",
        project.project_id,
    )
    return {row["value"] for row in rows}


async def paused_gauge_shows(server: RunningServer, projects: int) -> None:
    """Scrape until the gauge of projects where APNS is paused says ``projects`` (read from the database
    at each scrape); fail after PATIENCE_SECONDS."""
    labels = frozenset({"channel": APNS}.items())

    async def shown() -> bool:
        return (await scrape(server)).get(("herald_paused_channels", labels)) == projects

    await until(shown, "herald_paused_channels showed the pause")


def suspect_failures() -> float:
    labels = {"channel": APNS, "reason": "config_suspect"}
    return REGISTRY.get_sample_value("herald_message_failures_total", labels) or 0.0


async def test_a_wrong_configuration_pauses_the_channel_instead_of_pruning(
    server: RunningServer,
    channel: grpc.aio.Channel,
    messages: Any,
    db: Any,
    devices: ProjectKey,
    apns: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Ten BadDeviceToken answers, as a project configured for the wrong APNs environment gets them.
    apns.fail_next(10, 400, error="BadDeviceToken")
    failures_before = suspect_failures()
    # Other tests' projects may have paused the channel too: the gauge counts every project.
    paused_elsewhere = await db.fetchval("SELECT count(*) FROM channel_pauses WHERE channel = $1", APNS)
    request = send_request(channels=[APNS], templates={APNS: PUSH_TEMPLATE})
    send = await messages.CreateSend(request, metadata=devices.auth)
    caplog.set_level(logging.WARNING, logger="kernel.delivery.worker")
    async with sender_worker(server, **ONE_BATCH_AT_A_TIME):
        paused = await wait_for(messages, devices, send.send_id, lambda s: bool(s.paused_channels))
        # Nothing more of the audience is read while its only channel is paused.
        assert (paused.state, paused.planned, paused.failed, paused.sent, paused.pending) == (
            messages_pb2.SEND_STATE_RUNNING,
            5,
            5,
            0,
            0,
        )
        [pause] = paused.paused_channels
        assert (pause.channel, pause.send_id) == (APNS, send.send_id)
        assert "5 of 5 answers" in pause.reason and "400 BadDeviceToken" in pause.reason
        assert pause.paused_at.seconds > 0
        assert len(await tokens_kept(db, devices)) == PEOPLE, "no token was pruned"
        assert suspect_failures() - failures_before == 5
        [line] = [r for r in caplog.records if getattr(r, "event", "") == "channel paused"]
        assert f"channel {APNS} paused in project" in line.getMessage()
        assert (line.channel, line.project_id, str(line.send_id)) == (APNS, devices.project_id, send.send_id)
        assert "BadDeviceToken" in line.reason
        assert apns.accepted == []
        await paused_gauge_shows(server, paused_elsewhere + 1)

        # A new configuration lifts the pause; the answers are judged afresh, and pause it again.
        await configure(channel, devices, APNS, apns.credentials)
        again = await wait_for(
            messages, devices, send.send_id, lambda s: bool(s.paused_channels) and s.failed == 10
        )
        assert (again.sent, again.planned, again.pending) == (0, 10, 0)

        # The operator resumes the send: the pause is lifted and the rest goes out.
        resumed = await messages.ResumeSend(
            messages_pb2.ResumeSendRequest(send_id=send.send_id), metadata=devices.auth
        )
        assert not resumed.paused_channels
        await paused_gauge_shows(server, paused_elsewhere)
        done = await completed(messages, devices, send.send_id)
    assert (done.sent, done.failed, done.pending) == (PEOPLE - 10, 10, 0)
    assert not done.paused_channels
    assert len(apns.accepted) == PEOPLE - 10
    assert len(await tokens_kept(db, devices)) == PEOPLE
    reasons = await db.fetch(
        "SELECT reason, count(*) FROM message_log WHERE project_id = $1 AND outcome = 'failed' "
        "GROUP BY reason",
        devices.project_id,
    )
    assert [tuple(row) for row in reasons] == [("config_suspect", 10)]


async def test_a_few_stray_tokens_fail_without_pausing_and_only_dead_ones_are_pruned(
    server: RunningServer, messages: Any, db: Any, devices: ProjectKey, apns: Any
) -> None:
    for index in range(3):
        apns.from_other_environment(token(index))
    for index in range(3, 5):
        apns.invalidate(token(index))
    request = send_request(channels=[APNS], templates={APNS: PUSH_TEMPLATE})
    send = await messages.CreateSend(request, metadata=devices.auth)
    async with sender_worker(server, **ONE_BATCH_AT_A_TIME):
        done = await completed(messages, devices, send.send_id)
    assert (done.sent, done.failed) == (PEOPLE - 5, 5)
    assert not done.paused_channels
    # 410 Unregistered prunes; BadDeviceToken never does.
    assert await tokens_kept(db, devices) == {token(index) for index in range(PEOPLE) if index not in (3, 4)}


async def test_a_transactional_push_to_a_suspect_token_fails_and_keeps_it(
    messages: Any, db: Any, devices: ProjectKey, apns: Any
) -> None:
    apns.from_other_environment(token(7))
    reply = await messages.SendTransactional(
        messages_pb2.SendTransactionalRequest(
            profile=common_pb2.ProfileRef(custom_id="p7"), channels=[APNS], template=PUSH_TEMPLATE
        ),
        metadata=devices.auth,
    )
    assert [(d.status, d.reason) for d in reply.deliveries] == [
        (messages_pb2.DELIVERY_STATUS_FAILED, "config_suspect")
    ]
    assert len(await tokens_kept(db, devices)) == PEOPLE


async def test_a_paused_channel_holds_its_messages_while_the_sends_other_channels_go_on(
    server: RunningServer,
    channel: grpc.aio.Channel,
    messages: Any,
    profiles: profiles_pb2_grpc.ProfileServiceStub,
    db: Any,
    devices: ProjectKey,
    apns: Any,
    sparkpost: Any,
) -> None:
    await configure(channel, devices, EMAIL, {"api_key": SPARKPOST_KEY, "from_address": "news@herald.test"})
    for index in range(PEOPLE):
        apns.from_other_environment(token(index))
        email = common_pb2.Address(kind="email", value=f"p{index}@example.com")
        await profiles.UpsertProfile(
            profiles_pb2.UpsertProfileRequest(
                profile=common_pb2.ProfileRef(custom_id=f"p{index}"), add_addresses=[email]
            ),
            metadata=devices.auth,
        )
    request = send_request(channels=[EMAIL, APNS], templates={EMAIL: EMAIL_TEMPLATE, APNS: PUSH_TEMPLATE})
    send = await messages.CreateSend(request, metadata=devices.auth)
    async with sender_worker(server, **ONE_BATCH_AT_A_TIME):
        done_with_email = await wait_for(
            messages, devices, send.send_id, lambda s: s.sent == PEOPLE and bool(s.paused_channels)
        )
    assert done_with_email.state == messages_pb2.SEND_STATE_RUNNING
    assert [pause.channel for pause in done_with_email.paused_channels] == [APNS]
    assert done_with_email.failed >= 5 and done_with_email.pending == PEOPLE - done_with_email.failed
    held = await db.fetchval(
        """SELECT count(*) FROM message_retries WHERE project_id = $1 AND channel = $2
           AND attempts = 0 AND detail = 'channel paused'""",
        devices.project_id,
        APNS,
    )
    assert held > 0, "push messages read after the pause wait for it to be lifted"
    assert len(await tokens_kept(db, devices)) == PEOPLE
