"""Helpers of the bulk-delivery tests: people through UpsertProfile, sends, waiting for their progress."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import aiohttp
import asyncpg
from prometheus_client.parser import text_string_to_metric_families

from herald.v1 import common_pb2, messages_pb2, messages_pb2_grpc, profiles_pb2, profiles_pb2_grpc
from kernel.server import RunningServer
from tests.conftest import ProjectKey

EMAIL_TEMPLATE = messages_pb2.MessageTemplate(
    subject="Hello {{ first_name }}",
    html="<p>Hi {{ first_name }}{% if vip %}, our VIP{% endif %}!</p>",
    text="Hi {{ first_name }}",
)
SMS_TEMPLATE = messages_pb2.MessageTemplate(text="Hi {{ first_name | default: 'there' }}, {{ custom_id }}")
#: How long a test waits for a send to get somewhere before it fails (never a speed assertion).
PATIENCE_SECONDS = 60.0


def attributes(**values: Any) -> dict[str, common_pb2.AttributeValue]:
    converted = {}
    for key, value in values.items():
        if isinstance(value, bool):
            converted[key] = common_pb2.AttributeValue(bool_value=value)
        else:
            converted[key] = common_pb2.AttributeValue(string_value=str(value))
    return converted


async def person(
    profiles: profiles_pb2_grpc.ProfileServiceStub,
    project: ProjectKey,
    custom_id: str,
    *,
    email: str = "",
    phone: str = "",
    subscriptions: Iterable[common_pb2.Subscription] = (),
    **values: Any,
) -> str:
    """A profile (created or updated) with these addresses, attributes and consent; returns its id."""
    addresses = []
    if email:
        addresses.append(common_pb2.Address(kind="email", value=email))
    if phone:
        addresses.append(common_pb2.Address(kind="phone", value=phone))
    reply = await profiles.UpsertProfile(
        profiles_pb2.UpsertProfileRequest(
            profile=common_pb2.ProfileRef(custom_id=custom_id),
            attributes=attributes(**values),
            add_addresses=addresses,
            subscriptions=list(subscriptions),
        ),
        metadata=project.auth,
    )
    return reply.profile_id


def marketing_email(status: int) -> common_pb2.Subscription:
    return common_pb2.Subscription(channel="email", purpose=common_pb2.PURPOSE_MARKETING, status=status)


def send_request(**fields: Any) -> messages_pb2.CreateSendRequest:
    """A marketing email send to every reachable profile, unless ``fields`` say otherwise."""
    fields.setdefault("channels", ["email.sparkpost"])
    fields.setdefault("templates", {"email.sparkpost": EMAIL_TEMPLATE})
    fields.setdefault("purpose", common_pb2.PURPOSE_MARKETING)
    if "profiles" not in fields and "segments" not in fields:
        fields.setdefault("all_reachable", messages_pb2.AllReachable())
    return messages_pb2.CreateSendRequest(**fields)


async def wait_for(
    messages: messages_pb2_grpc.MessageServiceStub,
    project: ProjectKey,
    send_id: str,
    done: Callable[[messages_pb2.Send], bool],
) -> messages_pb2.Send:
    """Poll GetSend until ``done(send)``; fail after PATIENCE_SECONDS."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PATIENCE_SECONDS
    while True:
        send = await messages.GetSend(messages_pb2.GetSendRequest(send_id=send_id), metadata=project.auth)
        if done(send):
            return send
        assert loop.time() < deadline, f"send never got there: {send}"
        await asyncio.sleep(0.05)


async def completed(
    messages: messages_pb2_grpc.MessageServiceStub, project: ProjectKey, send_id: str
) -> messages_pb2.Send:
    return await wait_for(messages, project, send_id, lambda s: s.state == messages_pb2.SEND_STATE_COMPLETED)


#: The counts GetSend gives in total and per channel.
CHANNEL_COUNTS = ("planned", "sent", "failed", "suppressed", "expired", "cancelled", "pending", "retries")
CHANNEL_COUNTS += ("duplicates", "not_consented")
#: The messages the marketing pressure rules kept from going out (final, like sent).
PRESSURE_COUNTS = ("capped", "grace_period", "quiet_hours_dropped")
CHANNEL_COUNTS += (*PRESSURE_COUNTS, "quiet_hours_delayed")


