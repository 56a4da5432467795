"""A send's statistics after a real send in sandbox mode, on email (SparkPost's emulator, whose webhooks
come back at the sandbox rates) and FCM push (whose emulator refuses its share of tokens as unregistered):
GetSend's channels and GetSendStats' totals, channels and hours add up, and say what the emulators did;
``herald sends stats`` prints them, its CSV holds the same figures, and the HTML report stands alone."""

from __future__ import annotations

import csv
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

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
    stats_pb2,
    stats_pb2_grpc,
)
from kernel.channels import FeedbackKind
from kernel.delivery.send_ids import bulk_message_ids
from kernel.server import RunningServer
from kernel.settings import Settings
from kernel.stats.figures import FIGURES
from tests.cli_support import herald
from tests.conftest import SPARKPOST, ProjectKey, new_project
from tests.delivery.support import adds_up
from tests.sandbox_support import sandbox_kernel
from tests.test_sandbox_feedback import (
    RATES,
    TEMPLATE,
    loop_closed,
    sandbox_workers,
    until_completed,
)

FCM = "push.fcm"
PEOPLE = 40
PUSH = messages_pb2.MessageTemplate(title="Spring", body="Our spring offer is here")


def email(index: int) -> str:
    return f"reader{index}@stats.example"


def token(index: int) -> str:
    return f"device{index}:APA91b" + "x" * 140


@dataclass(frozen=True)
class SentSend:
    sandbox: RunningServer
    project: ProjectKey
    send: messages_pb2.Send


@pytest.fixture(scope="module")
async def sandboxed(settings: Settings, server: RunningServer) -> AsyncIterator[RunningServer]:
    """A sandbox kernel for the module's tests."""
    async with sandbox_kernel(settings, server, RATES) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
async def sent(server: RunningServer, sandboxed: RunningServer) -> AsyncIterator[SentSend]:
    """A completed send on email and FCM to PEOPLE profiles and a twin of the first, sharing its email
    (deduplicated) but with a device of its own; every report the emulators owed applied."""
    async with grpc.aio.insecure_channel(sandboxed.address) as client:
        project = await new_project(projects_pb2_grpc.ProjectServiceStub(client))
        profiles = profiles_pb2_grpc.ProfileServiceStub(client)
        people = [(f"r{index}", email(index), token(index)) for index in range(PEOPLE)]
        for custom_id, address, device in [*people, ("twin", email(0), token(PEOPLE))]:
            await profiles.UpsertProfile(
                profiles_pb2.UpsertProfileRequest(
                    profile=common_pb2.ProfileRef(custom_id=custom_id),
                    add_addresses=[
                        common_pb2.Address(kind="email", value=address),
                        common_pb2.Address(kind="fcm_token", value=device),
                    ],
                ),
                metadata=project.auth,
            )
        messages = messages_pb2_grpc.MessageServiceStub(client)
        async with sandbox_workers(server, sandboxed):
            send = await messages.CreateSend(
                messages_pb2.CreateSendRequest(
                    name="spring",
                    all_reachable=messages_pb2.AllReachable(),
                    channels=[SPARKPOST, FCM],
                    templates={SPARKPOST: TEMPLATE, FCM: PUSH},
                    purpose=common_pb2.PURPOSE_TRANSACTIONAL,
                ),
                metadata=project.auth,
            )
            await until_completed(messages, project, send.send_id)
            await loop_closed(sandboxed, project)
        yield SentSend(sandboxed, project, send)


@pytest.fixture
async def client(sent: SentSend) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(sent.sandbox.address) as channel:
        yield channel


async def read_stats(client: grpc.aio.Channel, sent: SentSend, *send_ids: str) -> stats_pb2.SendStats:
    return await stats_pb2_grpc.StatsServiceStub(client).GetSendStats(
        stats_pb2.GetSendStatsRequest(send_ids=list(send_ids) or [sent.send.send_id]),
        metadata=sent.project.auth,
    )


def summed(parts: list[stats_pb2.StatsFigures]) -> dict[str, int]:
    return {name: sum(getattr(part, name) for part in parts) for name in FIGURES}


def figures(part: stats_pb2.StatsFigures) -> dict[str, int]:
    return {name: getattr(part, name) for name in FIGURES}


