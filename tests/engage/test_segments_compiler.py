"""The compiled SQL means what the tree says: random trees over random profiles, counted by PostgreSQL and
by a Python evaluator of the same tree (:mod:`tests.engage.evaluator`)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from kernel.engage.segments.conditions import (
    AllOf,
    AnyOf,
    AttributeTest,
    Condition,
    EmailDomain,
    EventTest,
    Negation,
    Reachable,
    from_stored,
    stored_form,
)
from kernel.engage.segments.queries import preview
from kernel.profiles.attributes import format_datetime
from tests.conftest import ProjectKey
from tests.engage.evaluator import Person, holds

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PEOPLE = 60
EXAMPLES = 150
COUNTRIES = ["FR", "DE", "IT"]
WORDS = ["alpha", "alps", "beta", "bet", "gamma"]
DOMAINS = ["gmail.com", "example.org"]


def _stored(kind: str, value: object) -> dict[str, object]:
    return {"t": kind, "v": value}


def _population() -> list[Person]:
    """Varied profiles: attributes present or not, of the expected type or another, events at any age."""
    rng = random.Random(7)
    people = []
    for _ in range(PEOPLE):
        attributes: dict[str, dict[str, object]] = {}
        if rng.random() < 0.8:
            attributes["country"] = _stored("s", rng.choice(COUNTRIES))
        if rng.random() < 0.7:
            attributes["age"] = _stored("n", rng.choice([17, 18, 30, 30.5, 65]))
        elif rng.random() < 0.3:
            attributes["age"] = _stored("s", "thirty")
        if rng.random() < 0.5:
            attributes["vip"] = _stored("b", rng.random() < 0.5)
        if rng.random() < 0.6:
            attributes["name"] = _stored("s", rng.choice(WORDS))
        if rng.random() < 0.6:
            attributes["tags"] = _stored("l", rng.sample(WORDS, rng.randint(0, 3)))
        if rng.random() < 0.7:
            seen = NOW - timedelta(days=rng.choice([0.5, 3, 10, 40, 400]))
            attributes["seen_at"] = _stored("d", format_datetime(seen))
        emails = [f"x{rng.random():.6f}@{rng.choice(DOMAINS)}"] if rng.random() < 0.7 else []
        events = [
            (rng.choice(["purchase", "visit"]), NOW - timedelta(days=rng.choice([1, 5, 20, 45])))
            for _ in range(rng.randint(0, 5))
        ]
        people.append(Person(attributes, emails, events))
    return people


def _values() -> st.SearchStrategy[dict[str, object]]:
    return st.one_of(
        st.sampled_from(COUNTRIES + WORDS).map(lambda v: _stored("s", v)),
        st.sampled_from([17, 18, 30, 30.5, 65, 1]).map(lambda v: _stored("n", v)),
        st.booleans().map(lambda v: _stored("b", v)),
        st.lists(st.sampled_from(WORDS), max_size=2).map(lambda v: _stored("l", v)),
    )


_KEYS = st.sampled_from(["country", "age", "vip", "name", "tags", "seen_at", "missing"])
_SPANS = st.sampled_from([86400.0, 7 * 86400.0, 30 * 86400.0])


def _bounds(kind: str) -> st.SearchStrategy[dict[str, object]]:
    values = (
        st.sampled_from([17, 18, 30, 65])
        if kind == "n"
        else st.sampled_from([2, 8, 35]).map(lambda d: format_datetime(NOW - timedelta(days=d)))
    )
    bound = st.one_of(st.none(), values)
    return (
        st.fixed_dictionaries({"gt": bound, "gte": bound, "lt": bound, "lte": bound})
        .filter(lambda b: any(v is not None for v in b.values()))
        .map(lambda b: {"t": kind, **b})
    )


_ATTRIBUTES = st.one_of(
    st.builds(AttributeTest, _KEYS, st.just("equals"), _values()),
    st.builds(
        AttributeTest,
        _KEYS,
        st.just("in"),
        st.lists(st.sampled_from(COUNTRIES + WORDS), min_size=1, max_size=3),
    ),
    st.builds(AttributeTest, _KEYS, st.just("exists"), st.booleans()),
    st.builds(AttributeTest, _KEYS, st.just("contains"), st.sampled_from(["al", "bet", "FR", "a"])),
    st.builds(AttributeTest, _KEYS, st.just("starts_with"), st.sampled_from(["al", "be", "F"])),
    st.builds(AttributeTest, _KEYS, st.just("range"), st.sampled_from(["n", "d"]).flatmap(_bounds)),
    st.builds(AttributeTest, _KEYS, st.sampled_from(["within_last", "more_than_ago"]), _SPANS),
)


def _event_tests() -> st.SearchStrategy[EventTest]:
    counts = st.tuples(st.integers(0, 3), st.one_of(st.none(), st.integers(0, 4))).filter(
        lambda c: c[1] is None or c[1] >= c[0]
    )
    return st.builds(
        lambda name, bounds, within: EventTest(name, bounds[0], bounds[1], within, None, None, ()),
        st.sampled_from(["purchase", "visit"]),
        counts,
        st.one_of(st.none(), st.sampled_from([3 * 86400.0, 30 * 86400.0])),
    )


_LEAVES = st.one_of(
    _ATTRIBUTES,
    _event_tests(),
    st.just(Reachable("email")),
    st.sampled_from(DOMAINS).map(lambda d: EmailDomain((d,))),
)
_TREES = st.recursive(
    _LEAVES,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3).map(lambda c: AllOf(tuple(c))),
        st.lists(children, min_size=1, max_size=3).map(lambda c: AnyOf(tuple(c))),
        children.map(Negation),
    ),
    max_leaves=6,
)


def _trees() -> list[Condition]:
    """Trees drawn by hypothesis (its tests are synchronous; the database calls are not)."""
    drawn: list[Condition] = []

    @seed(11)
    @settings(max_examples=EXAMPLES, database=None, suppress_health_check=list(HealthCheck))
    @given(_TREES)
    def draw(tree: Condition) -> None:
        drawn.append(tree)

    draw()
    return drawn


async def _store(db: asyncpg.Pool, project: ProjectKey, people: list[Person]) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in people]
    async with db.acquire() as conn, conn.transaction():
        await conn.executemany(
            "INSERT INTO profiles (project_id, profile_id, attributes) VALUES ($1, $2, $3)",
            [(project.project_id, pid, dict(p.attributes)) for pid, p in zip(ids, people, strict=True)],
        )
        await conn.executemany(
            """INSERT INTO profile_addresses (project_id, profile_id, kind, value)
               VALUES ($1, $2, 'email', $3)""",
            [(project.project_id, pid, e) for pid, p in zip(ids, people, strict=True) for e in p.emails],
        )
        await conn.executemany(
            "INSERT INTO events (project_id, profile_id, occurred_at, name) VALUES ($1, $2, $3, $4)",
            [
                (project.project_id, pid, at, name)
                for pid, p in zip(ids, people, strict=True)
                for name, at in p.events
            ],
        )
    return ids


@pytest.mark.parametrize("per_profile", [False, True], ids=["whole-project", "per-profile"])
async def test_the_compiled_sql_agrees_with_the_tree_on_random_profiles(
    db: asyncpg.Pool, project: ProjectKey, per_profile: bool
) -> None:
    await _agrees(db, project, _trees(), per_profile=per_profile)
    assert all(from_stored(stored_form(tree)) == tree for tree in _trees())


async def test_a_conjunction_with_an_event_counted_twice_agrees_with_the_tree(
    db: asyncpg.Pool, project: ProjectKey
) -> None:
    """Such a conjunction tests its other conditions inside the count's subquery (the compiler's
    ``all_of``): beside any drawn condition, negated, nested, with an upper bound, within a window."""
    twice = EventTest("purchase", 2, None, None, None, None, ())
    recent = EventTest("visit", 2, 3, 30 * 86400.0, None, None, ())
    trees: list[Condition] = []
    for other in _trees()[:40]:
        trees.append(AllOf((twice, other)))
        trees.append(Negation(AllOf((other, recent))))
        trees.append(AnyOf((AllOf((other, twice, AllOf((recent, other)))), Reachable("email"))))
    await _agrees(db, project, trees)


async def _agrees(
    db: asyncpg.Pool, project: ProjectKey, trees: list[Condition], *, per_profile: bool = False
) -> None:
    people = _population()
    ids = await _store(db, project, people)
    for tree in trees:
        expected = {pid for pid, person in zip(ids, people, strict=True) if holds(tree, person, NOW)}
        async with db.acquire() as conn:
            rows = await preview(
                conn, project.project_id, tree, NOW, PEOPLE + 1, None, [], per_profile=per_profile
            )
        assert {row["profile_id"] for row in rows} == expected, tree
