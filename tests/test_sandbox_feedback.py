"""Sandbox mode shows the whole loop: the emulators of providers that report by webhook (SparkPost, Twilio)
post their reports back to Herald, at the configured rates, for projects that configured nothing, and
the timelines and the suppression list fill in as in production."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import grpc
import pytest

from herald.v1 import (
    channels_pb2,
    channels_pb2_grpc,
    common_pb2,
    messages_pb2,
    messages_pb2_grpc,
    profiles_pb2,
    profiles_pb2_grpc,
    projects_pb2_grpc,
)
from kernel.channels import FeedbackKind
from kernel.delivery.send_ids import bulk_message_ids
from kernel.server import RunningServer, running
from kernel.settings import Settings
from tests.channel_addresses import browser_subscription
from tests.cli_support import herald
from tests.conftest import ADMIN_KEY, SPARKPOST, ProjectKey, new_project
from tests.delivery.support import PATIENCE_SECONDS, herald_worker
from tests.sandbox_support import sandbox_kernel

SMS = "sms.twilio"
PEOPLE = 60
#: Rates far from 0 and 1, so that every outcome happens among PEOPLE messages (the least likely, a
#: click, has a chance of 0.75 * 0.5 * 0.5 per message: none among 60 happens once in 250,000 runs).
RATES = {
    "sandbox_feedback_bounced": 0.25,
    "sandbox_feedback_delivered": 1.0,
    "sandbox_feedback_opened": 0.5,
    "sandbox_feedback_clicked": 0.5,
    "sandbox_feedback_unsubscribed": 0.3,
    "sandbox_feedback_unregistered": 0.25,
}
LINK = "https://shop.example/offer"
EMAIL_OUTCOMES = (
    FeedbackKind.BOUNCED,
    FeedbackKind.DELIVERED,
    FeedbackKind.OPENED,
    FeedbackKind.CLICKED,
    FeedbackKind.UNSUBSCRIBED,
)
REPORTED = {f"herald.message.{kind.value}": kind for kind in FeedbackKind}


@pytest.fixture(scope="module")
async def sandboxed(settings: Settings, server: RunningServer) -> AsyncIterator[RunningServer]:
    """A sandbox kernel with feedback at RATES (see :func:`tests.sandbox_support.sandbox_kernel`)."""
    async with sandbox_kernel(settings, server, RATES) as sandbox:
        yield sandbox


@contextlib.asynccontextmanager
async def sandbox_workers(server: RunningServer, sandboxed: RunningServer) -> AsyncIterator[None]:
    """The sandboxed kernel's workers send for the block: the session's kernel is no sandbox."""
    await server.kernel.workers.stop()
    sandboxed.kernel.workers.start()
    try:
        yield
    finally:
        await sandboxed.kernel.workers.stop()
        server.kernel.workers.start()


@pytest.fixture
async def client(sandboxed: RunningServer) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(sandboxed.address) as channel:
        yield channel


@pytest.fixture
async def project(client: grpc.aio.Channel) -> ProjectKey:
    """A project that configures no channel."""
    return await new_project(projects_pb2_grpc.ProjectServiceStub(client))


TEMPLATE = messages_pb2.MessageTemplate(
    subject="Your receipt", html=f'<p>Thanks! <a href="{LINK}">Shop again</a></p>', text="Thanks!"
)


async def send(
    client: grpc.aio.Channel, project: ProjectKey, channel: str, custom_id: str
) -> messages_pb2.Delivery:
    reply = await messages_pb2_grpc.MessageServiceStub(client).SendTransactional(
        messages_pb2.SendTransactionalRequest(
            profile=common_pb2.ProfileRef(custom_id=custom_id), channels=[channel], template=TEMPLATE
        ),
        metadata=project.auth,
    )
    [delivery] = reply.deliveries
    return delivery


async def send_to_everyone(
    client: grpc.aio.Channel, project: ProjectKey, channel: str, addresses: list[common_pb2.Address]
) -> dict[str, str]:
    """One profile per address, each sent a transactional message on ``channel``: custom id → message id."""
    profiles = profiles_pb2_grpc.ProfileServiceStub(client)
    sent = {}
    for index, address in enumerate(addresses):
        ref = common_pb2.ProfileRef(custom_id=f"p{index}")
        await profiles.UpsertProfile(
            profiles_pb2.UpsertProfileRequest(profile=ref, add_addresses=[address]), metadata=project.auth
        )
        delivery = await send(client, project, channel, ref.custom_id)
        assert delivery.status == messages_pb2.DELIVERY_STATUS_ACCEPTED, delivery
        sent[ref.custom_id] = delivery.message_id
    return sent


async def suppressions(
    client: grpc.aio.Channel, project: ProjectKey, channel: str, people: int
) -> dict[str, str]:
    """Which profiles' addresses are on the suppression list, and why (custom id → reason), as a second
    message to each shows."""
    found = {}
    for custom_id in (f"p{index}" for index in range(people)):
        delivery = await send(client, project, channel, custom_id)
        if delivery.status == messages_pb2.DELIVERY_STATUS_SUPPRESSED:
            found[custom_id] = delivery.reason
        else:
            assert delivery.status == messages_pb2.DELIVERY_STATUS_ACCEPTED, delivery
    return found


async def profile(client: grpc.aio.Channel, project: ProjectKey, custom_id: str) -> profiles_pb2.ProfileView:
    return await profiles_pb2_grpc.ProfileServiceStub(client).GetProfile(
        profiles_pb2.GetProfileRequest(profile=common_pb2.ProfileRef(custom_id=custom_id), recent_events=50),
        metadata=project.auth,
    )


def reports(view: profiles_pb2.ProfileView) -> Counter[FeedbackKind]:
    """The provider reports on the profile's timeline, counted by kind."""
    return Counter(REPORTED[event.name] for event in view.recent_events if event.name in REPORTED)


