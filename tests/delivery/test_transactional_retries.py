"""Transactional messages are retried by the sender workers as bulk ones are: the provider's Retry-After
first, else backoff, until the maximum age; one whose kernel died mid-send is sent once its lease runs out,
and a dead worker's at once. Each is sent again with its first id and content, and delivered once.

SendTransactional runs on a second kernel (``quick``) of the same database, whose retry policy is quick
(the workers' ``FAST`` settings) so that its first attempt's retry is due soon, and which runs no workers
of its own: each test starts the worker that retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import asyncpg
import grpc
import pytest

from herald.v1 import (
    common_pb2,
    messages_pb2,
    messages_pb2_grpc,
    profiles_pb2,
    profiles_pb2_grpc,
    projects_pb2_grpc,
)
from kernel.delivery.claims import claim_transactional
from kernel.server import RunningServer, running
from kernel.settings import Settings
from tests.channel_addresses import ADDRESSES, PHONE
from tests.conftest import ADMIN_KEY, ProjectKey, new_project, replay_answer
from tests.delivery.conftest import FAST, SMS, configure, sender_worker
from tests.delivery.support import PATIENCE_SECONDS, person

#: The provider's temporary refusals, in order: throttled with a Retry-After (seconds), throttled
#: without, then out of service. SMTP has no Retry-After: 421 (too busy, closing), 450, then 451.
HTTP_FAILURES = ((429, 2), (429, None), (503, None))
FAILURES = {
    **dict.fromkeys(
        ["email.sparkpost", "push.apns", "push.fcm", "webpush", "sms.twilio", SMS], HTTP_FAILURES
    ),
    "email.smtp": ((421, None), (450, None), (451, None)),
}
CHANNEL_ADDRESSES = {**ADDRESSES, SMS: PHONE}
TEMPLATE = messages_pb2.MessageTemplate(
    subject="Your code", text="Your code is 123456", title="Code", body="123456"
)


@pytest.fixture(scope="module")
async def quick(settings: Settings) -> AsyncIterator[RunningServer]:
    """A second kernel on the test database, with the quick retry policy and no workers of its own."""
    update = {**FAST, "worker_count": 0, "metrics_address": ""}
    async with running(settings.model_copy(update=update), ADMIN_KEY) as server:
        yield server


@pytest.fixture(scope="module")
async def quick_channel(quick: RunningServer) -> AsyncIterator[grpc.aio.Channel]:
    """A client channel to the quick kernel."""
    async with grpc.aio.insecure_channel(quick.address) as client:
        yield client


@pytest.fixture
async def quick_project(quick_channel: grpc.aio.Channel) -> ProjectKey:
    """A project of this test's own."""
    return await new_project(projects_pb2_grpc.ProjectServiceStub(quick_channel))


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A loopback port bound but not listening: connections to it are refused, and no one else takes it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@contextlib.asynccontextmanager
async def sandboxed_emulator(
    kernel: RunningServer, channel: str
) -> AsyncIterator[tuple[Any, dict[str, Any]]]:
    """The channel's emulator, serving any project, with a configuration it accepts; running for the block."""
    emulator = kernel.kernel.channels.emulator(channel)
    config = dict(emulator.enter_sandbox())
    async with emulator:
        yield emulator, config


@pytest.fixture
async def quick_gateway(
    quick: RunningServer, quick_channel: grpc.aio.Channel, quick_project: ProjectKey
) -> AsyncIterator[Any]:
    """The example SMS channel's gateway emulator, configured in the project; the quick kernel sends to it."""
    async with sandboxed_emulator(quick, SMS) as (emulator, config):
        await configure(quick_channel, quick_project, SMS, config)
        quick.kernel.senders.endpoints[SMS] = emulator.endpoint
        yield emulator
        quick.kernel.senders.endpoints.pop(SMS)


async def send_sms(channel: grpc.aio.Channel, project: ProjectKey, **fields: Any) -> messages_pb2.Delivery:
    """SendTransactional of a text to PHONE (unless ``fields`` say otherwise); its one delivery."""
    request = send(SMS)
    request.MergeFrom(messages_pb2.SendTransactionalRequest(**fields))
    reply = await messages_pb2_grpc.MessageServiceStub(channel).SendTransactional(
        request, metadata=project.auth
    )
    [delivery] = reply.deliveries
    return delivery


async def settled(db: asyncpg.Pool, project: ProjectKey, message_id: str) -> asyncpg.Record:
    """The message's row once its status is final; fail after PATIENCE_SECONDS."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PATIENCE_SECONDS
    while True:
        row = await db.fetchrow(
            "SELECT * FROM messages WHERE project_id = $1 AND message_id = $2",
            project.project_id,
            uuid.UUID(message_id),
        )
        if row["status"] not in ("leased", "retry"):
            return row
        assert loop.time() < deadline, f"the message was never settled: {dict(row)}"
        await asyncio.sleep(0.05)


def send(channel: str) -> messages_pb2.SendTransactionalRequest:
    """A text to the channel's address."""
    return messages_pb2.SendTransactionalRequest(
        address=CHANNEL_ADDRESSES[channel], channels=[channel], template=TEMPLATE
    )


