"""A send step on the preferred reachable channel, against the real server, database and emulators: one
message per passage, on the first of the step's channels (in its order) that reaches the profile; and
the step's channels checked when saved."""

from __future__ import annotations

import uuid

import grpc

from herald.v1 import automations_pb2 as pb
from herald.v1 import common_pb2, messages_pb2, templates_pb2
from tests.conftest import SPARKPOST, field_violations, rpc_error
from tests.delivery.conftest import SMS
from tests.delivery.support import person
from tests.engage.automation_support import automation, end, saved_template, send, subjects_to, track

MARKETING = common_pb2.PURPOSE_MARKETING


async def sms_template(templates, project) -> templates_pb2.Template:  # type: ignore[no-untyped-def]
    return await templates.CreateTemplate(
        templates_pb2.CreateTemplateRequest(
            template=templates_pb2.Template(
                name="sms",
                languages={"en": messages_pb2.MessageTemplate(text="Text {{ first_name }}")},
                fallback_language="en",
            )
        ),
        metadata=project.auth,
    )


def sms_first(sms: templates_pb2.Template, email: templates_pb2.Template) -> pb.Step:
    """Send by SMS, else by email."""
    step = send("mail", email, "end")
    step.send.channel = SMS
    step.send.template.template_id = sms.template_id
    step.send.fallbacks.add(
        channel=SPARKPOST, template=messages_pb2.TemplateRef(template_id=email.template_id)
    )
    return step


async def test_a_step_sends_one_message_on_the_first_channel_that_reaches_the_profile(
    automations, templates, profiles, configured, sparkpost, gateway, quiet_session_scheduler, server, db
) -> None:
    sms, email = (
        await sms_template(templates, configured),
        await saved_template(templates, configured, "Mail"),
    )
    made = await automations.CreateAutomation(
        pb.CreateAutomationRequest(automation=automation([sms_first(sms, email), end()])),
        metadata=configured.auth,
    )
    await automations.ActivateAutomation(
        pb.ActivateAutomationRequest(automation_id=made.automation_id), metadata=configured.auth
    )
    opted_out = common_pb2.Subscription(
        channel="sms", purpose=MARKETING, status=common_pb2.SUBSCRIPTION_STATUS_OPTED_OUT
    )
    await person(profiles, configured, "ann", phone="+33612345678", email="ann@example.com", first_name="Ann")
    await person(profiles, configured, "bob", email="bob@example.com", first_name="Bob")
    await person(
        profiles,
        configured,
        "cid",
        phone="+33612345679",
        email="cid@example.com",
        first_name="Cid",
        subscriptions=[opted_out],
    )
    await person(profiles, configured, "dan", first_name="Dan")
    for custom_id in ("ann", "bob", "cid", "dan"):
        await track(profiles, configured, custom_id, "cart_abandoned", item="x")
    assert await server.kernel.scheduler.run_due() == 4
    assert [(record["to"], record["text"]) for record in gateway.accepted] == [("+33612345678", "Text Ann")]
    assert subjects_to(sparkpost, "ann@example.com") == []
    assert subjects_to(sparkpost, "bob@example.com") == ["Mail Bob x"], "no phone: the email"
    assert subjects_to(sparkpost, "cid@example.com") == ["Mail Cid x"], "opted out of SMS: the email"
    rows = await db.fetch(
        """SELECT p.custom_id, e.state, count(f.message_id) AS messages FROM automation_entries e
           JOIN profiles p USING (project_id, profile_id)
           LEFT JOIN automation_step_facts f USING (project_id, automation_id, entry_id)
           WHERE e.project_id = $1 AND e.automation_id = $2 GROUP BY 1, 2 ORDER BY 1""",
        configured.project_id,
        uuid.UUID(made.automation_id),
    )
    assert [tuple(row) for row in rows] == [
        ("ann", "left", 1),
        ("bob", "left", 1),
        ("cid", "left", 1),
        ("dan", "left", 0),
    ], "one message each, and none for a profile no channel reaches"


async def test_a_steps_channels_are_checked_when_saved(automations, templates, configured) -> None:
    email = await saved_template(templates, configured, "Mail")
    twice = send("mail", email, "end")
    twice.send.fallbacks.add(
        channel=SPARKPOST, template=messages_pb2.TemplateRef(template_id=email.template_id)
    )
    unknown = send("mail", email, "end")
    unknown.send.fallbacks.add(
        channel="pigeon", template=messages_pb2.TemplateRef(template_id=email.template_id)
    )
    missing = send("mail", email, "end")
    missing.send.fallbacks.add(channel=SMS, template=messages_pb2.TemplateRef(template_id=str(uuid.uuid4())))
    no_template = send("mail", email, "end")
    no_template.send.fallbacks.add(channel=SMS)
    for step, field in (
        (twice, "automation.steps[0].send.fallbacks[0].channel"),
        (unknown, "automation.steps[0].send.fallbacks[0].channel"),
        (missing, "automation.steps[0].send.fallbacks[0].template.template_id"),
        (no_template, "automation.steps[0].send.fallbacks[0].template.template_id"),
    ):
        error = await rpc_error(
            automations.CreateAutomation(
                pb.CreateAutomationRequest(automation=automation([step, end()])), metadata=configured.auth
            )
        )
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_violations(error)[0][0] == field