def opted_out_of_marketing(view: profiles_pb2.ProfileView, scope: str) -> bool:
    return any(
        (s.channel, s.purpose, s.status)
        == (scope, common_pb2.PURPOSE_MARKETING, common_pb2.SUBSCRIPTION_STATUS_OPTED_OUT)
        for s in view.subscriptions
    )


async def loop_closed(server: RunningServer, project: ProjectKey) -> None:
    """Every report the emulators owe was posted, and applied."""
    assert server.kernel.sandbox is not None
    await server.kernel.sandbox.feedback_settled()
    await server.kernel.webhook_queue.drain(project.project_id)


def expected(server: RunningServer, sent: Mapping[str, str]) -> dict[str, list[FeedbackKind]]:
    """custom id → what the rates decide for its message (drawn from the message id alone)."""
    rates = server.kernel.settings.sandbox_feedback_rates()
    return {custom_id: rates.outcomes(message_id) for custom_id, message_id in sent.items()}


async def test_sparkpost_reports_reach_timelines_and_the_suppression_list(
    sandboxed: RunningServer, client: grpc.aio.Channel, project: ProjectKey
) -> None:
    emails = [f"person{index}@feedback.example" for index in range(PEOPLE)]
    sent = await send_to_everyone(
        client, project, SPARKPOST, [common_pb2.Address(kind="email", value=e) for e in emails]
    )
    await loop_closed(sandboxed, project)

    fates = expected(sandboxed, sent)
    for custom_id, outcomes in fates.items():
        view = await profile(client, project, custom_id)
        assert reports(view) == Counter(outcomes), custom_id
        assert opted_out_of_marketing(view, "email") == (FeedbackKind.UNSUBSCRIBED in outcomes), custom_id
    totals = Counter(kind for outcomes in fates.values() for kind in outcomes)
    assert all(0 < totals[kind] < PEOPLE for kind in EMAIL_OUTCOMES), totals
    assert totals[FeedbackKind.BOUNCED] + totals[FeedbackKind.DELIVERED] == PEOPLE
    # A list unsubscribe blocks marketing only: a receipt is refused to the bounced addresses alone.
    assert await suppressions(client, project, SPARKPOST, PEOPLE) == {
        custom_id: "bounced" for custom_id, outcomes in fates.items() if FeedbackKind.BOUNCED in outcomes
    }