def adds_up(send: messages_pb2.Send) -> bool:
    """The send's messages are all accounted for, and its channels' counts add up to its own."""
    final = send.sent + send.failed + send.expired + send.cancelled + send.suppressed
    final += sum(getattr(send, name) for name in PRESSURE_COUNTS)
    channels = {name: sum(getattr(c, name) for c in send.by_channel) for name in CHANNEL_COUNTS}
    return send.planned == final + send.pending and channels == {n: getattr(send, n) for n in CHANNEL_COUNTS}


async def rows(db: asyncpg.Pool, project: ProjectKey, send_id: str) -> list[asyncpg.Record]:
    """The send's messages: attempted ones from the message log (status: their outcome), and those
    waiting for a retry or a deferral (status ``waiting``), by profile, channel and address."""
    return await db.fetch(
        """SELECT message_id, profile_id, channel, address, outcome AS status, reason AS failure_reason,
                  provider_id, attempts, '' AS detail, NULL::timestamptz AS due_at
           FROM message_log WHERE project_id = $1 AND send_id = $2
           UNION ALL
           SELECT message_id, profile_id, channel, address, 'waiting', '', '', attempts, detail, due_at
           FROM message_retries WHERE project_id = $1 AND send_id = $2
           ORDER BY profile_id, channel, address""",
        project.project_id,
        uuid.UUID(send_id),
    )


async def seed_people(db: asyncpg.Pool, project: ProjectKey, count: int, domains: int = 20) -> None:
    """``count`` profiles with an email each, written in SQL (tens of thousands through the API would
    make the test about the API's speed). Emails: person<i>@d<i % domains>.example."""
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO profiles (project_id, profile_id, custom_id, attributes)
               SELECT $1, gen_random_uuid(), 'p' || i,
                      jsonb_build_object('first_name', jsonb_build_object('t', 's', 'v', 'Name' || i))
               FROM generate_series(1, $2) AS i""",
            project.project_id,
            count,
        )
        await conn.execute(
            """INSERT INTO profile_addresses (project_id, profile_id, kind, value)
               SELECT project_id, profile_id, 'email',
                      'person' || substr(custom_id, 2) || '@d' || (substr(custom_id, 2)::int % $2)
                      || '.example'
               FROM profiles WHERE project_id = $1""",
            project.project_id,
            domains,
        )


def seeded_emails(count: int, domains: int = 20) -> set[str]:
    """The emails ``seed_people`` gives its ``count`` profiles."""
    return {f"person{i}@d{i % domains}.example" for i in range(1, count + 1)}


async def until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll ``condition`` until it holds; fail, saying ``what`` never happened, after PATIENCE_SECONDS."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PATIENCE_SECONDS
    while True:
        if await condition():
            return
        assert loop.time() < deadline, f"never: {what}"
        await asyncio.sleep(0.05)


class FakeClock:
    """A worker's clock that moves only when the test moves it."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def scrape(server: RunningServer) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """What ``GET /metrics`` serves: value by (sample name, labels)."""
    url = f"http://127.0.0.1:{server.kernel.metrics.port}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        text = await response.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@contextlib.asynccontextmanager
async def herald_worker(
    env: dict[str, str], db: asyncpg.Pool, **settings: Any
) -> AsyncIterator[asyncio.subprocess.Process]:
    """``herald worker`` in its own process, registered (heartbeating) before the block starts."""
    extra = {f"HERALD_{name.upper()}": str(value) for name, value in settings.items()}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kernel.cli", "worker", env={**env, **extra}
    )
    try:
        deadline = asyncio.get_running_loop().time() + PATIENCE_SECONDS
        while not await db.fetchval("SELECT count(*) FROM workers WHERE pid = $1", process.pid):
            assert process.returncode is None, "herald worker exited"
            assert asyncio.get_running_loop().time() < deadline, "herald worker did not start"
            await asyncio.sleep(0.1)
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()
