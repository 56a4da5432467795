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


Step = Wait | Send | End


@dataclass(frozen=True, slots=True)
class Graph:
    trigger_event: str
    #: Tests on the entering event's properties, all of which must hold.
    trigger_properties: tuple[AttributeTest, ...]
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
    name, properties = _trigger(automation.trigger, vocabulary, limits)
    entry_filter = (
        parse_condition(automation.entry_filter, "entry_filter", vocabulary, limits)
        if automation.HasField("entry_filter")
        else None
    )
    steps = _steps(automation.steps)
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
        entry_filter=entry_filter,
        steps=steps,
        first_step=automation.steps[0].step_id,
        exit_events=_exit_events(automation.exit_events, name),
        reentry=reentry,
        reentry_seconds=period,
        max_inside=automation.max_profiles_inside,
    )


def _trigger(
    trigger: pb.AutomationTrigger, vocabulary: Vocabulary, limits: AttributeLimits
) -> tuple[str, tuple[AttributeTest, ...]]:
    """The event trigger's name and property tests, parsed as a segment's event condition is."""
    if trigger.WhichOneof("kind") != "event":
        raise InvalidArgument("set the event trigger", "trigger")
    condition = segments_pb2.Condition(
        event=segments_pb2.EventCondition(name=trigger.event.name, properties=trigger.event.properties)
    )
    parsed = parse_condition(condition, "trigger", vocabulary, limits)
    assert isinstance(parsed, EventTest)
    return parsed.name, parsed.properties


def _steps(messages: Sequence[pb.Step]) -> dict[str, Step]:
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
        steps[message.step_id] = _step(message, field)
    return steps


def _step(message: pb.Step, field: str) -> Step:
    kind = message.WhichOneof("kind")
    if kind is None:
        raise InvalidArgument("set wait, send or end", field)
    if kind == "end":
        if message.next:
            raise InvalidArgument("an end step has no next step", f"{field}.next")
        return End()
    if not message.next:
        raise InvalidArgument("name the next step: every branch must end at an end step", f"{field}.next")
    if kind == "wait":
        if not message.wait.HasField("duration"):
            raise InvalidArgument("required", f"{field}.wait.duration")
        return Wait(_seconds(message.wait.duration, MAX_WAIT_SECONDS, f"{field}.wait.duration"), message.next)
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
    """Every ``next`` names a step, every step is reachable from the first, and every loop waits."""
    index_of = {message.step_id: index for index, message in enumerate(messages)}
    for step_id, step in steps.items():
        if not isinstance(step, End) and step.next not in steps:
            raise InvalidArgument(
                f"no step {step.next!r}: every branch must end at an end step",
                f"steps[{index_of[step_id]}].next",
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


def _successors(step: Step) -> tuple[str, ...]:
    return () if isinstance(step, End) else (step.next,)


def _reachable(first: str, steps: Mapping[str, Step]) -> set[str]:
    seen = {first}
    todo = [first]
    while todo:
        for following in _successors(steps[todo.pop()]):
            if following not in seen:
                seen.add(following)
                todo.append(following)
    return seen


def _loops_without_wait(start: str, steps: Mapping[str, Step]) -> bool:
    """Whether ``start`` (not a wait) comes back to itself through steps that are no waits either."""
    if isinstance(steps[start], Wait):
        return False
    seen: set[str] = set()
    todo = list(_successors(steps[start]))
    while todo:
        step_id = todo.pop()
        if step_id == start:
            return True
        if step_id in seen or isinstance(steps[step_id], Wait):
            continue
        seen.add(step_id)
        todo.extend(_successors(steps[step_id]))
    return False


def _exit_events(names: Sequence[str], trigger: str) -> frozenset[str]:
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
    return frozenset(names)


def _seconds(duration: Duration, maximum: float, field: str) -> float:
    seconds = duration.seconds + duration.nanos / 1e9
    if not 1 <= seconds <= maximum:
        raise InvalidArgument(f"1 second to {maximum / 86_400:.0f} days", field)
    return seconds
