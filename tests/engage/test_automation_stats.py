"""An automation's statistics with known answers, against the real server, database and SparkPost
emulator: entries inside and left by reason add up per version and step, each send step's messages
with the reports SparkPost posted for them, conversions at the step of the last message, the CLI's
table and CSV, and the self-contained report."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2, field_mask_pb2

from herald.v1 import automations_pb2 as pb
from herald.v1 import channels_pb2, channels_pb2_grpc, stats_pb2, stats_pb2_grpc
from kernel.server import RunningServer
from tests.cli_support import herald
from tests.conftest import SPARKPOST, ProjectKey, field_violations, rpc_error
from tests.delivery.support import person, until
from tests.engage.automation_support import (
    active,
    automation,
    end,
    saved_template,
    send,
    subjects_to,
    timer_kernel,
    track,
    wait,
)
from tests.engage.support import fast_forward
from tests.test_send_stats import _Page

HOUR = duration_pb2.Duration(seconds=3600)
PEOPLE = ("ann", "bob", "cid", "dan")


def address(custom_id: str) -> str:
    return f"{custom_id}@example.com"


@pytest.fixture
async def post(
    channel: grpc.aio.Channel, server: RunningServer, configured: ProjectKey, sparkpost: Any
) -> Callable[[str, str, int], Awaitable[None]]:
    """Post SparkPost's event of a kind about the n-th email it accepted for an address, and apply it."""
    config = await channels_pb2_grpc.ChannelServiceStub(channel).GetChannelConfig(
        channels_pb2.GetChannelConfigRequest(channel=SPARKPOST), metadata=configured.auth
    )
    credentials = config.webhook.credentials
    auth = (credentials["auth_credentials.username"], credentials["auth_credentials.password"])
    url = f"http://127.0.0.1:{server.webhooks.port}{config.webhook.path}"

    async def posted(kind: str, email: str, index: int) -> None:
        record = [r for r in sparkpost.accepted if r["email"] == email][index]
        assert await sparkpost.post_events(url, [sparkpost.event(kind, record)], auth=auth) == 200
        await server.kernel.webhook_queue.drain(configured.project_id)

    return posted


async def age_facts(db: Any, project: ProjectKey, automation_id: str, custom_id: str) -> None:
    """The profile's messages of the automation were stored two hours ago."""
    await db.execute(
        """UPDATE automation_step_facts f SET at = f.at - interval '2 hours'
           FROM automation_entries n JOIN profiles p USING (project_id, profile_id)
           WHERE f.project_id = $1 AND f.automation_id = $2 AND n.project_id = f.project_id
             AND n.automation_id = f.automation_id AND n.entry_id = f.entry_id AND p.custom_id = $3""",
        project.project_id,
        uuid.UUID(automation_id),
        custom_id,
    )


def step_figures(version: stats_pb2.AutomationVersionStats) -> dict[str, dict[str, int]]:
    names = ("inside", "left", "sent", "delivered", "opened", "clicked", "converted")
    return {
        s.step_id: {n: getattr(s.figures, n) for n in names if getattr(s.figures, n)} for s in version.steps
    }


