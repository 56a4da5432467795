"""A condition compiled to ONE SQL predicate over a profiles row, with numbered parameters.

The predicate is evaluated at one instant, ``now``, fixed by the caller: every relative date of the tree
(``within_last``, the recipient's "today") is computed from it, so an occurrence of a send or a Count means
the same instant for every profile. Attribute keys are validated (a letter, then letters, digits, ``_``) and
written into the SQL as literals, so that the expressions match the expression statistics created for
them (:mod:`kernel.engage.segments.statistics`); every value is a parameter.

A leaf may be NULL where its attribute is absent: AND and OR treat NULL as false would, and a negation is
``IS NOT TRUE``, so "not (country = FR)" holds for a profile without a country, as the tree says.

Event conditions with a lower bound are, for a whole project (Count, Preview, a send's audience written
when it is created), an uncorrelated ``IN`` over the events of that name in the window (the index on
(project_id, name, occurred_at) INCLUDE (profile_id) answers it, grouped once for all profiles); for one
profile (an automation's entry filter, ``per_profile``) a correlated ``EXISTS`` that reads its own events
and stops at the bound, since the ``IN`` would group the whole project's events for that one profile. An
upper bound is always a correlated ``NOT EXISTS`` that stops at the bound (an anti-join for "did not do").
"""

from __future__ import annotations

from collections.abc import Sequence
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
    Subscribed,
)
from kernel.profiles.attributes import format_datetime

#: The attribute holding a profile's IANA timezone.
TIMEZONE_ATTRIBUTE = "timezone"
_RANGE_SQL = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


@dataclass(frozen=True, slots=True)
class Predicate:
    """SQL over the row alias it was compiled for; ``args`` bind parameters ``$first`` onwards."""

    sql: str
    args: tuple[Any, ...]


def compile_predicate(
    condition: Condition,
    now: datetime,
    *,
    alias: str = "p",
    project: str = "$1",
    first: int = 2,
    per_profile: bool = False,
) -> Predicate:
    """``project``: the SQL of the project id (a parameter of the caller's statement); the predicate's own
    parameters are numbered from ``first``; ``per_profile``: the rows are one profile or a few of the
    project's (see the module's note on events). The tree must hold no saved-segment reference
    (inline them first: :func:`kernel.engage.segments.freeze.inline`)."""
    compiler = _Compiler(now, alias, project, first, per_profile)
    return Predicate(compiler.node(condition), tuple(compiler.args))


