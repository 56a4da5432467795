"""The steps decision, split, update attribute, webhook, redirect and checkpoint as a save checks them:
INVALID_ARGUMENT naming the step's field, the graph's rules (every branch ends, every step reachable, no
loop without a wait) through their branches, and what they name in the project."""

from __future__ import annotations

import grpc

from herald.v1 import automations_pb2 as pb
from herald.v1 import common_pb2, segments_pb2, webhooks_pb2
from tests.conftest import field_violations, rpc_error
from tests.engage.automation_support import automation, end, saved_template, send, wait
from tests.engage.step_support import (
    checkpoint,
    decision,
    has,
    increment,
    redirect,
    reported,
    set_attribute,
    split,
    unset_attribute,
    webhook,
)
from tests.test_outgoing_webhooks import subscribe

UNKNOWN = "8f9e4b2a-1111-4222-8333-944455556666"


async def refused(automations, project, steps: list[pb.Step]) -> list[str]:  # type: ignore[no-untyped-def]
    """The fields the INVALID_ARGUMENT of creating an automation of these steps names."""
    error = await rpc_error(
        automations.CreateAutomation(
            pb.CreateAutomationRequest(automation=automation(steps)), metadata=project.auth
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    return [field for field, _ in field_violations(error)]


async def test_branching_steps_are_checked_naming_the_field(automations, templates, project) -> None:
    hello = await saved_template(templates, project, "Hello")
    vip = has("tier", "vip")
    gone = segments_pb2.Condition(segment=segments_pb2.SegmentReference(segment_id=UNKNOWN))
    cases = [
        ("automation.steps[0].decision", [decision("d", "end", "end"), end()]),
        ("automation.steps[0].decision.no_next", [decision("d", "end", "", condition=vip), end()]),
        ("automation.steps[0].decision.yes_next", [decision("d", "elsewhere", "end", condition=vip), end()]),
        (
            "automation.steps[0].next",
            [
                pb.Step(
                    step_id="d", next="end", decision=decision("d", "end", "end", condition=vip).decision
                ),
                end(),
            ],
        ),
        (
            "automation.steps[1].decision.message.outcome",
            [
                send("s", hello, "d"),
                decision("d", "end", "end", message=reported("s", pb.MESSAGE_OUTCOME_UNSPECIFIED)),
                end(),
            ],
        ),
        (
            "automation.steps[0].decision.condition.attribute.key",
            [decision("d", "end", "end", condition=has("9lives", "x")), end()],
        ),
        ("automation.steps[0].decision.condition", [decision("d", "end", "end", condition=gone), end()]),
        # The message asked about must be a send step's ...
        (
            "automation.steps[1].decision.message.send_step_id",
            [wait("w", 60, "d"), decision("d", "end", "end", message=reported("w")), end()],
        ),
        # ... that comes before the decision on every path: here one branch of the split skips it.
        (
            "automation.steps[2].decision.message.send_step_id",
            [
                split("r", (50, "s"), (50, "d")),
                send("s", hello, "d"),
                decision("d", "end", "end", message=reported("s")),
                end(),
            ],
        ),
        ("automation.steps[0].split.branches", [split("r", (100, "end")), end()]),
        (
            "automation.steps[0].split.branches",
            [split("r", (60, "a"), (30, "end")), checkpoint("a", "A", "end"), end()],
        ),
        ("automation.steps[0].split.branches[1].weight", [split("r", (100, "end"), (0, "end")), end()]),
        ("automation.steps[0].split.branches[1].next", [split("r", (50, "end"), (50, "gone")), end()]),
        # A loop through a decision's branch that never waits.
        (
            "automation.steps[0]",
            [decision("d", "c", "end", condition=vip), checkpoint("c", "again", "d"), end()],
        ),
        ("automation.steps[1]", [end("x"), checkpoint("c", "lost", "x")]),
        (
            "automation.steps[2].checkpoint.name",
            [
                checkpoint("a", "half", "b"),
                checkpoint("b", "whole", "c"),
                checkpoint("c", "half", "end"),
                end(),
            ],
        ),
        ("automation.steps[0].checkpoint.name", [checkpoint("a", "", "end"), end()]),
    ]
    for path, steps in cases:
        assert await refused(automations, project, steps) == [path], path
    # The send step before the decision on every path (through a wait), as the fallback needs.
    fallback = automation(
        [
            send("push", hello, "hours"),
            wait("hours", 4 * 3600, "seen"),
            decision("seen", "end", "mail", message=reported("push")),
            send("mail", hello, "end"),
            end(),
        ]
    )
    saved = await automations.CreateAutomation(
        pb.CreateAutomationRequest(automation=fallback), metadata=project.auth
    )
    assert saved.steps[2].decision.message.send_step_id == "push"


async def test_attribute_webhook_and_redirect_steps_are_checked(automations, hooks, project) -> None:
    endpoint = await subscribe(
        hooks, project, "https://crm.example/hooks", [webhooks_pb2.WEBHOOK_EVENT_TYPE_PROFILE_CREATED]
    )
    target = await automations.CreateAutomation(
        pb.CreateAutomationRequest(automation=automation([end()], name="welcome back")), metadata=project.auth
    )
    archived = await automations.CreateAutomation(
        pb.CreateAutomationRequest(automation=automation([end()], name="old")), metadata=project.auth
    )
    await automations.ArchiveAutomation(
        pb.ArchiveAutomationRequest(automation_id=archived.automation_id), metadata=project.auth
    )
    text = common_pb2.AttributeValue(string_value="Mars/Olympus")
    cases = [
        ("automation.steps[0].update_attribute.key", [increment("u", "9lives", 1, "end"), end()]),
        (
            "automation.steps[0].update_attribute",
            [pb.Step(step_id="u", next="end", update_attribute=pb.UpdateAttributeStep(key="visits")), end()],
        ),
        ("automation.steps[0].update_attribute.set", [set_attribute("u", "timezone", text, "end"), end()]),
        ("automation.steps[0].update_attribute.increment", [increment("u", "language", 1, "end"), end()]),
        ("automation.steps[0].next", [unset_attribute("u", "coupon", ""), end()]),
        ("automation.steps[0].webhook.endpoint_id", [webhook("h", "not-an-id", "end"), end()]),
        ("automation.steps[0].webhook.endpoint_id", [webhook("h", UNKNOWN, "end"), end()]),
        (
            "automation.steps[0].webhook.attributes[1]",
            [webhook("h", endpoint.endpoint_id, "end", ("tier", "tier")), end()],
        ),
        ("automation.steps[0].redirect.automation_id", [redirect("r", UNKNOWN)]),
        ("automation.steps[0].redirect.automation_id", [redirect("r", archived.automation_id)]),
        # A redirect names no next step: the profile leaves.
        (
            "automation.steps[0].next",
            [
                pb.Step(
                    step_id="r", next="end", redirect=pb.RedirectStep(automation_id=target.automation_id)
                ),
                end(),
            ],
        ),
    ]
    for path, steps in cases:
        assert await refused(automations, project, steps) == [path], path
    saved = await automations.CreateAutomation(
        pb.CreateAutomationRequest(
            automation=automation(
                [
                    increment("u", "visits", 1, "h"),
                    webhook("h", endpoint.endpoint_id, "r", ("tier",)),
                    redirect("r", target.automation_id),
                ]
            )
        ),
        metadata=project.auth,
    )
    # Not into itself.
    error = await rpc_error(
        automations.UpdateAutomation(
            pb.UpdateAutomationRequest(
                automation=pb.Automation(
                    automation_id=saved.automation_id, steps=[redirect("r", saved.automation_id)]
                ),
                update_mask={"paths": ["steps"]},
            ),
            metadata=project.auth,
        )
    )
    assert [field for field, _ in field_violations(error)] == ["automation.steps[0].redirect.automation_id"]