@pytest.mark.parametrize("channel", sorted(FAILURES))
async def test_refused_throttled_and_failing_message_is_delivered_once(
    quick: RunningServer,
    quick_channel: grpc.aio.Channel,
    quick_project: ProjectKey,
    refusing_port: int,
    db: asyncpg.Pool,
    channel: str,
) -> None:
    endpoints = quick.kernel.senders.endpoints
    async with sandboxed_emulator(quick, channel) as (emulator, config):
        # The provider cannot be reached: its endpoint refuses connections.
        endpoints[channel] = f"{emulator.endpoint.rsplit(':', 1)[0]}:{refusing_port}"
        try:
            await configure(quick_channel, quick_project, channel, config)
            reply = await messages_pb2_grpc.MessageServiceStub(quick_channel).SendTransactional(
                send(channel), metadata=quick_project.auth
            )
            [delivery] = reply.deliveries
            assert delivery.status == messages_pb2.DELIVERY_STATUS_RETRY_SCHEDULED, delivery
            # It can be reached again (the project's sender is built anew for the configuration saved
            # again), and refuses three times for a while.
            endpoints[channel] = emulator.endpoint
            await configure(quick_channel, quick_project, channel, config)
            for status, retry_after in FAILURES[channel]:
                emulator.fail_next(1, status, retry_after=retry_after)
            started = time.monotonic()
            async with sender_worker(quick):
                row = await settled(db, quick_project, delivery.message_id)
            waited = time.monotonic() - started
        finally:
            endpoints.pop(channel)
    assert (row["status"], row["attempts"]) == ("sent", 1 + len(FAILURES[channel]) + 1), dict(row)
    assert row["provider_id"] and row["payload"] is None and row["next_attempt_at"] is None
    assert len(emulator.accepted) == 1
    # A lower bound, which no slowness can break: without the Retry-After, the three backoffs of the quick
    # policy (at most 0.2 + 0.4 + 0.8 s) would have been shorter than it.
    assert waited >= max(after or 0 for _, after in FAILURES[channel])


async def test_a_message_failing_past_the_maximum_age_expires(
    quick: RunningServer,
    quick_channel: grpc.aio.Channel,
    quick_project: ProjectKey,
    quick_gateway: Any,
    db: asyncpg.Pool,
) -> None:
    quick_gateway.fail_next(2, 503)
    delivery = await send_sms(quick_channel, quick_project)
    assert delivery.status == messages_pb2.DELIVERY_STATUS_RETRY_SCHEDULED
    async with sender_worker(quick, message_max_age_seconds=0.5, retry_base_seconds=5.0):
        row = await settled(db, quick_project, delivery.message_id)
    assert (row["status"], row["attempts"], row["payload"]) == ("expired", 2, None)
    assert quick_gateway.accepted == []


async def replayed(channel: grpc.aio.Channel, project: ProjectKey) -> list[tuple[str, int]]:
    """The (message id, status) of the deliveries of a call repeated with the key ``code-1``."""
    request = send(SMS)
    request.request_id = "code-1"
    again, replay = await replay_answer(
        messages_pb2_grpc.MessageServiceStub(channel).SendTransactional(request, metadata=project.auth)
    )
    assert replay
    return [(delivery.message_id, delivery.status) for delivery in again.deliveries]


