"""AutomationService's contract: graphs checked when saved (INVALID_ARGUMENT naming the step), versions,
the state machine, replayed creates, listing."""

from __future__ import annotations

import grpc
from google.protobuf import field_mask_pb2

from herald.v1 import automations_pb2 as pb
from herald.v1 import messages_pb2
from tests.conftest import SPARKPOST, field_violations, replay_answer, rpc_error
from tests.engage.automation_support import automation, end, saved_template, send, wait


def create(made: pb.Automation, request_id: str = "") -> pb.CreateAutomationRequest:
    return pb.CreateAutomationRequest(automation=made, request_id=request_id)


async def test_graphs_are_checked_when_saved_naming_the_step(automations, templates, project) -> None:
    hello = await saved_template(templates, project, "Hello")
    other = pb.Step(step_id="x", end=pb.EndStep())
    cases = {
        "automation.steps[1]": [send("a", hello, "end"), other, end()],  # unreachable
        "automation.steps[0].next": [send("a", hello, "nowhere"), end()],  # a branch that does not end
        "automation.steps[1].next": [
            send("a", hello, "b"),
            pb.Step(step_id="b", send=send("b", hello, "").send),
        ],
        "automation.steps[0]": [send("a", hello, "b"), send("b", hello, "a")],  # a loop that never waits
        "automation.steps[1].step_id": [send("a", hello, "a"), end("a")],
        "automation.steps[0].send.template.template_id": [
            pb.Step(
                step_id="a",
                next="end",
                send=pb.SendStep(
                    channel=SPARKPOST,
                    template=messages_pb2.TemplateRef(template_id="8f9e4b2a-1111-4222-8333-944455556666"),
                ),
            ),
            end(),
        ],
        "automation.steps[0].send.channel": [
            pb.Step(
                step_id="a",
                next="end",
                send=pb.SendStep(
                    channel="pigeon.post", template=messages_pb2.TemplateRef(template_id=hello.template_id)
                ),
            ),
            end(),
        ],
        "automation.steps[0].wait.duration": [pb.Step(step_id="w", next="end", wait=pb.WaitStep()), end()],
        "automation.steps": [],
    }
    for path, steps in cases.items():
        error = await rpc_error(
            automations.CreateAutomation(create(automation(steps)), metadata=project.auth)
        )
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, path
        assert [field for field, _ in field_violations(error)] == [path]
    # A loop through a wait is fine: the profile waits at each turn.
    looped = automation([wait("w", 60, "a"), send("a", hello, "w")])
    assert (await automations.CreateAutomation(create(looped), metadata=project.auth)).version == 1
    bad_fields = {
        "automation.trigger": automation([end()], trigger=pb.AutomationTrigger()),
        "automation.trigger.event.name": automation(
            [end()], trigger=pb.AutomationTrigger(event=pb.EventTrigger(name="9lives"))
        ),
        "automation.exit_events[0]": automation([end()], exit_events=["cart_abandoned"]),
        "automation.reentry_period": automation([end()], reentry=pb.REENTRY_POLICY_ONCE_PER_PERIOD),
        "automation.name": automation([end()], name=""),
    }
    for path, made in bad_fields.items():
        error = await rpc_error(automations.CreateAutomation(create(made), metadata=project.auth))
        assert [field for field, _ in field_violations(error)] == [path]


async def test_versions_states_replays_and_listing(automations, templates, project) -> None:
    hello = await saved_template(templates, project, "Hello")
    made = automation([send("a", hello, "end"), end()])
    first, replayed = await replay_answer(
        automations.CreateAutomation(create(made, "auto-1"), metadata=project.auth)
    )
    assert not replayed and first.state == pb.AUTOMATION_STATE_DRAFT and first.version == 1
    # The send step keeps the template version of the save (0 meant the latest).
    assert first.steps[0].send.template.version == 1
    again, replayed = await replay_answer(
        automations.CreateAutomation(create(made, "auto-1"), metadata=project.auth)
    )
    assert replayed and again.automation_id == first.automation_id
    ident = first.automation_id
    error = await rpc_error(
        automations.PauseAutomation(pb.PauseAutomationRequest(automation_id=ident), metadata=project.auth)
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    activated = await automations.ActivateAutomation(
        pb.ActivateAutomationRequest(automation_id=ident), metadata=project.auth
    )
    assert activated.state == pb.AUTOMATION_STATE_ACTIVE
    renamed = await automations.UpdateAutomation(
        pb.UpdateAutomationRequest(
            automation=pb.Automation(automation_id=ident, name="renamed"),
            update_mask=field_mask_pb2.FieldMask(paths=["name"]),
        ),
        metadata=project.auth,
    )
    assert (renamed.version, renamed.name, renamed.state) == (2, "renamed", pb.AUTOMATION_STATE_ACTIVE)
    error = await rpc_error(
        automations.UpdateAutomation(
            pb.UpdateAutomationRequest(
                automation=pb.Automation(automation_id=ident),
                update_mask=field_mask_pb2.FieldMask(paths=["state"]),
            ),
            metadata=project.auth,
        )
    )
    assert [field for field, _ in field_violations(error)] == ["update_mask.paths[0]"]
    paused = await automations.PauseAutomation(
        pb.PauseAutomationRequest(automation_id=ident), metadata=project.auth
    )
    assert paused.state == pb.AUTOMATION_STATE_PAUSED
    archived = await automations.ArchiveAutomation(
        pb.ArchiveAutomationRequest(automation_id=ident), metadata=project.auth
    )
    assert archived.state == pb.AUTOMATION_STATE_ARCHIVED
    for call in (
        automations.ActivateAutomation(
            pb.ActivateAutomationRequest(automation_id=ident), metadata=project.auth
        ),
        automations.UpdateAutomation(
            pb.UpdateAutomationRequest(
                automation=pb.Automation(automation_id=ident, name="again"),
                update_mask=field_mask_pb2.FieldMask(paths=["name"]),
            ),
            metadata=project.auth,
        ),
    ):
        assert (await rpc_error(call)).code() == grpc.StatusCode.FAILED_PRECONDITION
    second = await automations.CreateAutomation(create(made), metadata=project.auth)
    listed = await automations.ListAutomations(pb.ListAutomationsRequest(page_size=1), metadata=project.auth)
    assert [a.automation_id for a in listed.automations] == [second.automation_id] and listed.next_page_token
    rest = await automations.ListAutomations(
        pb.ListAutomationsRequest(page_size=1, page_token=listed.next_page_token), metadata=project.auth
    )
    assert [a.automation_id for a in rest.automations] == [ident]
    only_archived = await automations.ListAutomations(
        pb.ListAutomationsRequest(states=[pb.AUTOMATION_STATE_ARCHIVED]), metadata=project.auth
    )
    assert [a.automation_id for a in only_archived.automations] == [ident]
    error = await rpc_error(
        automations.GetAutomation(
            pb.GetAutomationRequest(automation_id="8f9e4b2a-1111-4222-8333-944455556666"),
            metadata=project.auth,
        )
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