def owed(sent: SentSend) -> Counter[FeedbackKind]:
    """What the SparkPost emulator reported, drawn from each message id by the sandbox rates."""
    rates = sent.sandbox.kernel.settings.sandbox_feedback_rates()
    ids = bulk_message_ids(uuid.UUID(sent.send.send_id), SPARKPOST, [email(i) for i in range(PEOPLE)])
    return Counter(kind for message_id in ids for kind in rates.outcomes(message_id))


def dead_tokens(sent: SentSend) -> int:
    rates = sent.sandbox.kernel.settings.sandbox_feedback_rates()
    return sum(rates.unregistered_token(token(index)) for index in range(PEOPLE + 1))


async def test_each_channel_has_its_counts_and_they_add_up_to_the_send(
    client: grpc.aio.Channel, sent: SentSend
) -> None:
    send = await messages_pb2_grpc.MessageServiceStub(client).GetSend(
        messages_pb2.GetSendRequest(send_id=sent.send.send_id), metadata=sent.project.auth
    )
    assert [counted.channel for counted in send.by_channel] == [SPARKPOST, FCM]
    assert adds_up(send)
    email_counts, push_counts = send.by_channel
    assert (email_counts.planned, email_counts.sent, email_counts.duplicates) == (PEOPLE, PEOPLE, 1)
    dead = dead_tokens(sent)
    assert 0 < dead < PEOPLE
    assert (push_counts.planned, push_counts.sent, push_counts.failed) == (
        PEOPLE + 1,
        PEOPLE + 1 - dead,
        dead,
    )
    assert dict(email_counts.feedback) == {kind.value: count for kind, count in owed(sent).items()}
    assert not push_counts.feedback


async def test_statistics_add_up_per_channel_hour_and_total_and_say_what_providers_reported(
    client: grpc.aio.Channel, sent: SentSend
) -> None:
    stats = await read_stats(client, sent)
    assert list(stats.send_ids) == [sent.send.send_id]
    assert [channel.channel for channel in stats.channels] == [SPARKPOST, FCM]
    assert figures(stats.total.figures) == summed([channel.figures for channel in stats.channels])
    for channel in stats.channels:
        hours = [bucket.figures for bucket in stats.hours if bucket.channel == channel.channel]
        assert hours and summed(hours) == figures(channel.figures), channel.channel
    email_stats, push_stats = (channel.figures for channel in stats.channels)
    reported = owed(sent)
    assert reported[FeedbackKind.OPENED] > 0 and reported[FeedbackKind.CLICKED] > 0
    assert figures(email_stats) == {
        **dict.fromkeys(FIGURES, 0),
        "targeted": PEOPLE,
        "deduplicated": 1,
        "sent": PEOPLE,
        "delivered": reported[FeedbackKind.DELIVERED],
        "bounced": reported[FeedbackKind.BOUNCED],
        "opened": reported[FeedbackKind.OPENED],
        "clicked": reported[FeedbackKind.CLICKED],
        "open_events": reported[FeedbackKind.OPENED],
        "click_events": reported[FeedbackKind.CLICKED],
        "unsubscribed": reported[FeedbackKind.UNSUBSCRIBED],
    }
    assert (push_stats.targeted, push_stats.failed, push_stats.delivered) == (
        PEOPLE + 1,
        dead_tokens(sent),
        0,
    )
    rates = stats.channels[0].rates
    assert rates.delivery == pytest.approx(reported[FeedbackKind.DELIVERED] / PEOPLE)
    assert rates.open == pytest.approx(reported[FeedbackKind.OPENED] / reported[FeedbackKind.DELIVERED])
    assert rates.click == pytest.approx(reported[FeedbackKind.CLICKED] / reported[FeedbackKind.DELIVERED])
    assert stats.total.pending == 0