@contextlib.asynccontextmanager
async def unanswering_endpoint() -> AsyncIterator[str]:
    """A loopback HTTP endpoint that takes requests and never answers (a provider that hangs)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_message_whose_kernel_died_mid_send_is_sent_when_its_lease_runs_out(
    quick: RunningServer,
    quick_channel: grpc.aio.Channel,
    quick_project: ProjectKey,
    quick_gateway: Any,
    settings: Settings,
    db: asyncpg.Pool,
) -> None:
    doomed_settings = settings.model_copy(
        update={"worker_count": 0, "metrics_address": "", "transactional_lease_seconds": 1.0}
    )
    async with unanswering_endpoint() as hanging:
        async with running(doomed_settings, ADMIN_KEY) as doomed:
            doomed.kernel.senders.endpoints[SMS] = hanging
            doomed_channel = grpc.aio.insecure_channel(doomed.address)
            call = asyncio.ensure_future(send_sms(doomed_channel, quick_project, request_id="code-1"))
            row = None
            while row is None:
                await asyncio.sleep(0.05)
                row = await db.fetchrow(
                    "SELECT * FROM messages WHERE project_id = $1", quick_project.project_id
                )
            # Stored with the plan, so that even a kill leaves it: a repeated call is told that the
            # message will be retried (and does not send it again).
            assert await replayed(quick_channel, quick_project) == [
                (str(row["message_id"]), messages_pb2.DELIVERY_STATUS_RETRY_SCHEDULED)
            ]
        # The kernel stopped while its call was waiting for the provider.
        with pytest.raises(grpc.aio.AioRpcError):
            await call
        await doomed_channel.close()
    left = await db.fetchrow("SELECT * FROM messages WHERE message_id = $1", row["message_id"])
    assert (left["status"], left["attempts"], left["lease_owner"]) == ("leased", 0, "transactional")
    assert await replayed(quick_channel, quick_project) == [
        (str(row["message_id"]), messages_pb2.DELIVERY_STATUS_RETRY_SCHEDULED)
    ]
    async with sender_worker(quick):
        sent = await settled(db, quick_project, str(row["message_id"]))
    assert (sent["status"], sent["attempts"]) == ("sent", 1)
    assert [m["message_id"] for m in quick_gateway.accepted] == [str(row["message_id"])]
    messages = await db.fetchval(
        "SELECT count(*) FROM messages WHERE project_id = $1", quick_project.project_id
    )
    assert messages == 1


async def test_messages_held_by_a_dead_worker_are_taken_over(
    quick: RunningServer,
    quick_channel: grpc.aio.Channel,
    quick_project: ProjectKey,
    quick_gateway: Any,
    db: asyncpg.Pool,
) -> None:
    quick_gateway.fail_next(1, 503)
    delivery = await send_sms(quick_channel, quick_project)
    # A worker claims the retry, for an hour, and dies before sending it (its heartbeat stops).
    await db.execute(
        """INSERT INTO workers (worker_id, host, pid, heartbeat_at)
           VALUES ('dead', 'gone', 1, now() - interval '1 hour')"""
    )
    claimed: list[asyncpg.Record] = []
    async with db.acquire() as conn:
        while not claimed:
            claimed = await claim_transactional(conn, 1, "dead", timedelta(hours=1))
    assert [str(row["message_id"]) for row in claimed] == [delivery.message_id]
    async with sender_worker(quick):
        row = await settled(db, quick_project, delivery.message_id)
    assert (row["status"], row["attempts"]) == ("sent", 2)
    assert [m["message_id"] for m in quick_gateway.accepted] == [delivery.message_id]
    assert await db.fetchval("SELECT count(*) FROM workers WHERE worker_id = 'dead'") == 0


async def test_the_kept_content_is_erased_with_the_person(
    quick_channel: grpc.aio.Channel, quick_project: ProjectKey, quick_gateway: Any, db: asyncpg.Pool
) -> None:
    profiles = profiles_pb2_grpc.ProfileServiceStub(quick_channel)
    await person(profiles, quick_project, "ann", phone=PHONE.value, first_name="Annabel")
    quick_gateway.fail_next(1, 503, retry_after=3600)
    delivery = await send_sms(
        quick_channel,
        quick_project,
        profile=common_pb2.ProfileRef(custom_id="ann"),
        template=messages_pb2.MessageTemplate(text="Hi {{ first_name }}, your code is 123456"),
    )
    assert delivery.status == messages_pb2.DELIVERY_STATUS_RETRY_SCHEDULED
    kept = await db.fetchval(
        "SELECT payload -> 'content' ->> 'text' FROM messages WHERE project_id = $1", quick_project.project_id
    )
    assert kept == "Hi Annabel, your code is 123456"
    await profiles.EraseProfile(
        profiles_pb2.EraseProfileRequest(profile=common_pb2.ProfileRef(custom_id="ann")),
        metadata=quick_project.auth,
    )
    left = await db.fetchval(
        "SELECT count(*) FROM messages WHERE project_id = $1 AND payload::text LIKE '%Annabel%'",
        quick_project.project_id,
    )
    assert left == 0


async def test_a_retry_planned_by_an_older_kernel_expires(
    quick: RunningServer,
    quick_channel: grpc.aio.Channel,
    quick_project: ProjectKey,
    quick_gateway: Any,
    db: asyncpg.Pool,
) -> None:
    # As a kernel from before transactional retries leaves it, during an upgrade: no payload, no first
    # attempt's time.
    old_id = uuid.uuid4()
    await db.execute(
        """INSERT INTO messages (project_id, message_id, channel, address, status, attempts, next_attempt_at)
           VALUES ($1, $2, $3, $4, 'retry', 1, now())""",
        quick_project.project_id,
        old_id,
        SMS,
        PHONE.value,
    )
    async with sender_worker(quick):
        old = await settled(db, quick_project, str(old_id))
        # The worker goes on with the others.
        quick_gateway.fail_next(1, 503)
        delivery = await send_sms(quick_channel, quick_project)
        new = await settled(db, quick_project, delivery.message_id)
    assert (old["status"], old["attempts"], old["detail"]) == ("expired", 1, "its content was not kept")
    assert (new["status"], new["attempts"]) == ("sent", 2)
    assert [m["message_id"] for m in quick_gateway.accepted] == [delivery.message_id]
