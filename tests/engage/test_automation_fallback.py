"""Channel fallback as steps, in the abandoned-cart flow of issue 15 end to end: cart_abandoned -> wait 1 h
-> (exit on order_completed) -> push through APNs -> wait 4 h -> opened? -> yes: end / no: email through
SparkPost. A push's opening reaches no provider: the app reports it (MessageService.RecordMessageOpened)
with the message id the push carried in its data. The hours pass through ``fast_forward``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2

from herald.v1 import automations_pb2 as pb
from herald.v1 import channels_pb2, channels_pb2_grpc, common_pb2, messages_pb2, profiles_pb2, templates_pb2
from kernel.server import RunningServer
from tests.conftest import ProjectKey, rpc_error
from tests.delivery.conftest import EMAIL, SPARKPOST_KEY, configure, pointed_emulator
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
from tests.engage.step_support import checkpoint, decision, exits, passed, reported
from tests.engage.support import fast_forward

APNS = "push.apns"
HOUR = 3600


@pytest.fixture
async def apns(server: RunningServer) -> AsyncIterator[Any]:
    """The APNs emulator; the session kernel's senders point at it."""
    async with pointed_emulator(server, APNS) as emulator:
        yield emulator


async def shopper(profiles, project: ProjectKey, custom_id: str, device: str) -> None:  # type: ignore[no-untyped-def]
    await profiles.UpsertProfile(
        profiles_pb2.UpsertProfileRequest(
            profile=common_pb2.ProfileRef(custom_id=custom_id),
            attributes={"first_name": common_pb2.AttributeValue(string_value=custom_id.title())},
            add_addresses=[
                common_pb2.Address(kind="email", value=f"{custom_id}@example.com"),
                common_pb2.Address(kind="apns_token", value=device),
            ],
        ),
        metadata=project.auth,
    )


async def push_template(templates, project: ProjectKey) -> templates_pb2.Template:  # type: ignore[no-untyped-def]
    """A push that carries its message id for the app to report its opening."""
    message = messages_pb2.MessageTemplate(
        title="Your cart",
        body="Your {{ event.item }} is waiting",
        data={"herald_message_id": "{{ message_id }}"},
    )
    return await templates.CreateTemplate(
        templates_pb2.CreateTemplateRequest(
            template=templates_pb2.Template(
                name="cart push", languages={"en": message}, fallback_language="en"
            )
        ),
        metadata=project.auth,
    )


async def test_the_abandoned_cart_flow_falls_back_to_email_only_for_the_push_left_unopened(
    channel,
    automations,
    templates,
    profiles,
    messages,
    configured,
    sparkpost,
    apns,
    settings,
    quiet_session_scheduler,
    db,
) -> None:
    await configure(channel, configured, APNS, apns.credentials)
    push = await push_template(templates, configured)
    email = await saved_template(templates, configured, "Still thinking")
    made = await active(
        automations,
        configured,
        automation(
            [
                wait("hour", HOUR, "push"),
                pb.Step(
                    step_id="push",
                    next="hours",
                    send=pb.SendStep(
                        channel=APNS, template=messages_pb2.TemplateRef(template_id=push.template_id)
                    ),
                ),
                wait("hours", 4 * HOUR, "opened"),
                decision("opened", "end", "email", message=reported("push")),
                send("email", email, "end"),
                end(),
            ],
            exit_events=["order_completed"],
        ),
    )
    devices = {name: f"{index + 1:064x}" for index, name in enumerate(("ann", "bob", "cid"))}
    for name, device in devices.items():
        await shopper(profiles, configured, name, device)
    async with timer_kernel(settings, sparkpost) as kernel:
        kernel.kernel.senders.endpoints[APNS] = apns.endpoint
        for name in devices:
            await track(profiles, configured, name, "cart_abandoned", item="boots")

        async def all_waiting() -> bool:
            return sum(map(len, (await exits(db, configured, made.automation_id)).values())) == 3

        await until(all_waiting, "the three shoppers entered")
        # Ann completes her order within the hour: she leaves, wherever she is.
        await track(profiles, configured, "ann", "order_completed")

        async def ann_out() -> bool:
            return (await exits(db, configured, made.automation_id))["ann"] == ["exit_event"]

        await until(ann_out, "ann's order took her out")
        await fast_forward(db, configured.project_id, HOUR)

        async def pushed() -> bool:
            return len(apns.accepted) == 2

        await until(pushed, "the pushes reached APNs")
        pushes = {push["token"]: push["payload"] for push in apns.accepted}
        assert set(pushes) == {devices["bob"], devices["cid"]}
        assert pushes[devices["cid"]]["aps"]["alert"]["body"] == "Your boots is waiting"
        # Bob's app reports the opening with the id its push carried (twice: recorded once).
        bob_push = pushes[devices["bob"]]["herald_message_id"]
        for _ in range(2):
            await messages.RecordMessageOpened(
                messages_pb2.RecordMessageOpenedRequest(message_id=bob_push), metadata=configured.auth
            )
        assert subjects_to(sparkpost, "cid@example.com") == [], "cid has four hours to open it"
        await fast_forward(db, configured.project_id, 4 * HOUR)

        async def all_out() -> bool:
            return all(
                reasons[-1] is not None
                for reasons in (await exits(db, configured, made.automation_id)).values()
            )

        await until(all_out, "the four hours ended")
        await until(lambda: _emailed(sparkpost, "cid@example.com"), "cid's fallback email went out")
    assert subjects_to(sparkpost, "cid@example.com") == ["Still thinking Cid boots"]
    assert subjects_to(sparkpost, "bob@example.com") == [] and subjects_to(sparkpost, "ann@example.com") == []
    assert await exits(db, configured, made.automation_id) == {
        "ann": ["exit_event"],
        "bob": ["completed"],
        "cid": ["completed"],
    }
    openings = await db.fetchval(
        """SELECT count(*) FROM events WHERE project_id = $1 AND name = 'herald.message.opened'
           AND attributes->'message_id'->>'v' = $2""",
        configured.project_id,
        bob_push,
    )
    assert openings == 1


