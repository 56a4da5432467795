"""Freezing a selection of segments: saved segments inlined at their current version, with the instant it is
evaluated at, so that what a send targets is a self-contained condition that no later edit changes."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from herald.v1 import segments_pb2 as pb
from kernel.engage.segments import store
from kernel.engage.segments.conditions import AllOf, AnyOf, Condition, Negation, SegmentRef, walk
from kernel.engage.segments.frozen import FrozenAudience
from kernel.engage.segments.parse import Vocabulary, parse_condition, parse_segment_id
from kernel.errors import InvalidArgument
from kernel.profiles.attributes import AttributeLimits

#: Nodes of a condition once its saved segments are inlined.
MAX_INLINED_NODES = 2000
MAX_SELECTED_SEGMENTS = 100


@dataclass(frozen=True, slots=True)
class Selection:
    """Profiles in any of ``include`` or matching ``condition``, minus those in any of ``exclude``."""

    include: tuple[str, ...]
    condition: Condition | None
    exclude: tuple[str, ...]

    def as_condition(self) -> Condition:
        included = tuple(SegmentRef(segment_id) for segment_id in self.include)
        if self.condition is not None:
            included += (self.condition,)
        union = included[0] if len(included) == 1 else AnyOf(included)
        if not self.exclude:
            return union
        return AllOf((union, Negation(AnyOf(tuple(SegmentRef(segment_id) for segment_id in self.exclude)))))


def parse_selection(
    message: pb.SegmentSelection, field: str, vocabulary: Vocabulary, limits: AttributeLimits
) -> Selection:
    include = _segment_ids(message.include_segment_ids, f"{field}.include_segment_ids")
    exclude = _segment_ids(message.exclude_segment_ids, f"{field}.exclude_segment_ids")
    condition = (
        parse_condition(message.condition, f"{field}.condition", vocabulary, limits)
        if message.HasField("condition")
        else None
    )
    if not include and condition is None:
        raise InvalidArgument("set include_segment_ids or condition", field)
    return Selection(include, condition, exclude)


async def freeze_selection(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    selection: Selection,
    now: datetime,
    field: str = "segments",
) -> FrozenAudience:
    """The selection with its saved segments inlined at their current version, evaluated at ``now``; a
    segment deleted since the selection was checked is INVALID_ARGUMENT on ``field``."""
    return FrozenAudience(await inline(conn, project_id, selection.as_condition(), field), now)


async def inline(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    condition: Condition,
    field: str,
    within: str | None = None,
) -> Condition:
    """The condition with each saved-segment reference replaced by that segment's current condition (and
    its references, recursively). A reference to an unknown segment, or a cycle, is INVALID_ARGUMENT on
    ``field``; ``within``: the saved segment the condition is to become the condition of (a reference
    back to it is a cycle)."""
    loaded: dict[str, Condition] = {}
    pending = {node.segment_id for node in walk(condition) if isinstance(node, SegmentRef)}
    while pending:
        found = await store.current_conditions(conn, project_id, sorted(pending))
        if missing := pending - found.keys():
            raise InvalidArgument(f"no such segment in this project: {sorted(missing)[0]}", field)
        loaded.update(found)
        pending = {
            node.segment_id
            for inner in found.values()
            for node in walk(inner)
            if isinstance(node, SegmentRef) and node.segment_id not in loaded
        }
    inlined = _replace(condition, loaded, (within,) if within else (), field)
    if sum(1 for _ in walk(inlined)) > MAX_INLINED_NODES:
        raise InvalidArgument(f"more than {MAX_INLINED_NODES} nodes once its segments are inlined", field)
    return inlined


def _replace(
    node: Condition, loaded: Mapping[str, Condition], path: tuple[str, ...], field: str
) -> Condition:
    if isinstance(node, SegmentRef):
        if node.segment_id in path:
            cycle = " -> ".join((*path[path.index(node.segment_id) :], node.segment_id))
            raise InvalidArgument(f"segments reference each other in a cycle: {cycle}", field)
        return _replace(loaded[node.segment_id], loaded, (*path, node.segment_id), field)
    if isinstance(node, AllOf | AnyOf):
        return type(node)(tuple(_replace(child, loaded, path, field) for child in node.conditions))
    if isinstance(node, Negation):
        return Negation(_replace(node.condition, loaded, path, field))
    return node


def _segment_ids(values: Sequence[str], field: str) -> tuple[str, ...]:
    if len(values) > MAX_SELECTED_SEGMENTS:
        raise InvalidArgument(f"at most {MAX_SELECTED_SEGMENTS} segments", field)
    return tuple(
        dict.fromkeys(parse_segment_id(value, f"{field}[{index}]") for index, value in enumerate(values))
    )
