"""A Python evaluator of condition trees over profiles held in memory: what the tree says, written
independently of the SQL compiler, so that the two can be compared on random trees and profiles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kernel.engage.segments.conditions import (
    AllOf,
    AnyOf,
    AttributeTest,
    Condition,
    EmailDomain,
    EventTest,
    Negation,
    Reachable,
)
from kernel.profiles.attributes import format_datetime


@dataclass(frozen=True)
class Person:
    #: Attributes in their stored form ({"t": ..., "v": ...}).
    attributes: Mapping[str, Mapping[str, Any]]
    emails: Sequence[str]
    #: (event name, when).
    events: Sequence[tuple[str, datetime]]


def holds(node: Condition, person: Person, now: datetime) -> bool:
    if isinstance(node, AllOf):
        return all(holds(child, person, now) for child in node.conditions)
    if isinstance(node, AnyOf):
        return any(holds(child, person, now) for child in node.conditions)
    if isinstance(node, Negation):
        return not holds(node.condition, person, now)
    if isinstance(node, AttributeTest):
        return _attribute(node, person.attributes, now)
    if isinstance(node, EventTest):
        return _event(node, person, now)
    if isinstance(node, Reachable):
        return node.kind == "email" and bool(person.emails)
    if isinstance(node, EmailDomain):
        return any(email.rpartition("@")[2].lower() in node.domains for email in person.emails)
    raise TypeError(node)


def _same_json(left: Any, right: Any) -> bool:
    """jsonb equality: true is not 1."""
    return isinstance(left, bool) == isinstance(right, bool) and left == right


def _attribute(test: AttributeTest, attributes: Mapping[str, Mapping[str, Any]], now: datetime) -> bool:
    op, operand = test.op, test.operand
    if op == "exists":
        return (test.key in attributes) == operand
    if test.key not in attributes:
        return False
    kind, stored = attributes[test.key]["t"], attributes[test.key]["v"]
    if op == "equals":
        return _same_json(stored, operand["v"])
    if op == "in":
        return isinstance(stored, str) and stored in operand
    if op == "contains":
        return kind in ("s", "l") and operand in stored
    if op == "starts_with":
        return kind == "s" and stored.startswith(operand)
    if op == "range":
        if kind != operand["t"]:
            return False
        checks = {"gt": stored.__gt__, "gte": stored.__ge__, "lt": stored.__lt__, "lte": stored.__le__}
        return all(checks[name](operand[name]) for name in checks if operand.get(name) is not None)
    if op == "within_last":
        return kind == "d" and format_datetime(now - timedelta(seconds=operand)) <= stored <= format_datetime(
            now
        )
    if op == "more_than_ago":
        return kind == "d" and stored < format_datetime(now - timedelta(seconds=operand))
    raise ValueError(op)


def _event(test: EventTest, person: Person, now: datetime) -> bool:
    count = sum(
        1
        for name, at in person.events
        if name == test.name
        and (test.within_last is None or now - timedelta(seconds=test.within_last) <= at <= now)
    )
    return count >= test.at_least and (test.at_most is None or count <= test.at_most)