async def test_an_automations_figures_add_up_per_version_and_step_with_reports_and_conversions(
    channel,
    automations,
    templates,
    profiles,
    configured: ProjectKey,
    sparkpost: Any,
    settings: Any,
    quiet_session_scheduler: None,
    db: Any,
    server: RunningServer,
    post: Callable[[str, str, int], Awaitable[None]],
    tmp_path: Path,
) -> None:
    first = await saved_template(templates, configured, "Your cart")
    second = await saved_template(templates, configured, "Still there")
    made = await active(
        automations,
        configured,
        automation(
            [send("mail", first, "hour"), wait("hour", 3600, "again"), send("again", second, "end"), end()],
            exit_events=["order_completed"],
            conversion_event="purchase",
            conversion_window=HOUR,
        ),
    )
    assert (made.conversion_event, made.conversion_window) == ("purchase", HOUR)
    for custom_id in (*PEOPLE, "eve"):
        await person(profiles, configured, custom_id, email=address(custom_id), first_name=custom_id)
    async with timer_kernel(settings, sparkpost):
        for custom_id in PEOPLE:
            await track(profiles, configured, custom_id, "cart_abandoned", item="hat")

        async def first_emails() -> bool:
            return all(subjects_to(sparkpost, address(c)) for c in PEOPLE)

        await until(first_emails, "everyone's first email went out")
        await track(profiles, configured, "bob", "order_completed")

        async def bob_left() -> bool:
            state = await db.fetchval(
                """SELECT e.state FROM automation_entries e JOIN profiles p USING (project_id, profile_id)
                   WHERE e.project_id = $1 AND p.custom_id = 'bob'""",
                configured.project_id,
            )
            return state == "left"

        await until(bob_left, "bob's exit event took him out")
        await fast_forward(db, configured.project_id, 3600)

        async def second_emails() -> bool:
            return all(len(subjects_to(sparkpost, address(c))) == 2 for c in ("ann", "cid", "dan"))

        await until(second_emails, "the waits ended and the second emails went out")
        # Eve enters after the others' hour: she waits.
        await track(profiles, configured, "eve", "cart_abandoned", item="hat")

        async def eve_emailed() -> bool:
            return bool(subjects_to(sparkpost, address("eve")))

        await until(eve_emailed, "eve's first email went out")

    # SparkPost reports: ann's first email delivered, opened twice and clicked; bob's delivered; cid's
    # second delivered and opened.
    for kind, custom_id, index in [
        ("delivery", "ann", 0),
        ("open", "ann", 0),
        ("open", "ann", 0),
        ("click", "ann", 0),
        ("delivery", "bob", 0),
        ("delivery", "cid", 1),
        ("open", "cid", 1),
    ]:
        await post(kind, address(custom_id), index)
    # Ann buys after her second email: its step converts. Dan's emails are two hours old: his purchase
    # is past the window. Eve buys twice after her first email: one conversion. Cid buys nothing.
    await age_facts(db, configured, made.automation_id, "dan")
    for custom_id in ("ann", "dan", "eve", "eve"):
        await track(profiles, configured, custom_id, "purchase")

    # Facts of kinds other steps record (a checkpoint passed, a message capped): counted as they come.
    await db.execute(
        """INSERT INTO automation_step_facts (project_id, automation_id, version, step_id, entry_id, fact)
           SELECT project_id, automation_id, version, 'hour', entry_id, fact
           FROM automation_entries,
                unnest(ARRAY['checkpoint', 'capped', 'capped', 'quiet_hours_delayed', 'cooled_down']) AS fact
           WHERE project_id = $1 AND automation_id = $2 AND profile_id = $3""",
        configured.project_id,
        uuid.UUID(made.automation_id),
        uuid.UUID(await person(profiles, configured, "ann")),
    )

    stub = stats_pb2_grpc.StatsServiceStub(channel)
    stats = await stub.GetAutomationStats(
        stats_pb2.GetAutomationStatsRequest(automation_id=made.automation_id), metadata=configured.auth
    )
    total = stats.total
    assert (total.entered, total.inside, total.left) == (5, 1, 4)
    assert dict(total.left_by_reason) == {"completed": 3, "exit_event": 1}
    assert (total.completed, total.exited_by_exit_event, total.archived) == (3, 1, 0)
    assert total.entered == total.inside + sum(total.left_by_reason.values())
    assert (total.messages, total.sent, total.delivered, total.opened, total.clicked) == (8, 8, 3, 2, 1)
    assert total.converted == 2
    assert dict(total.facts) == {
        "message": 8,
        "checkpoint": 1,
        "capped": 2,
        "quiet_hours_delayed": 1,
        "cooled_down": 1,
    }
    assert (
        total.checkpoints,
        total.capped,
        total.grace_period,
        total.quiet_hours_dropped,
        total.quiet_hours_delayed,
    ) == (1, 2, 0, 0, 1)
    assert stats.rates.conversion == pytest.approx(2 / 5)
    (version,) = stats.versions
    assert version.version == 1 and version.total == total
    assert [(s.step_id, s.kind) for s in version.steps] == [
        ("mail", "send"),
        ("hour", "wait"),
        ("again", "send"),
        ("end", "end"),
    ]
    assert step_figures(version) == {
        "mail": {"sent": 5, "delivered": 2, "opened": 1, "clicked": 1, "converted": 1},
        "hour": {"inside": 1, "left": 1},
        "again": {"sent": 3, "delivered": 1, "opened": 1, "converted": 1},
        "end": {"left": 3},
    }
    (mail, hour) = [s for s in version.steps if s.step_id in ("mail", "hour")]
    assert dict(hour.figures.facts) == {
        "checkpoint": 1,
        "capped": 2,
        "quiet_hours_delayed": 1,
        "cooled_down": 1,
    }
    assert (mail.rates.delivery, mail.rates.open, mail.rates.conversion) == pytest.approx(
        (2 / 5, 1 / 2, 1 / 5)
    )

    options = {"HERALD_API_KEY": configured.key, "HERALD_GRPC_ADDRESS": server.address}
    shown = await herald(tmp_path, "automations", "stats", made.automation_id, **options)
    assert shown.status == 0, shown.err
    lines = shown.out.splitlines()
    assert next(line for line in lines if line.startswith("entered ")).split()[1:] == ["5", "5"]
    assert "steps of version 1" in shown.out and "fact: cooled_down" in shown.out
    exported = await herald(
        tmp_path, "automations", "stats", made.automation_id, "--csv", "rows.csv", **options
    )
    assert exported.status == 0, exported.err
    with (tmp_path / "rows.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert [(row["version"], row["step_id"]) for row in rows] == [
        ("1", ""),
        ("1", "mail"),
        ("1", "hour"),
        ("1", "again"),
        ("1", "end"),
    ]
    for name in ("entered", "inside", "left", "sent", "delivered", "opened", "clicked", "converted"):
        assert sum(int(row[name]) for row in rows) == getattr(total, name), name
    assert [int(row["fact:cooled_down"]) for row in rows] == [0, 0, 1, 0, 0]

    made_page = await herald(tmp_path, "automations", "report", made.automation_id, "-o", "a.html", **options)
    assert made_page.status == 0, made_page.err
    text = (tmp_path / "a.html").read_text()
    page = _Page()
    page.feed(text)
    page.close()
    assert page.tags["svg"] == 2 and page.tags["table"] == 2  # the overview and version 1's steps
    assert page.tags["script"] == 0 and page.tags["link"] == 0 and page.tags["img"] == 0
    assert all(value.startswith("data:") for value in page.fetched), page.fetched
    assert "http" not in text.lower() and "@import" not in text and "url(" not in text


