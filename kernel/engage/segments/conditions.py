"""The condition model of segments: plain dataclasses, checked when built from the API, and their stored form.

Stored form (jsonb, ``{"version": 1, "condition": node}``): each node is a one-key object named as the
proto's ``Condition`` field (``all``, ``any``, ``not``, ``attribute``, ``event``, ``reachable``,
``subscribed``, ``email_domain``, ``segment``). It is Herald's own form, not the proto: a saved segment
and a frozen send audience must keep meaning what they meant when stored, whatever the contract becomes.
An attribute test's operand is kept in JSON terms: values in the attributes' stored form
(:mod:`kernel.profiles.attributes`: datetimes as ISO 8601 UTC text, so text order is time order).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

FORM_VERSION = 1
#: The attribute tests, with the operand each takes (JSON).
ATTRIBUTE_OPS = (
    "equals",  # {"t": type, "v": value}, as the attributes' stored form
    "in",  # [string, ...]
    "range",  # {"t": "n" | "d", "gt": v | None, "gte": ..., "lt": ..., "lte": ...}
    "exists",  # bool
    "contains",  # string
    "starts_with",  # string
    "within_last",  # seconds
    "more_than_ago",  # seconds
    "local_day",  # {"offset_days": int, "anniversary": bool}
)
RANGE_BOUNDS = ("gt", "gte", "lt", "lte")


@dataclass(frozen=True, slots=True)
class AllOf:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Negation:
    condition: Condition


@dataclass(frozen=True, slots=True)
class AttributeTest:
    key: str
    #: One of ATTRIBUTE_OPS.
    op: str
    operand: Any


@dataclass(frozen=True, slots=True)
class EventTest:
    name: str
    at_least: int
    #: None: no upper bound.
    at_most: int | None
    #: Events at most this many seconds before now (None: no such bound).
    within_last: float | None
    #: Events in [start, end), as ISO 8601 UTC text (None: no such bound).
    start: str | None
    end: str | None
    properties: tuple[AttributeTest, ...]


@dataclass(frozen=True, slots=True)
class Reachable:
    kind: str


@dataclass(frozen=True, slots=True)
class Subscribed:
    channel: str
    #: "marketing" or "transactional".
    purpose: str
    topic: str


@dataclass(frozen=True, slots=True)
class EmailDomain:
    #: Lower-cased.
    domains: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SegmentRef:
    segment_id: str


Condition = (
    AllOf | AnyOf | Negation | AttributeTest | EventTest | Reachable | Subscribed | EmailDomain | SegmentRef
)


class UnreadableCondition(ValueError):
    """A stored condition in a form this kernel does not read (written by a newer one, or by hand)."""


def walk(node: Condition) -> Iterator[Condition]:
    """The node and every node below it, depth first."""
    yield node
    if isinstance(node, AllOf | AnyOf):
        for child in node.conditions:
            yield from walk(child)
    elif isinstance(node, Negation):
        yield from walk(node.condition)


def references(node: Condition) -> list[str]:
    """The saved segments the condition names, each once, in order of appearance."""
    return list(dict.fromkeys(n.segment_id for n in walk(node) if isinstance(n, SegmentRef)))


def stored_form(node: Condition) -> dict[str, Any]:
    return {"version": FORM_VERSION, "condition": _dump(node)}


def from_stored(document: Mapping[str, Any]) -> Condition:
    if document.get("version") != FORM_VERSION:
        raise UnreadableCondition(f"condition form {document.get('version')!r} is not known")
    try:
        return _load(document["condition"])
    except (KeyError, TypeError, ValueError) as error:
        raise UnreadableCondition(f"condition not in form {FORM_VERSION}: {error!r}") from None


def _dump(node: Condition) -> dict[str, Any]:
    if isinstance(node, AllOf):
        return {"all": [_dump(child) for child in node.conditions]}
    if isinstance(node, AnyOf):
        return {"any": [_dump(child) for child in node.conditions]}
    if isinstance(node, Negation):
        return {"not": _dump(node.condition)}
    if isinstance(node, AttributeTest):
        return {"attribute": _dump_attribute(node)}
    if isinstance(node, EventTest):
        return {
            "event": {
                "name": node.name,
                "at_least": node.at_least,
                "at_most": node.at_most,
                "within_last": node.within_last,
                "start": node.start,
                "end": node.end,
                "properties": [_dump_attribute(test) for test in node.properties],
            }
        }
    if isinstance(node, Reachable):
        return {"reachable": {"kind": node.kind}}
    if isinstance(node, Subscribed):
        return {"subscribed": {"channel": node.channel, "purpose": node.purpose, "topic": node.topic}}
    if isinstance(node, EmailDomain):
        return {"email_domain": {"domains": list(node.domains)}}
    return {"segment": {"segment_id": node.segment_id}}


def _dump_attribute(test: AttributeTest) -> dict[str, Any]:
    return {"key": test.key, "op": test.op, "operand": test.operand}


def _load(node: Mapping[str, Any]) -> Condition:
    (kind, body), *rest = node.items()
    if rest:
        raise ValueError(f"node with several kinds: {sorted(node)}")
    if kind == "all":
        return AllOf(tuple(_load(child) for child in body))
    if kind == "any":
        return AnyOf(tuple(_load(child) for child in body))
    if kind == "not":
        return Negation(_load(body))
    if kind == "attribute":
        return _load_attribute(body)
    if kind == "event":
        return EventTest(
            name=body["name"],
            at_least=body["at_least"],
            at_most=body["at_most"],
            within_last=body["within_last"],
            start=body["start"],
            end=body["end"],
            properties=tuple(_load_attribute(test) for test in body["properties"]),
        )
    if kind == "reachable":
        return Reachable(body["kind"])
    if kind == "subscribed":
        return Subscribed(body["channel"], body["purpose"], body["topic"])
    if kind == "email_domain":
        return EmailDomain(tuple(body["domains"]))
    if kind == "segment":
        return SegmentRef(body["segment_id"])
    raise ValueError(f"unknown node kind {kind!r}")


def _load_attribute(body: Mapping[str, Any]) -> AttributeTest:
    if body["op"] not in ATTRIBUTE_OPS:
        raise ValueError(f"unknown attribute test {body['op']!r}")
    return AttributeTest(body["key"], body["op"], body["operand"])