class _Compiler:
    def __init__(self, now: datetime, alias: str, project: str, first: int, per_profile: bool) -> None:
        self.now = now
        self.per_profile = per_profile
        self.alias = alias
        self.project = project
        self.first = first
        self.args: list[Any] = []

    def over(self, alias: str) -> _Compiler:
        """A compiler of conditions over another profiles row, binding into the same parameters."""
        other = _Compiler(self.now, alias, self.project, self.first, self.per_profile)
        other.args = self.args
        return other

    def bind(self, value: Any, cast: str) -> str:
        self.args.append(value)
        return f"${self.first + len(self.args) - 1}::{cast}"

    def node(self, node: Condition) -> str:
        if isinstance(node, AllOf):
            return self.all_of(node.conditions)
        if isinstance(node, AnyOf):
            return "(" + " OR ".join(self.node(child) for child in node.conditions) + ")"
        if isinstance(node, Negation):
            return f"({self.node(node.condition)}) IS NOT TRUE"
        if isinstance(node, AttributeTest):
            return self.attribute(node, self.alias)
        if isinstance(node, EventTest):
            return self.event(node)
        if isinstance(node, Reachable):
            return self.has_address(f"a.kind = {self.bind(node.kind, 'text')}")
        if isinstance(node, EmailDomain):
            domains = self.bind(list(node.domains), "text[]")
            return self.has_address(
                f"a.kind = 'email' AND lower(substring(a.value from '[^@]*$')) = any({domains})"
            )
        if isinstance(node, Subscribed):
            return self.subscribed(node)
        raise TypeError(f"segment {node.segment_id} is not inlined")

    def all_of(self, children: Sequence[Condition]) -> str:
        """A conjunction with an event counted at least twice tests its other conditions on the profiles
        whose events are counted, joined to them in the count's subquery, not beside it: PostgreSQL then
        joins in parallel and groups only those profiles' events, where the grouped events of the whole
        project, beside, were built again by each parallel worker (the predicate is then the profile's
        being in that subquery's result, which implies the other conditions)."""
        for index, child in enumerate(children):
            if isinstance(child, EventTest) and child.at_least > 1:
                return self.event(child, (*children[:index], *children[index + 1 :]))
        return "(" + " AND ".join(self.node(child) for child in children) + ")"

    def subscribed(self, node: Subscribed) -> str:
        channel, purpose, topic = (
            self.bind(value, "text") for value in (node.channel, node.purpose, node.topic)
        )
        return (
            f"EXISTS (SELECT FROM profile_subscriptions s WHERE s.project_id = {self.alias}.project_id "
            f"AND s.profile_id = {self.alias}.profile_id AND s.channel = {channel} AND s.purpose = {purpose} "
            f"AND s.topic = {topic} AND s.status = 'opted_in')"
        )

    def has_address(self, test: str) -> str:
        return (
            f"EXISTS (SELECT FROM profile_addresses a WHERE a.project_id = {self.alias}.project_id "
            f"AND a.profile_id = {self.alias}.profile_id AND {test})"
        )

    def attribute(self, test: AttributeTest, alias: str) -> str:
        attr = f"({alias}.attributes -> '{test.key}')"
        op, operand = test.op, test.operand
        if op == "equals":
            return f"({attr} -> 'v') = {self.bind(operand['v'], 'jsonb')}"
        if op == "in":
            return f"({attr} -> 'v') = any({self.bind(list(operand), 'jsonb[]')})"
        if op == "exists":
            return f"{'' if operand else 'NOT '}({alias}.attributes ? '{test.key}')"
        if op == "contains":
            text = self.bind(operand, "text")
            return (
                f"CASE ({attr} ->> 't') WHEN 's' THEN strpos({attr} ->> 'v', {text}) > 0 "
                f"WHEN 'l' THEN ({attr} -> 'v') @> to_jsonb({text}) END"
            )
        if op == "starts_with":
            return f"(({attr} ->> 't') = 's' AND starts_with({attr} ->> 'v', {self.bind(operand, 'text')}))"
        if op == "range":
            return self.range(attr, operand)
        if op == "within_last":
            since = format_datetime(self.now - timedelta(seconds=operand))
            return self.datetime_bounds(attr, [(">=", since), ("<=", format_datetime(self.now))])
        if op == "more_than_ago":
            return self.datetime_bounds(attr, [("<", format_datetime(self.now - timedelta(seconds=operand)))])
        return self.local_day(attr, operand["offset_days"], operand["anniversary"])

    def range(self, attr: str, operand: dict[str, Any]) -> str:
        bounds = [(_RANGE_SQL[name], operand[name]) for name in _RANGE_SQL if operand.get(name) is not None]
        if operand["t"] == "d":
            return self.datetime_bounds(attr, bounds)
        tests = " AND ".join(f"({attr} -> 'v') {sql} {self.bind(value, 'jsonb')}" for sql, value in bounds)
        return f"(({attr} ->> 't') = 'n' AND {tests})"

    def datetime_bounds(self, attr: str, bounds: Sequence[tuple[str, str]]) -> str:
        """Datetimes are ISO 8601 UTC text of one width: compared as text, in byte order."""
        tests = " AND ".join(
            f"({attr} ->> 'v') COLLATE \"C\" {sql} {self.bind(text, 'text')}" for sql, text in bounds
        )
        return f"(({attr} ->> 't') = 'd' AND {tests})"

    def local_day(self, attr: str, offset_days: int, anniversary: bool) -> str:
        zone = self.zone()
        day = f"((({attr} ->> 'v')::timestamptz AT TIME ZONE {zone})::date)"
        now, offset = self.bind(self.now, "timestamptz"), self.bind(offset_days, "int")
        target = f"(({now} AT TIME ZONE {zone})::date + {offset})"
        if not anniversary:
            match = f"{day} = {target}"
        else:
            # 29 February is celebrated on 28 February in years without one.
            match = (
                f"(to_char({day}, 'MM-DD') = to_char({target}, 'MM-DD') "
                f"OR (to_char({day}, 'MM-DD') = '02-29' AND to_char({target}, 'MM-DD') = '02-28' "
                f"AND to_char({target} + 1, 'MM-DD') = '03-01'))"
            )
        return f"CASE WHEN ({attr} ->> 't') = 'd' THEN {match} END"

    def zone(self) -> str:
        """The recipient's timezone: its ``timezone`` attribute when PostgreSQL knows the name (writes are
        checked, but values stored before the check were not), else the project's."""
        own = f"({self.alias}.attributes -> '{TIMEZONE_ATTRIBUTE}' ->> 'v')"
        project = f"(SELECT timezone FROM projects WHERE project_id = {self.project})"
        return f"(CASE WHEN {own} IN (SELECT name FROM pg_timezone_names) THEN {own} ELSE {project} END)"

    def event(self, test: EventTest, among: Sequence[Condition] = ()) -> str:
        """``among``: conditions of the profile, tested on the profiles whose events are counted
        (:meth:`all_of`)."""
        if test.at_least == 0 and test.at_most is None:
            return "true"  # any number of events, none included
        terms = [f"e.name = {self.bind(test.name, 'text')}"]
        if test.within_last is not None:
            since = self.now - timedelta(seconds=test.within_last)
            terms.append(f"e.occurred_at >= {self.bind(since, 'timestamptz')}")
            terms.append(f"e.occurred_at <= {self.bind(self.now, 'timestamptz')}")
        if test.start is not None:
            terms.append(f"e.occurred_at >= {self.bind(datetime.fromisoformat(test.start), 'timestamptz')}")
        if test.end is not None:
            terms.append(f"e.occurred_at < {self.bind(datetime.fromisoformat(test.end), 'timestamptz')}")
        terms.extend(self.attribute(prop, "e") for prop in test.properties)
        where = " AND ".join(terms)
        parts = []
        own_events = (
            f"SELECT FROM events e WHERE e.project_id = {self.alias}.project_id "
            f"AND e.profile_id = {self.alias}.profile_id AND {where}"
        )
        if test.at_least > 0 and self.per_profile:
            offset = f" OFFSET {int(test.at_least) - 1}" if test.at_least > 1 else ""
            parts.append(f"EXISTS ({own_events}{offset})")
        elif test.at_least == 1:
            parts.append(
                f"{self.alias}.profile_id IN (SELECT e.profile_id FROM events e "
                f"WHERE e.project_id = {self.project} AND {where})"
            )
        elif test.at_least > 1:
            holder = f"{self.alias}_h"
            among_sql = "".join(f" AND {self.over(holder).node(condition)}" for condition in among)
            joined = (
                f" JOIN profiles {holder} ON {holder}.project_id = e.project_id "
                f"AND {holder}.profile_id = e.profile_id"
                if among
                else ""
            )
            parts.append(
                f"{self.alias}.profile_id IN (SELECT e.profile_id FROM events e{joined} "
                f"WHERE e.project_id = {self.project} AND {where}{among_sql} "
                f"GROUP BY e.profile_id HAVING count(*) >= {int(test.at_least)})"
            )
        if test.at_most is not None:
            offset = f" OFFSET {int(test.at_most)}" if test.at_most else ""
            parts.append(f"NOT EXISTS ({own_events}{offset})")
        return "(" + " AND ".join(parts) + ")"
