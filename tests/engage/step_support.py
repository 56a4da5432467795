"""Helpers of the tests of the automation steps beyond wait, send and end: the steps to save, and the
entries' exit reasons and facts to read back."""

from __future__ import annotations

import uuid
from typing import Any

from google.protobuf import empty_pb2

from herald.v1 import automations_pb2 as pb
from herald.v1 import common_pb2, segments_pb2
from tests.conftest import ProjectKey


def decision(step_id: str, yes: str, no: str, **test: Any) -> pb.Step:
    """``test``: ``condition=`` a segments Condition, or ``message=`` a MessageCheck."""
    return pb.Step(step_id=step_id, decision=pb.DecisionStep(yes_next=yes, no_next=no, **test))


def reported(send_step: str, outcome: int = pb.MESSAGE_OUTCOME_OPENED) -> pb.MessageCheck:
    """Whether the send step's message was reported so (opened unless said)."""
    return pb.MessageCheck(send_step_id=send_step, outcome=outcome)


def has(key: str, value: str) -> segments_pb2.Condition:
    """The profile's string attribute ``key`` equals ``value``."""
    return segments_pb2.Condition(
        attribute=segments_pb2.AttributeCondition(
            key=key, equals=common_pb2.AttributeValue(string_value=value)
        )
    )


def split(step_id: str, *branches: tuple[int, str]) -> pb.Step:
    return pb.Step(
        step_id=step_id,
        split=pb.SplitStep(branches=[pb.SplitBranch(weight=weight, next=step) for weight, step in branches]),
    )


def checkpoint(step_id: str, name: str, next_step: str) -> pb.Step:
    return pb.Step(step_id=step_id, next=next_step, checkpoint=pb.CheckpointStep(name=name))


def set_attribute(step_id: str, key: str, value: common_pb2.AttributeValue, next_step: str) -> pb.Step:
    return pb.Step(
        step_id=step_id, next=next_step, update_attribute=pb.UpdateAttributeStep(key=key, set=value)
    )


def unset_attribute(step_id: str, key: str, next_step: str) -> pb.Step:
    return pb.Step(
        step_id=step_id,
        next=next_step,
        update_attribute=pb.UpdateAttributeStep(key=key, unset=empty_pb2.Empty()),
    )


def increment(step_id: str, key: str, by: float, next_step: str) -> pb.Step:
    return pb.Step(
        step_id=step_id, next=next_step, update_attribute=pb.UpdateAttributeStep(key=key, increment=by)
    )


def webhook(step_id: str, endpoint_id: str, next_step: str, attributes: tuple[str, ...] = ()) -> pb.Step:
    return pb.Step(
        step_id=step_id,
        next=next_step,
        webhook=pb.WebhookStep(endpoint_id=endpoint_id, attributes=attributes),
    )


def redirect(step_id: str, automation_id: str) -> pb.Step:
    return pb.Step(step_id=step_id, redirect=pb.RedirectStep(automation_id=automation_id))


async def exits(db: Any, project: ProjectKey, automation_id: str) -> dict[str, list[str | None]]:
    """Each custom id's exit reasons in the automation (None while inside), oldest entry first."""
    rows = await db.fetch(
        """SELECT p.custom_id, e.exit_reason FROM automation_entries e
           JOIN profiles p USING (project_id, profile_id)
           WHERE e.project_id = $1 AND e.automation_id = $2 ORDER BY e.entered_at""",
        project.project_id,
        uuid.UUID(automation_id),
    )
    found: dict[str, list[str | None]] = {}
    for row in rows:
        found.setdefault(row["custom_id"], []).append(row["exit_reason"])
    return found


async def passed(db: Any, project: ProjectKey, automation_id: str, fact: str) -> dict[str, list[str]]:
    """Each custom id's steps where the fact was recorded, in order."""
    rows = await db.fetch(
        """SELECT p.custom_id, f.step_id FROM automation_step_facts f
           JOIN automation_entries e USING (project_id, automation_id, entry_id)
           JOIN profiles p ON p.project_id = e.project_id AND p.profile_id = e.profile_id
           WHERE f.project_id = $1 AND f.automation_id = $2 AND f.fact = $3 ORDER BY f.fact_id""",
        project.project_id,
        uuid.UUID(automation_id),
        fact,
    )
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["custom_id"], []).append(row["step_id"])
    return found
