"""An automation version as the runner reads it, parsed from herald.v1.Automation and checked as a graph.

The checks are those of a save (CreateAutomation, UpdateAutomation): every error names the field under
``automation`` (``automation.steps[2].next``). A stored version passed them when it was saved; it is parsed
again by the runner with the same code, so what runs is what was checked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from google.protobuf.duration_pb2 import Duration

from herald.v1 import automations_pb2 as pb
from herald.v1 import messages_pb2, segments_pb2
from kernel.engage.automations.step_kinds import (
    KINDS,
    SELF_DIRECTED,
    Checkpoint,
    Decision,
    StepKind,
    Targets,
    parse_step_kind,
)
from kernel.engage.automations.trigger_kinds import ProfileTrigger, parse_profile_trigger
from kernel.engage.automations.wait_kinds import (
    WaitForEvent,
    WaitUntil,
    awaited_events,
    parse_wait_for_event,
    parse_wait_until,
)
from kernel.engage.segments import Condition, Vocabulary, parse_condition
from kernel.engage.segments.conditions import AttributeTest, EventTest
from kernel.errors import InvalidArgument
from kernel.profiles.attributes import AttributeLimits
from kernel.profiles.events import NAME_PATTERN

MAX_NAME_LENGTH = 200
MAX_STEPS = 100
MAX_EXIT_EVENTS = 100
STEP_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_WAIT_SECONDS = 366 * 86_400
#: Channels a send step tries after its first (a channel at most once).
MAX_FALLBACKS = 9
MAX_REENTRY_PERIOD_SECONDS = 3660 * 86_400


class Reentry(StrEnum):
    ONCE = "once"
    ONCE_PER_PERIOD = "once_per_period"
    ALWAYS = "always"


_REENTRY = {
    pb.REENTRY_POLICY_UNSPECIFIED: Reentry.ONCE,
    pb.REENTRY_POLICY_ONCE: Reentry.ONCE,
    pb.REENTRY_POLICY_ONCE_PER_PERIOD: Reentry.ONCE_PER_PERIOD,
    pb.REENTRY_POLICY_ALWAYS: Reentry.ALWAYS,
}


@dataclass(frozen=True, slots=True)
class Wait:
    seconds: float
    next: str


@dataclass(frozen=True, slots=True)
class SendChoice:
    """A channel a send step may use, with its template."""

    channel: str
    template_id: str
    #: 0 until the save fixes it to the latest version (see :func:`kernel.engage.automations.views`).
    template_version: int


@dataclass(frozen=True, slots=True)
class Send:
    channel: str
    template_id: str
    #: 0 until the save fixes it to the latest version (see :func:`kernel.engage.automations.views`).
    template_version: int
    next: str
    #: The channels to try after ``channel``, in order (the preferred reachable channel).
    fallbacks: tuple[SendChoice, ...] = ()

    @property
    def choices(self) -> tuple[SendChoice, ...]:
        """Every channel of the step, in priority order."""
        return (SendChoice(self.channel, self.template_id, self.template_version), *self.fallbacks)


@dataclass(frozen=True, slots=True)
class End:
    pass


Step = Wait | Send | End | WaitUntil | WaitForEvent | StepKind
AnyWait = Wait | WaitUntil | WaitForEvent
#: The steps that stop a walk on a timer: every loop of a graph goes through one.
WAIT_STEPS = (Wait, WaitUntil, WaitForEvent)


@dataclass(frozen=True, slots=True)
class Graph:
    #: Empty when a profile trigger enters profiles.
    trigger_event: str
    #: Tests on the entering event's properties, all of which must hold.
    trigger_properties: tuple[AttributeTest, ...]
    #: None: the event trigger enters profiles.
    profile_trigger: ProfileTrigger | None
    #: None: every profile may enter.
    entry_filter: Condition | None
    steps: Mapping[str, Step]
    first_step: str
    exit_events: frozenset[str]
    reentry: Reentry
    reentry_seconds: float
    #: 0: no cap.
    max_inside: int


def parse_graph(automation: pb.Automation, vocabulary: Vocabulary, limits: AttributeLimits) -> Graph:
    """The automation's graph, checked; INVALID_ARGUMENT naming the field under ``automation``."""
    try:
        return _parse(automation, vocabulary, limits)
    except InvalidArgument as error:
        raise error.within("automation") from None


def check_name(name: str, field: str) -> str:
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidArgument(f"1 to {MAX_NAME_LENGTH} characters", field)
    if not name.isprintable():
        raise InvalidArgument("must not contain control characters", field)
    return name