async def _emailed(sparkpost: Any, address: str) -> bool:
    return bool(subjects_to(sparkpost, address))


async def test_an_opening_report_names_a_message_of_the_project(messages, configured) -> None:
    error = await rpc_error(
        messages.RecordMessageOpened(
            messages_pb2.RecordMessageOpenedRequest(message_id="not-an-id"), metadata=configured.auth
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("message_id:")
    error = await rpc_error(
        messages.RecordMessageOpened(
            messages_pb2.RecordMessageOpenedRequest(message_id=str(uuid.uuid4())), metadata=configured.auth
        )
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_decisions_read_the_providers_reports_of_delivery_and_click(
    channel,
    automations,
    templates,
    profiles,
    configured,
    sparkpost,
    settings,
    server,
    quiet_session_scheduler,
    db,
) -> None:
    config = struct_pb2.Struct()
    config.update({"api_key": SPARKPOST_KEY, "from_address": "news@herald.test"})
    answer = await channels_pb2_grpc.ChannelServiceStub(channel).SetChannelConfig(
        channels_pb2.SetChannelConfigRequest(channel=EMAIL, config=config), metadata=configured.auth
    )
    url = f"http://127.0.0.1:{server.webhooks.port}{answer.webhook.path}"
    credentials = answer.webhook.credentials
    auth = (credentials["auth_credentials.username"], credentials["auth_credentials.password"])
    offer = await saved_template(templates, configured, "Offer")
    made = await active(
        automations,
        configured,
        automation(
            [
                send("offer", offer, "day"),
                wait("day", 86_400, "clicked"),
                decision(
                    "clicked", "buyer", "delivered", message=reported("offer", pb.MESSAGE_OUTCOME_CLICKED)
                ),
                decision(
                    "delivered", "reader", "lost", message=reported("offer", pb.MESSAGE_OUTCOME_DELIVERED)
                ),
                checkpoint("buyer", "clicked", "end"),
                checkpoint("reader", "delivered only", "end"),
                checkpoint("lost", "never delivered", "end"),
                end(),
            ]
        ),
    )
    for name in ("ann", "bob", "cid"):
        await person(profiles, configured, name, email=f"{name}@example.com", first_name=name.title())
    async with timer_kernel(settings, sparkpost):
        for name in ("ann", "bob", "cid"):
            await track(profiles, configured, name, "cart_abandoned", item="boots")

        async def mailed() -> bool:
            return len(sparkpost.accepted) == 3

        await until(mailed, "the three offers reached SparkPost")
        # SparkPost reports, by webhook, ann's delivery and click, bob's delivery; nothing of cid's.
        sent_to = {record["email"]: record for record in sparkpost.accepted}
        events = [
            sparkpost.event("delivery", sent_to["ann@example.com"]),
            sparkpost.event(
                "click", sent_to["ann@example.com"], target_link_url="https://shop.example/boots"
            ),
            sparkpost.event("delivery", sent_to["bob@example.com"]),
        ]
        assert await sparkpost.post_events(url, events, auth=auth) == 200
        await server.kernel.webhook_queue.drain(configured.project_id)
        await fast_forward(db, configured.project_id, 86_400)

        async def all_out() -> bool:
            return all(
                reasons == ["completed"]
                for reasons in (await exits(db, configured, made.automation_id)).values()
            )

        await until(all_out, "the day ended for all three")
    assert await passed(db, configured, made.automation_id, "checkpoint") == {
        "ann": ["buyer"],
        "bob": ["reader"],
        "cid": ["lost"],
    }
