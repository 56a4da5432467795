"""The steps beyond wait, send and end: decision, split, update attribute, webhook, redirect, checkpoint,
as the runner reads them, parsed from herald.v1.Step with the checks of a save.

Each names the steps that may follow it with the field that names them (``decision.no_next``), so that
the graph's checks (:mod:`kernel.engage.automations.graph`) name the field of a branch that does not end.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from enum import StrEnum

from herald.v1 import automations_pb2 as pb
from kernel.engage.segments import Condition, Vocabulary, parse_condition
from kernel.errors import InvalidArgument
from kernel.profiles.attributes import AttributeLimits, StoredValue, check_key, to_stored
from kernel.profiles.conventions import check_conventions

MAX_BRANCHES = 10
MAX_WEBHOOK_ATTRIBUTES = 100
MAX_CHECKPOINT_NAME = 200
#: The herald.v1.Step kinds this module parses.
KINDS = frozenset({"decision", "split", "update_attribute", "webhook", "redirect", "checkpoint"})
#: Those that name their own following steps (their ``Step.next`` stays empty).
SELF_DIRECTED = frozenset({"decision", "split", "redirect"})

#: (field under the step, step id) of each step that may follow.
Targets = tuple[tuple[str, str], ...]


class Outcome(StrEnum):
    """What a decision asks of a message; each counts the stronger reports too."""

    DELIVERED = "delivered"
    OPENED = "opened"
    CLICKED = "clicked"


#: The provider reports (feedback kinds) that show each outcome.
OUTCOME_REPORTS: dict[Outcome, tuple[str, ...]] = {
    Outcome.DELIVERED: ("delivered", "opened", "clicked"),
    Outcome.OPENED: ("opened", "clicked"),
    Outcome.CLICKED: ("clicked",),
}
_OUTCOMES = {
    pb.MESSAGE_OUTCOME_DELIVERED: Outcome.DELIVERED,
    pb.MESSAGE_OUTCOME_OPENED: Outcome.OPENED,
    pb.MESSAGE_OUTCOME_CLICKED: Outcome.CLICKED,
}


@dataclass(frozen=True, slots=True)
class MessageCheck:
    send_step: str
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class Decision:
    #: Exactly one of ``condition`` and ``message`` is set.
    condition: Condition | None
    message: MessageCheck | None
    yes_next: str
    no_next: str

    def targets(self) -> Targets:
        return (("decision.yes_next", self.yes_next), ("decision.no_next", self.no_next))


@dataclass(frozen=True, slots=True)
class Split:
    #: (weight in percent, next step), the weights summing to 100.
    branches: tuple[tuple[int, str], ...]

    def targets(self) -> Targets:
        return tuple((f"split.branches[{i}].next", step) for i, (_, step) in enumerate(self.branches))


@dataclass(frozen=True, slots=True)
class UpdateAttribute:
    key: str
    #: The value to set (stored form, without ``at``); None with no ``increment``: unset the attribute.
    value: StoredValue | None
    increment: float | None
    next: str

    def targets(self) -> Targets:
        return (("next", self.next),)


@dataclass(frozen=True, slots=True)
class Webhook:
    endpoint_id: uuid.UUID
    attributes: tuple[str, ...]
    next: str

    def targets(self) -> Targets:
        return (("next", self.next),)


@dataclass(frozen=True, slots=True)
class Redirect:
    automation_id: uuid.UUID

    def targets(self) -> Targets:
        return ()


@dataclass(frozen=True, slots=True)
class Checkpoint:
    name: str
    next: str

    def targets(self) -> Targets:
        return (("next", self.next),)


StepKind = Decision | Split | UpdateAttribute | Webhook | Redirect | Checkpoint


def parse_step_kind(
    message: pb.Step, field: str, vocabulary: Vocabulary, limits: AttributeLimits
) -> StepKind:
    """One of this module's steps; ``message.next`` was checked (required unless :data:`SELF_DIRECTED`)."""
    kind = message.WhichOneof("kind")
    inner = f"{field}.{kind}"
    if kind == "decision":
        return _decision(message.decision, inner, vocabulary, limits)
    if kind == "split":
        return _split(message.split, inner)
    if kind == "update_attribute":
        return _update(message.update_attribute, inner, limits, message.next)
    if kind == "webhook":
        return _webhook(message.webhook, inner, limits, message.next)
    if kind == "redirect":
        return Redirect(_uuid(message.redirect.automation_id, f"{inner}.automation_id"))
    assert kind == "checkpoint"
    name = message.checkpoint.name
    if not name or len(name) > MAX_CHECKPOINT_NAME or not name.isprintable():
        raise InvalidArgument(
            f"1 to {MAX_CHECKPOINT_NAME} characters, no control characters", f"{inner}.name"
        )
    return Checkpoint(name, message.next)