async def test_automation_stats_refuse_a_bad_id_and_an_unknown_automation(
    channel, configured: ProjectKey
) -> None:
    stub = stats_pb2_grpc.StatsServiceStub(channel)
    error = await rpc_error(
        stub.GetAutomationStats(
            stats_pb2.GetAutomationStatsRequest(automation_id="x"), metadata=configured.auth
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [violation[0] for violation in field_violations(error)] == ["automation_id"]
    unknown = stats_pb2.GetAutomationStatsRequest(automation_id=str(uuid.uuid4()))
    error = await rpc_error(stub.GetAutomationStats(unknown, metadata=configured.auth))
    assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_an_automation_goal_without_its_window_is_refused_naming_the_field(
    automations, templates, configured: ProjectKey
) -> None:
    hello = await saved_template(templates, configured, "Hello")

    request = pb.CreateAutomationRequest(
        automation=automation([send("hi", hello, "end"), end()], conversion_event="purchase")
    )
    error = await rpc_error(automations.CreateAutomation(request, metadata=configured.auth))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [violation[0] for violation in field_violations(error)] == ["automation.conversion_window"]


async def test_the_goal_counted_is_the_latest_versions(
    automations, templates, configured: ProjectKey, channel
) -> None:
    hello = await saved_template(templates, configured, "Hello")
    made = await active(automations, configured, automation([send("hi", hello, "end"), end()]))
    stub = stats_pb2_grpc.StatsServiceStub(channel)
    request = stats_pb2.GetAutomationStatsRequest(automation_id=made.automation_id)
    before = await stub.GetAutomationStats(request, metadata=configured.auth)
    assert (before.conversion_event, before.HasField("conversion_window"), len(before.versions)) == (
        "",
        False,
        0,
    )
    made.conversion_event, made.conversion_window.seconds = "purchase", 600
    await automations.UpdateAutomation(
        pb.UpdateAutomationRequest(
            automation=made,
            update_mask=field_mask_pb2.FieldMask(paths=["conversion_event", "conversion_window"]),
        ),
        metadata=configured.auth,
    )
    after = await stub.GetAutomationStats(request, metadata=configured.auth)
    assert (after.conversion_event, after.conversion_window.seconds) == ("purchase", 600)