async def test_twilio_status_callbacks_reach_timelines_and_the_suppression_list(
    sandboxed: RunningServer, client: grpc.aio.Channel, project: ProjectKey
) -> None:
    phones = [common_pb2.Address(kind="phone", value=f"+336123400{index:02d}") for index in range(PEOPLE)]
    sent = await send_to_everyone(client, project, SMS, phones)
    await loop_closed(sandboxed, project)

    fates = expected(sandboxed, sent)
    for custom_id, outcomes in fates.items():
        # SMS has no opens, clicks or list unsubscribes: only the delivery report.
        fate = Counter(kind for kind in outcomes if kind in (FeedbackKind.BOUNCED, FeedbackKind.DELIVERED))
        assert reports(await profile(client, project, custom_id)) == fate, custom_id
    bounced = {custom_id for custom_id, outcomes in fates.items() if FeedbackKind.BOUNCED in outcomes}
    assert 0 < len(bounced) < PEOPLE
    assert await suppressions(client, project, SMS, PEOPLE) == dict.fromkeys(bounced, "bounced")


async def test_a_sandbox_project_has_webhook_credentials_and_refuses_calls_without_them(
    sandboxed: RunningServer, client: grpc.aio.Channel, project: ProjectKey
) -> None:
    shown = await channels_pb2_grpc.ChannelServiceStub(client).GetChannelConfig(
        channels_pb2.GetChannelConfigRequest(channel=SPARKPOST), metadata=project.auth
    )
    credentials = shown.webhook.credentials
    assert credentials["auth_type"] == "basic" and credentials["auth_credentials.password"]
    url = f"http://127.0.0.1:{sandboxed.webhooks.port}{shown.webhook.path}"
    emulator = sandboxed.kernel.sandbox.emulators[SPARKPOST]
    record = {"email": "ann@example.com", "metadata": {}, "transmission_id": "1", "campaign_id": ""}
    bounce = emulator.event("bounce", record, bounce_class="10")
    assert await emulator.post_events(url, [bounce], auth=("herald", "guessed")) == 401
    genuine = (credentials["auth_credentials.username"], credentials["auth_credentials.password"])
    assert await emulator.post_events(url, [bounce], auth=genuine) == 200


async def test_every_kernel_derives_the_same_credential_for_a_sandbox_project(
    sandboxed: RunningServer, settings: Settings, project: ProjectKey
) -> None:
    """Nothing is stored for a project that configured nothing: a second kernel sharing the credentials
    key (or this one restarted) must accept what the first one's emulator posts."""
    other_settings = settings.model_copy(update={"sandbox": True, "metrics_address": ""})
    async with running(other_settings, ADMIN_KEY) as other:
        mine = await sandboxed.kernel.channel_configs.get(project.project_id, SPARKPOST)
        theirs = await other.kernel.channel_configs.get(project.project_id, SPARKPOST)
    assert mine.webhook_secret and mine.webhook_secret == theirs.webhook_secret


def web_push(index: int) -> common_pb2.Address:
    subscription = browser_subscription()
    return common_pb2.Address(
        kind="web_push", value=f"https://push.example/send/sub{index}", details=subscription.details
    )


#: channel → (its index-th address, what the emulator draws the token's fate from).
PUSH: dict[str, tuple[Callable[[int], common_pb2.Address], Callable[[str], str]]] = {
    "push.apns": (lambda index: common_pb2.Address(kind="apns_token", value=f"{index:064x}"), str.lower),
    "push.fcm": (
        lambda index: common_pb2.Address(kind="fcm_token", value=f"device{index}:APA91b" + "x" * 140),
        str,
    ),
    # The subscription's path: the emulator's origin replaces the push service's.
    "webpush": (web_push, lambda endpoint: urlsplit(endpoint).path),
}