async def test_an_open_reported_again_counts_as_an_event_not_as_another_opened_message(
    client: grpc.aio.Channel, sent: SentSend
) -> None:
    """A reader opening the message again: SparkPost posts another open event for the same message."""
    before = (await read_stats(client, sent)).channels[0].figures
    rates = sent.sandbox.kernel.settings.sandbox_feedback_rates()
    ids = bulk_message_ids(uuid.UUID(sent.send.send_id), SPARKPOST, [email(i) for i in range(PEOPLE)])
    index, message_id = next((i, m) for i, m in enumerate(ids) if FeedbackKind.OPENED in rates.outcomes(m))
    config = await channels_pb2_grpc.ChannelServiceStub(client).GetChannelConfig(
        channels_pb2.GetChannelConfigRequest(channel=SPARKPOST), metadata=sent.project.auth
    )
    credentials = config.webhook.credentials
    emulator = sent.sandbox.kernel.sandbox.emulators[SPARKPOST]
    record = {
        "email": email(index),
        "metadata": {"herald_message_id": message_id},
        "transmission_id": "1",
        "campaign_id": "",
    }
    url = f"http://127.0.0.1:{sent.sandbox.webhooks.port}{config.webhook.path}"
    genuine = (credentials["auth_credentials.username"], credentials["auth_credentials.password"])
    assert await emulator.post_events(url, [emulator.event("open", record)], auth=genuine) == 200
    await loop_closed(sent.sandbox, sent.project)

    after = (await read_stats(client, sent)).channels[0].figures
    assert (after.open_events, after.opened) == (before.open_events + 1, before.opened)


async def test_several_sends_read_together_add_up_and_bad_ids_are_refused(
    client: grpc.aio.Channel, sent: SentSend
) -> None:
    one = await read_stats(client, sent)
    # The same send named twice is read once.
    assert figures((await read_stats(client, sent, sent.send.send_id, sent.send.send_id)).total.figures) == (
        figures(one.total.figures)
    )
    stub = stats_pb2_grpc.StatsServiceStub(client)
    for send_ids, code, field in (
        ([], grpc.StatusCode.INVALID_ARGUMENT, "send_ids"),
        ([sent.send.send_id, "nope"], grpc.StatusCode.INVALID_ARGUMENT, "send_ids[1]"),
        ([str(uuid.uuid4())], grpc.StatusCode.NOT_FOUND, "send_ids[0]"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.GetSendStats(
                stats_pb2.GetSendStatsRequest(send_ids=send_ids), metadata=sent.project.auth
            )
        assert refused.value.code() == code
        assert refused.value.details().startswith(f"{field}: "), refused.value.details()


async def test_the_stats_command_prints_the_table_and_its_csv_holds_the_same_figures(
    client: grpc.aio.Channel, sent: SentSend, tmp_path: Path
) -> None:
    connection = ("--address", sent.sandbox.address, "--api-key", sent.project.key)
    shown = await herald(tmp_path, "sends", "stats", sent.send.send_id, *connection)
    assert shown.status == 0, shown.err
    header, *lines = shown.out.splitlines()
    assert header.split() == ["total", SPARKPOST, FCM]
    stats = await read_stats(client, sent)
    targeted = [line.split() for line in lines if line.startswith("targeted ")]
    assert targeted == [["targeted", f"{2 * PEOPLE + 1}", f"{PEOPLE}", f"{PEOPLE + 1}"]]
    assert any(line.split()[:2] == ["open", "rate"] for line in lines)

    exported = await herald(tmp_path, "sends", "stats", sent.send.send_id, "--csv", "stats.csv", *connection)
    assert exported.status == 0, exported.err
    with (tmp_path / "stats.csv").open(newline="") as file:
        table = list(csv.DictReader(file))
    assert {row["send_id"] for row in table} == {sent.send.send_id}
    for channel in stats.channels:
        mine = [row for row in table if row["channel"] == channel.channel]
        assert {name: sum(int(row[name]) for row in mine) for name in FIGURES} == figures(channel.figures)


class _Page(HTMLParser):
    """What the report test looks at: tags, and every attribute value that could fetch something."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: Counter[str] = Counter()
        self.fetched: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.fetched += [value or "" for name, value in attrs if name in ("src", "href", "xlink:href")]


async def test_the_report_is_one_page_with_a_chart_per_figure_and_nothing_to_fetch(
    sent: SentSend, tmp_path: Path
) -> None:
    connection = ("--address", sent.sandbox.address, "--api-key", sent.project.key)
    made = await herald(tmp_path, "sends", "report", sent.send.send_id, "-o", "report.html", *connection)
    assert made.status == 0, made.err
    text = (tmp_path / "report.html").read_text()
    page = _Page()
    page.feed(text)
    page.close()
    assert page.tags["svg"] == 4  # the funnel, the funnel by channel, delivery and engagement per hour
    assert page.tags["table"] == 1 and page.tags["script"] == 0 and page.tags["link"] == 0
    assert all(value.startswith("data:") for value in page.fetched), page.fetched
    assert "http" not in text.lower() and "@import" not in text and "url(" not in text
    assert SPARKPOST in text and FCM in text