def _parse(automation: pb.Automation, vocabulary: Vocabulary, limits: AttributeLimits) -> Graph:
    check_name(automation.name, "name")
    name, properties, profile_trigger = _trigger(automation.trigger, vocabulary, limits)
    entry_filter = (
        parse_condition(automation.entry_filter, "entry_filter", vocabulary, limits)
        if automation.HasField("entry_filter")
        else None
    )
    steps = _steps(automation.steps, vocabulary, limits)
    _check_graph(automation.steps, steps)
    reentry = _REENTRY.get(automation.reentry)
    if reentry is None:
        raise InvalidArgument("not a re-entry policy", "reentry")
    period = 0.0
    if reentry is Reentry.ONCE_PER_PERIOD:
        if not automation.HasField("reentry_period"):
            raise InvalidArgument("required with ONCE_PER_PERIOD", "reentry_period")
        period = _seconds(automation.reentry_period, MAX_REENTRY_PERIOD_SECONDS, "reentry_period")
    elif automation.HasField("reentry_period"):
        raise InvalidArgument("only with ONCE_PER_PERIOD", "reentry_period")
    if automation.max_profiles_inside < 0:
        raise InvalidArgument("0 (no cap) or more", "max_profiles_inside")
    return Graph(
        trigger_event=name,
        trigger_properties=properties,
        profile_trigger=profile_trigger,
        entry_filter=entry_filter,
        steps=steps,
        first_step=automation.steps[0].step_id,
        exit_events=_exit_events(automation.exit_events, name, steps),
        reentry=reentry,
        reentry_seconds=period,
        max_inside=automation.max_profiles_inside,
    )


def _trigger(
    trigger: pb.AutomationTrigger, vocabulary: Vocabulary, limits: AttributeLimits
) -> tuple[str, tuple[AttributeTest, ...], ProfileTrigger | None]:
    """The event trigger's name and property tests, parsed as a segment's event condition is; or the
    profile trigger."""
    if trigger.WhichOneof("kind") != "event":
        return "", (), parse_profile_trigger(trigger, limits)
    condition = segments_pb2.Condition(
        event=segments_pb2.EventCondition(name=trigger.event.name, properties=trigger.event.properties)
    )
    parsed = parse_condition(condition, "trigger", vocabulary, limits)
    assert isinstance(parsed, EventTest)
    return parsed.name, parsed.properties, None


def _steps(messages: Sequence[pb.Step], vocabulary: Vocabulary, limits: AttributeLimits) -> dict[str, Step]:
    if not messages:
        raise InvalidArgument("at least one step", "steps")
    if len(messages) > MAX_STEPS:
        raise InvalidArgument(f"at most {MAX_STEPS} steps", "steps")
    steps: dict[str, Step] = {}
    for index, message in enumerate(messages):
        field = f"steps[{index}]"
        if not STEP_ID_PATTERN.fullmatch(message.step_id):
            raise InvalidArgument("1 to 64 letters, digits, '_' or '-'", f"{field}.step_id")
        if message.step_id in steps:
            raise InvalidArgument(f"step id {message.step_id!r} is used twice", f"{field}.step_id")
        steps[message.step_id] = _step(message, field, vocabulary, limits)
    return steps


def _step(message: pb.Step, field: str, vocabulary: Vocabulary, limits: AttributeLimits) -> Step:
    kind = message.WhichOneof("kind")
    if kind is None:
        raise InvalidArgument(
            "set one step kind (wait, send, end, wait_until, wait_for_event, decision, split, ...)", field
        )
    if kind == "end" or kind in SELF_DIRECTED:
        if message.next:
            raise InvalidArgument(f"a {kind} step has no next step", f"{field}.next")
        return End() if kind == "end" else parse_step_kind(message, field, vocabulary, limits)
    if not message.next:
        raise InvalidArgument("name the next step: every branch must end at an end step", f"{field}.next")
    if kind in KINDS:
        return parse_step_kind(message, field, vocabulary, limits)
    if kind == "wait":
        if not message.wait.HasField("duration"):
            raise InvalidArgument("required", f"{field}.wait.duration")
        return Wait(_seconds(message.wait.duration, MAX_WAIT_SECONDS, f"{field}.wait.duration"), message.next)
    if kind == "wait_until":
        return parse_wait_until(message.wait_until, message.next, f"{field}.wait_until")
    if kind == "wait_for_event":
        return parse_wait_for_event(
            message.wait_for_event,
            message.next,
            f"{field}.wait_for_event",
            vocabulary,
            limits,
            MAX_WAIT_SECONDS,
        )
    send = message.send
    first = _send_choice(send.channel, send.template, f"{field}.send")
    if len(send.fallbacks) > MAX_FALLBACKS:
        raise InvalidArgument(f"at most {MAX_FALLBACKS} channels", f"{field}.send.fallbacks")
    fallbacks = tuple(
        _send_choice(f.channel, f.template, f"{field}.send.fallbacks[{i}]")
        for i, f in enumerate(send.fallbacks)
    )
    seen = {first.channel}
    for index, fallback in enumerate(fallbacks):
        if fallback.channel in seen:
            raise InvalidArgument(
                f"channel {fallback.channel!r} is already in the step",
                f"{field}.send.fallbacks[{index}].channel",
            )
        seen.add(fallback.channel)
    return Send(first.channel, first.template_id, first.template_version, message.next, fallbacks)


def _send_choice(channel: str, template: messages_pb2.TemplateRef, field: str) -> SendChoice:
    if not channel:
        raise InvalidArgument("required", f"{field}.channel")
    if not template.template_id:
        raise InvalidArgument("required", f"{field}.template.template_id")
    if template.version < 0:
        raise InvalidArgument("0 (the latest) or a version number", f"{field}.template.version")
    return SendChoice(channel, template.template_id, template.version)