@pytest.mark.parametrize("channel", sorted(PUSH))
async def test_push_emulators_answer_their_share_of_tokens_as_unregistered(
    sandboxed: RunningServer, client: grpc.aio.Channel, project: ProjectKey, channel: str
) -> None:
    """Push providers answer a dead token in the response: Herald fails the message and prunes the token."""
    address_of, drawn_from = PUSH[channel]
    rates = sandboxed.kernel.settings.sandbox_feedback_rates()
    profiles = profiles_pb2_grpc.ProfileServiceStub(client)
    dead = set()
    for index in range(PEOPLE):
        address = address_of(index)
        custom_id = f"p{index}"
        await profiles.UpsertProfile(
            profiles_pb2.UpsertProfileRequest(
                profile=common_pb2.ProfileRef(custom_id=custom_id), add_addresses=[address]
            ),
            metadata=project.auth,
        )
        delivery = await send(client, project, channel, custom_id)
        if rates.unregistered_token(drawn_from(address.value)):
            dead.add(custom_id)
            assert (delivery.status, delivery.reason) == (messages_pb2.DELIVERY_STATUS_FAILED, "unregistered")
        else:
            assert delivery.status == messages_pb2.DELIVERY_STATUS_ACCEPTED, delivery
        assert bool((await profile(client, project, custom_id)).addresses) == (custom_id not in dead)
    assert 0 < len(dead) < PEOPLE


async def reachable_by_email(client: grpc.aio.Channel, project: ProjectKey, prefix: str) -> list[str]:
    """PEOPLE profiles with an email each (custom ids ``prefix0``...); their emails."""
    emails = [f"{prefix}{index}@bulk.example" for index in range(PEOPLE)]
    profiles = profiles_pb2_grpc.ProfileServiceStub(client)
    for index, email in enumerate(emails):
        await profiles.UpsertProfile(
            profiles_pb2.UpsertProfileRequest(
                profile=common_pb2.ProfileRef(custom_id=f"{prefix}{index}"),
                add_addresses=[common_pb2.Address(kind="email", value=email)],
            ),
            metadata=project.auth,
        )
    return emails


async def email_everyone(
    messages: messages_pb2_grpc.MessageServiceStub, project: ProjectKey, name: str
) -> messages_pb2.Send:
    return await messages.CreateSend(
        messages_pb2.CreateSendRequest(
            name=name,
            all_reachable=messages_pb2.AllReachable(),
            channels=[SPARKPOST],
            templates={SPARKPOST: TEMPLATE},
            purpose=common_pb2.PURPOSE_TRANSACTIONAL,
        ),
        metadata=project.auth,
    )


def owed_reports(server: RunningServer, send_id: str, emails: list[str]) -> Counter[str]:
    """What the emulator reports of a send to ``emails``, by kind, as the rates decide."""
    rates = server.kernel.settings.sandbox_feedback_rates()
    ids = bulk_message_ids(uuid.UUID(send_id), SPARKPOST, emails)
    return Counter(kind.value for message_id in ids for kind in rates.outcomes(message_id))