def _decision(
    decision: pb.DecisionStep, field: str, vocabulary: Vocabulary, limits: AttributeLimits
) -> Decision:
    test = decision.WhichOneof("test")
    condition = message = None
    if test == "condition":
        condition = parse_condition(decision.condition, f"{field}.condition", vocabulary, limits)
    elif test == "message":
        outcome = _OUTCOMES.get(decision.message.outcome)
        if outcome is None:
            raise InvalidArgument("DELIVERED, OPENED or CLICKED", f"{field}.message.outcome")
        if not decision.message.send_step_id:
            raise InvalidArgument("required: a send step's id", f"{field}.message.send_step_id")
        message = MessageCheck(decision.message.send_step_id, outcome)
    else:
        raise InvalidArgument("set condition or message", field)
    for name in ("yes_next", "no_next"):
        if not getattr(decision, name):
            raise InvalidArgument("required: every branch must end at an end step", f"{field}.{name}")
    return Decision(condition, message, decision.yes_next, decision.no_next)


def _split(split: pb.SplitStep, field: str) -> Split:
    if not 2 <= len(split.branches) <= MAX_BRANCHES:
        raise InvalidArgument(f"2 to {MAX_BRANCHES} branches", f"{field}.branches")
    for index, branch in enumerate(split.branches):
        if not 1 <= branch.weight <= 100:
            raise InvalidArgument("1 to 100 (percent)", f"{field}.branches[{index}].weight")
        if not branch.next:
            raise InvalidArgument(
                "required: every branch must end at an end step", f"{field}.branches[{index}].next"
            )
    total = sum(branch.weight for branch in split.branches)
    if total != 100:
        raise InvalidArgument(f"the weights sum to {total}, not 100", f"{field}.branches")
    return Split(tuple((branch.weight, branch.next) for branch in split.branches))


def _update(
    update: pb.UpdateAttributeStep, field: str, limits: AttributeLimits, next_step: str
) -> UpdateAttribute:
    check_key(update.key, limits, f"{field}.key")
    change = update.WhichOneof("change")
    if change is None:
        raise InvalidArgument("choose set, unset or increment", field)
    if change == "unset":
        return UpdateAttribute(update.key, None, None, next_step)
    value = None
    if change == "set":
        written = value = to_stored(update.set, limits, f"{field}.set")
    else:
        if not math.isfinite(update.increment):
            raise InvalidArgument("a finite number", f"{field}.increment")
        written = {"t": "n", "v": update.increment}
    try:
        check_conventions({update.key: written})
    except InvalidArgument as error:
        raise InvalidArgument(error.reason, f"{field}.{change}") from None
    return UpdateAttribute(update.key, value, update.increment if change == "increment" else None, next_step)


def _webhook(webhook: pb.WebhookStep, field: str, limits: AttributeLimits, next_step: str) -> Webhook:
    endpoint_id = _uuid(webhook.endpoint_id, f"{field}.endpoint_id")
    if len(webhook.attributes) > MAX_WEBHOOK_ATTRIBUTES:
        raise InvalidArgument(f"at most {MAX_WEBHOOK_ATTRIBUTES} keys", f"{field}.attributes")
    for index, key in enumerate(webhook.attributes):
        check_key(key, limits, f"{field}.attributes[{index}]")
        if key in webhook.attributes[:index]:
            raise InvalidArgument(f"{key!r} is listed twice", f"{field}.attributes[{index}]")
    return Webhook(endpoint_id, tuple(webhook.attributes), next_step)


def _uuid(text: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise InvalidArgument("required: an id (a UUID)", field) from None