def _check_graph(messages: Sequence[pb.Step], steps: Mapping[str, Step]) -> None:
    """Every following step named exists, every step is reachable from the first, every loop waits, and
    a decision's send step comes before it on every path."""
    index_of = {message.step_id: index for index, message in enumerate(messages)}
    for step_id, step in steps.items():
        for field, following in _targets(step):
            if following not in steps:
                raise InvalidArgument(
                    f"no step {following!r}: every branch must end at an end step",
                    f"steps[{index_of[step_id]}].{field}",
                )
    reached = _reachable(messages[0].step_id, steps)
    for step_id in steps:
        if step_id not in reached:
            raise InvalidArgument("no path from the first step reaches it", f"steps[{index_of[step_id]}]")
    for step_id in steps:
        if _loops_without_wait(step_id, steps):
            raise InvalidArgument(
                "a loop through this step has no wait step (it would run for ever at once)",
                f"steps[{index_of[step_id]}]",
            )
    for step_id, step in steps.items():
        if isinstance(step, Decision) and step.message is not None:
            field = f"steps[{index_of[step_id]}].decision.message.send_step_id"
            _check_sent_before(step_id, step.message.send_step, messages[0].step_id, steps, field)
    _check_checkpoint_names(messages, steps)


def _check_sent_before(decision: str, send: str, first: str, steps: Mapping[str, Step], field: str) -> None:
    """``send`` must be a send step on every path from the first step to ``decision``: its message is
    then always stored when the decision asks about it."""
    if not isinstance(steps.get(send), Send):
        raise InvalidArgument(f"no send step {send!r}", field)
    if send != first and decision in _reachable(first, steps, avoiding=send):
        raise InvalidArgument(f"a path from the first step reaches the decision without {send!r}", field)


def _check_checkpoint_names(messages: Sequence[pb.Step], steps: Mapping[str, Step]) -> None:
    """Statistics count a checkpoint by its name: two of one name would be counted as one."""
    seen: set[str] = set()
    for index, message in enumerate(messages):
        step = steps[message.step_id]
        if isinstance(step, Checkpoint):
            if step.name in seen:
                raise InvalidArgument(
                    f"checkpoint {step.name!r} is named twice", f"steps[{index}].checkpoint.name"
                )
            seen.add(step.name)


def _targets(step: Step) -> Targets:
    if isinstance(step, End):
        return ()
    if isinstance(step, Wait | Send | WaitUntil):
        return (("next", step.next),)
    if isinstance(step, WaitForEvent):
        return (("next", step.next), ("wait_for_event.timeout_next", step.timeout_next))
    return step.targets()


def _successors(step: Step) -> tuple[str, ...]:
    return tuple(following for _, following in _targets(step))


def _reachable(first: str, steps: Mapping[str, Step], avoiding: str | None = None) -> set[str]:
    """The steps reachable from ``first``, not through ``avoiding``."""
    seen = {first}
    todo = [first]
    while todo:
        for following in _successors(steps[todo.pop()]):
            if following not in seen and following != avoiding:
                seen.add(following)
                todo.append(following)
    return seen


def _loops_without_wait(start: str, steps: Mapping[str, Step]) -> bool:
    """Whether ``start`` (not a wait) comes back to itself through steps that are no waits either."""
    if isinstance(steps[start], WAIT_STEPS):
        return False
    seen: set[str] = set()
    todo = list(_successors(steps[start]))
    while todo:
        step_id = todo.pop()
        if step_id == start:
            return True
        if step_id in seen or isinstance(steps[step_id], WAIT_STEPS):
            continue
        seen.add(step_id)
        todo.extend(_successors(steps[step_id]))
    return False


def _exit_events(names: Sequence[str], trigger: str, steps: Mapping[str, Step]) -> frozenset[str]:
    """The exit events: none may be awaited too (the event would both move the profile on and take it
    out)."""
    awaited = awaited_events(steps.values())
    if len(names) > MAX_EXIT_EVENTS:
        raise InvalidArgument(f"at most {MAX_EXIT_EVENTS} events", "exit_events")
    for index, name in enumerate(names):
        field = f"exit_events[{index}]"
        if not NAME_PATTERN.fullmatch(name):
            raise InvalidArgument("an event name: a letter then letters, digits, '_', '.' or '-'", field)
        if name in names[:index]:
            raise InvalidArgument(f"{name!r} is listed twice", field)
        if name == trigger:
            raise InvalidArgument("the trigger's event cannot also be an exit event", field)
        if name in awaited:
            raise InvalidArgument("a wait_for_event step awaits this event: it cannot also be an exit", field)
    return frozenset(names)


def _seconds(duration: Duration, maximum: float, field: str) -> float:
    seconds = duration.seconds + duration.nanos / 1e9
    if not 1 <= seconds <= maximum:
        raise InvalidArgument(f"1 second to {maximum / 86_400:.0f} days", field)
    return seconds