async def test_a_sandbox_bulk_send_shows_its_reports_in_its_statistics(
    server: RunningServer,
    sandboxed: RunningServer,
    client: grpc.aio.Channel,
    project: ProjectKey,
    tmp_path: Path,
) -> None:
    """A bulk send in sandbox mode: GetSend, and `herald sends show`, count what the SparkPost emulator
    reported back, exactly as the rates decide for each message id."""
    emails = await reachable_by_email(client, project, "r")
    messages = messages_pb2_grpc.MessageServiceStub(client)
    async with sandbox_workers(server, sandboxed):
        send = await email_everyone(messages, project, "sandbox newsletter")
        done = await until_completed(messages, project, send.send_id)
        await loop_closed(sandboxed, project)
    assert done.sent == PEOPLE
    owed = owed_reports(sandboxed, send.send_id, emails)
    read = await messages.GetSend(messages_pb2.GetSendRequest(send_id=send.send_id), metadata=project.auth)
    [feedback] = read.feedback
    assert feedback.channel == SPARKPOST
    assert dict(feedback.events) == dict(owed)
    assert all(owed[kind.value] > 0 for kind in EMAIL_OUTCOMES), owed
    connection = ("--address", sandboxed.address, "--api-key", project.key)
    shown = await herald(tmp_path, "sends", "show", send.send_id, *connection)
    assert shown.status == 0, shown.err
    events = ", ".join(f"{kind} {count:,}" for kind, count in sorted(owed.items()))
    assert f"  feedback   {SPARKPOST}: {events}\n" in shown.out


async def until_completed(
    messages: messages_pb2_grpc.MessageServiceStub, project: ProjectKey, send_id: str
) -> messages_pb2.Send:
    request = messages_pb2.GetSendRequest(send_id=send_id)
    for _ in range(600):
        send = await messages.GetSend(request, metadata=project.auth)
        if send.state == messages_pb2.SEND_STATE_COMPLETED:
            return send
        await asyncio.sleep(0.05)
    raise AssertionError(f"the send never completed: {send}")


async def test_a_sandboxed_worker_process_reports_back_to_the_kernel(
    server: RunningServer,
    sandboxed: RunningServer,
    client: grpc.aio.Channel,
    project: ProjectKey,
    settings: Settings,
    db: asyncpg.Pool,
) -> None:
    """`herald worker` in sandbox mode receives no webhooks: its own emulators post their reports to the
    kernel listening at HERALD_WEBHOOK_ADDRESS, so a send that worker delivers fills in its statistics."""
    emails = await reachable_by_email(client, project, "w")
    environment = {
        **os.environ,
        "HERALD_DATABASE_URL": settings.database_url,
        "HERALD_DATA_DIR": str(settings.data_dir),
        "HERALD_SANDBOX": "true",
        "HERALD_WEBHOOK_ADDRESS": f"127.0.0.1:{sandboxed.webhooks.port}",
        "HERALD_METRICS_ADDRESS": "",
        "HERALD_LOG_FORMAT": "text",
        **{f"HERALD_{name.upper()}": str(rate) for name, rate in RATES.items()},
    }
    messages = messages_pb2_grpc.MessageServiceStub(client)
    # Only the worker process may send this.
    await server.kernel.workers.stop()
    await sandboxed.kernel.workers.stop()
    try:
        async with herald_worker(environment, db):
            send = await email_everyone(messages, project, "sent by a worker")
            done = await until_completed(messages, project, send.send_id)
            assert done.sent == PEOPLE
            owed = owed_reports(sandboxed, send.send_id, emails)
            read = await until_reported(messages, project, send.send_id, sum(owed.values()))
    finally:
        server.kernel.workers.start()
    [feedback] = read.feedback
    assert dict(feedback.events) == dict(owed)


async def until_reported(
    messages: messages_pb2_grpc.MessageServiceStub, project: ProjectKey, send_id: str, reports: int
) -> messages_pb2.Send:
    """The send once its statistics count ``reports`` provider reports (posted by another process)."""
    request = messages_pb2.GetSendRequest(send_id=send_id)
    deadline = asyncio.get_running_loop().time() + PATIENCE_SECONDS
    while True:
        send = await messages.GetSend(request, metadata=project.auth)
        if sum(count for reported in send.feedback for count in reported.events.values()) >= reports:
            return send
        assert asyncio.get_running_loop().time() < deadline, f"reports never arrived: {send.feedback}"
        await asyncio.sleep(0.1)
