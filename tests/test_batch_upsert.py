"""The set-based write path: ImportProfiles stores exactly what the same UpsertProfile calls store, in a
bounded number of statements per batch, with every refused profile reported alone, and two imports of
overlapping files at once both complete."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
import grpc
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from herald.v1 import common_pb2, profiles_pb2
from kernel.api.timestamps import from_datetime
from kernel.profiles.batch_upsert import Applied, UpsertContext, upsert_batch
from kernel.profiles.changes import ProfileChanges, parse_upsert
from kernel.profiles.store_changes import store_changes
from kernel.profiles.upsert import upsert_changes
from kernel.server import RunningServer
from kernel.storage.database import create_pool
from tests.conftest import ProjectKey
from tests.profile_support import erase_and_suppress, number, subscription, text

EXAMPLES = 25
#: What an import example is made of: requests, or a JSONL file's lines (tests/test_import_lines.py).
Item = TypeVar("Item")
_START = datetime(2024, 3, 1, tzinfo=UTC)


async def stream(
    *messages: list[profiles_pb2.UpsertProfileRequest],
) -> AsyncIterator[profiles_pb2.ImportProfilesRequest]:
    for profiles in messages:
        yield profiles_pb2.ImportProfilesRequest(profiles=profiles)


def _token(example: int, which: int) -> str:
    return f"{example:04x}{which:02x}".ljust(64, "a")


@st.composite
def _request(draw: st.DrawFn, example: int) -> profiles_pb2.UpsertProfileRequest:
    """A profile change over a few people, keys and addresses, so that lines of one batch collide; now
    and then one the validation or the database refuses."""
    request = profiles_pb2.UpsertProfileRequest()
    ref = draw(st.sampled_from(["custom", "custom", "anonymous", "unknown_id"]))
    person = draw(st.integers(0, 2))
    if ref == "custom":
        request.profile.custom_id = f"c{example}-{person}"
    elif ref == "anonymous":
        request.profile.anonymous_id = f"a{example}-{person}"
    else:
        request.profile.profile_id = str(uuid.UUID(int=example + 1))
    keys = st.sampled_from(["plan", "age", "city"] * 4 + ["1bad"])
    values = st.sampled_from([text("gold"), text("silver"), number(3), number(7.5)])
    for key, value in draw(st.dictionaries(keys, values, max_size=3)).items():
        request.attributes[key].CopyFrom(value)
    request.remove_attributes.extend(draw(st.lists(st.sampled_from(["plan", "age", "zip"]), max_size=2)))
    emails = st.sampled_from(
        [f"e{example}-{i}@example.org" for i in range(3)] + [f"E{example}-0@Example.org"]
    )
    tokens = st.sampled_from([_token(example, i) for i in range(2)])
    addresses = st.one_of(
        emails.map(lambda value: common_pb2.Address(kind="email", value=value)),
        tokens.map(lambda value: common_pb2.Address(kind="apns_token", value=value)),
    )
    request.add_addresses.extend(draw(st.lists(addresses, max_size=2)))
    request.remove_addresses.extend(draw(st.lists(addresses, max_size=1)))
    statuses = st.sampled_from(
        [common_pb2.SUBSCRIPTION_STATUS_OPTED_IN, common_pb2.SUBSCRIPTION_STATUS_OPTED_OUT]
    )
    purposes = st.sampled_from([common_pb2.PURPOSE_MARKETING, common_pb2.PURPOSE_TRANSACTIONAL])
    changes = st.builds(subscription, st.just("email"), statuses, purposes)
    request.subscriptions.extend(draw(st.lists(changes, max_size=2)))
    request.observed_at.CopyFrom(from_datetime(_START + timedelta(minutes=draw(st.integers(0, 5)))))
    return request


def _examples() -> list[list[profiles_pb2.UpsertProfileRequest]]:
    """Batches drawn by hypothesis; the RPCs they go through are async, hypothesis' tests are not."""
    drawn: list[list[profiles_pb2.UpsertProfileRequest]] = []

    @seed(13)
    @settings(max_examples=EXAMPLES, database=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def draw(data: st.DataObject) -> None:
        example = len(drawn)
        drawn.append(data.draw(st.lists(_request(example), min_size=1, max_size=12)))

    draw()
    return drawn


async def _snapshot(db: asyncpg.Pool, project_id: uuid.UUID) -> dict[tuple[tuple[str, str], ...], object]:
    """Every stored profile by its identities (profile ids differ between two projects)."""
    rows = await db.fetch(
        """SELECT p.attributes,
               ARRAY(SELECT i.kind || ':' || i.value FROM profile_identities i
                     WHERE i.project_id = p.project_id AND i.profile_id = p.profile_id ORDER BY 1) AS names,
               ARRAY(SELECT concat_ws(':', a.kind, a.value, a.details) FROM profile_addresses a
                     WHERE a.project_id = p.project_id AND a.profile_id = p.profile_id
                     ORDER BY 1) AS addresses,
               ARRAY(SELECT concat_ws(':', s.channel, s.purpose, s.topic, s.status, s.updated_at)
                     FROM profile_subscriptions s
                     WHERE s.project_id = p.project_id AND s.profile_id = p.profile_id ORDER BY 1) AS consent
           FROM profiles p WHERE p.project_id = $1""",
        project_id,
    )
    return {tuple(row["names"]): (row["attributes"], row["addresses"], row["consent"]) for row in rows}


async def _one_by_one(
    profiles, project: ProjectKey, batch: list[profiles_pb2.UpsertProfileRequest]
) -> tuple[int, list[tuple[int, str, str]]]:
    created = 0
    rejections = []
    for offset, request in enumerate(batch):
        try:
            reply = await profiles.UpsertProfile(request, metadata=project.auth)
        except grpc.aio.AioRpcError as error:
            field, _, reason = (error.details() or "").partition(": ")
            rejections.append((offset, field, reason))
            continue
        created += reply.created
    return created, rejections


async def _erased_and_suppressed(profiles, project: ProjectKey, example: int) -> None:
    """The third person of each example, and their first email, were erased with suppression."""
    person = f"c{example}-2"
    await profiles.UpsertProfile(_with_emails(person, f"e{example}-0@example.org"), metadata=project.auth)
    await erase_and_suppress(profiles, project, common_pb2.ProfileRef(custom_id=person))


async def assert_import_agrees_with_single_upserts(
    profiles,
    db: asyncpg.Pool,
    importing: ProjectKey,
    upserting: ProjectKey,
    examples: Sequence[Sequence[Item]],
    messages: Callable[..., AsyncIterator[profiles_pb2.ImportProfilesRequest]],
    one_by_one: Callable[
        [Any, ProjectKey, Sequence[Item]], Awaitable[tuple[int, list[tuple[int, str, str]]]]
    ],
) -> None:
    """Each example imported as one message (``messages(example)``) into ``importing`` and applied item by
    item (``one_by_one``) to ``upserting``: the same outcomes, the same rows; the whole import again
    creates nothing and changes no row."""
    for example, batch in enumerate(examples):
        for each in (importing, upserting):
            await _erased_and_suppressed(profiles, each, example)
        reply = await profiles.ImportProfiles(messages(batch), metadata=importing.auth)
        created, rejections = await one_by_one(profiles, upserting, batch)

        assert [(r.index, r.field, r.reason) for r in reply.rejections] == rejections
        assert (reply.imported, reply.created) == (len(batch) - len(rejections), created)
    assert await _snapshot(db, importing.project_id) == await _snapshot(db, upserting.project_id)
    again = await profiles.ImportProfiles(messages(*examples), metadata=importing.auth)
    assert again.created == 0
    assert await _snapshot(db, importing.project_id) == await _snapshot(db, upserting.project_id)


async def test_the_set_based_path_and_single_upserts_store_the_same_rows(
    profiles, project: ProjectKey, other_project: ProjectKey, db
) -> None:
    await assert_import_agrees_with_single_upserts(
        profiles, db, project, other_project, _examples(), stream, _one_by_one
    )


def _with_emails(custom_id: str, *emails: str) -> profiles_pb2.UpsertProfileRequest:
    request = profiles_pb2.UpsertProfileRequest(profile=common_pb2.ProfileRef(custom_id=custom_id))
    request.add_addresses.extend(common_pb2.Address(kind="email", value=email) for email in emails)
    return request


def new_people(
    server: RunningServer, project: ProjectKey, prefix: str, count: int
) -> tuple[UpsertContext, list[ProfileChanges]]:
    """``count`` new customers with an email each, validated, and the context to store them in."""
    kernel = server.kernel
    context = UpsertContext(
        project.project_id, kernel.limits, kernel.channels.address_kinds, kernel.settings.max_addresses
    )
    now = datetime.now(UTC)
    return context, [
        parse_upsert(
            _with_emails(f"{prefix}{i}", f"{prefix}{i}@example.org"), kernel.limits, context.kinds, now
        )
        for i in range(count)
    ]


async def _addresses_per_customer(db: asyncpg.Pool, project: ProjectKey) -> dict[str, int]:
    rows = await db.fetch(
        """SELECT p.custom_id, count(*) AS n
           FROM profiles p JOIN profile_addresses a USING (project_id, profile_id)
           WHERE p.project_id = $1 GROUP BY p.custom_id""",
        project.project_id,
    )
    return {row["custom_id"]: row["n"] for row in rows}


async def test_a_batch_over_a_limit_in_the_database_is_stored_line_by_line(
    profiles, project: ProjectKey, server: RunningServer, db
) -> None:
    limit = server.kernel.settings.max_addresses
    full = _with_emails("full", *(f"m{i}@example.org" for i in range(limit)))
    await profiles.UpsertProfile(full, metadata=project.auth)
    batch = [
        _with_emails("before", "before@example.org"),
        _with_emails("full", "one-too-many@example.org"),
        _with_emails("after", "after@example.org"),
        _with_emails("before", "before-2@example.org"),
    ]

    reply = await profiles.ImportProfiles(stream(batch), metadata=project.auth)

    assert (reply.imported, reply.created, reply.rejected) == (3, 2, 1)
    assert [(r.index, r.field) for r in reply.rejections] == [(1, "add_addresses[0]")]
    assert await _addresses_per_customer(db, project) == {"full": limit, "before": 2, "after": 1}


async def test_a_new_profile_over_the_address_limit_is_refused_and_the_rest_of_the_batch_stored(
    profiles, project: ProjectKey, server: RunningServer, db
) -> None:
    limit = server.kernel.settings.max_addresses
    batch = [
        _with_emails("new", "new@example.org"),
        _with_emails("crowded", *(f"c{i}@example.org" for i in range(limit + 1))),
        _with_emails("full", *(f"f{i}@example.org" for i in range(limit))),
    ]

    reply = await profiles.ImportProfiles(stream(batch), metadata=project.auth)

    assert (reply.imported, reply.created, reply.rejected) == (2, 2, 1)
    assert [(r.index, r.field) for r in reply.rejections] == [(1, "add_addresses[0]")]
    assert await _addresses_per_customer(db, project) == {"new": 1, "full": limit}


async def test_refused_lines_are_reported_and_the_rest_of_the_batch_stored(
    profiles, project: ProjectKey, db
) -> None:
    await profiles.UpsertProfile(_with_emails("gone", "gone@example.org"), metadata=project.auth)
    await erase_and_suppress(profiles, project, common_pb2.ProfileRef(custom_id="gone"))
    twice = profiles_pb2.UpsertProfileRequest(
        profile=common_pb2.ProfileRef(custom_id="twice"), attributes={"plan": text("gold")}
    )
    batch = [
        twice,
        _with_emails("gone"),
        _with_emails("new", "GONE@example.org"),
        profiles_pb2.UpsertProfileRequest(
            profile=common_pb2.ProfileRef(custom_id="bad"), remove_attributes=["1"]
        ),
        profiles_pb2.UpsertProfileRequest(
            profile=common_pb2.ProfileRef(custom_id="twice"), attributes={"plan": text("silver")}
        ),
        _with_emails("kept", "kept@example.org"),
    ]

    reply = await profiles.ImportProfiles(stream(batch), metadata=project.auth)

    assert (reply.imported, reply.created, reply.rejected) == (3, 2, 3)
    assert [(r.index, r.field) for r in reply.rejections] == [
        (1, "profile"),
        (2, "add_addresses[0].value"),
        (3, "remove_attributes[0]"),
    ]
    stored = await db.fetch(
        "SELECT custom_id, attributes->'plan'->>'v' AS plan FROM profiles WHERE project_id = $1",
        project.project_id,
    )
    assert {row["custom_id"]: row["plan"] for row in stored} == {"twice": "silver", "kept": None}


async def test_a_batch_is_a_bounded_number_of_statements(project: ProjectKey, server: RunningServer) -> None:
    kernel = server.kernel
    context = UpsertContext(
        project.project_id, kernel.limits, kernel.channels.address_kinds, kernel.settings.max_addresses
    )
    now = datetime.now(UTC)

    def person(index: int) -> profiles_pb2.UpsertProfileRequest:
        request = _with_emails(f"p{index}", f"p{index}@example.org")
        request.add_addresses.append(common_pb2.Address(kind="apns_token", value=_token(9, index)))
        request.attributes["plan"].CopyFrom(text("gold"))
        request.remove_attributes.append("old")
        request.subscriptions.append(subscription("email", common_pb2.SUBSCRIPTION_STATUS_OPTED_IN))
        return request

    statements: list[str] = []
    async with kernel.db.pool.acquire() as conn:
        # A first batch, not counted, for asyncpg's type introspection on a fresh connection.
        async with conn.transaction():
            await upsert_batch(conn, context, [parse_upsert(person(201), kernel.limits, context.kinds, now)])
        conn.add_query_logger(lambda record: statements.append(record.query))
        async with conn.transaction():
            outcomes = await upsert_batch(
                conn,
                context,
                [parse_upsert(person(i), kernel.limits, context.kinds, now) for i in range(200)],
            )
        batch_statements = len(statements) - 2
        statements.clear()
        async with conn.transaction():
            await upsert_changes(conn, context, parse_upsert(person(200), kernel.limits, context.kinds, now))
        single_statements = len(statements) - 2

    assert len(outcomes) == 200
    assert all(outcome.created for outcome in outcomes)
    # Look up with the suppression check, create, consent, the exclusive addresses' locks, take-over,
    # insert checking the limit, shared addresses marked (the address writers' lock taken by the marking);
    # and for a batch, the setting of its generic plans.
    assert batch_statements <= 8
    assert single_statements <= 7


async def test_concurrent_imports_of_overlapping_files_both_complete(
    profiles, project: ProjectKey, db
) -> None:
    def line(index: int, source: str) -> profiles_pb2.UpsertProfileRequest:
        request = _with_emails(f"u{index}", f"u{index}@example.org")
        request.add_addresses.append(common_pb2.Address(kind="apns_token", value=_token(7, index % 50)))
        request.attributes["source"].CopyFrom(text(source))
        return request

    forward = [line(index, "forward") for index in range(400)]
    backward = [line(index, "backward") for index in reversed(range(400))]

    replies = await asyncio.gather(
        *(
            profiles.ImportProfiles(
                stream(*(lines[i : i + 100] for i in range(0, 400, 100))), metadata=project.auth
            )
            for lines in (forward, backward, forward[::2])
        )
    )

    assert [(reply.imported, reply.rejected) for reply in replies] == [(400, 0), (400, 0), (200, 0)]
    assert sum(reply.created for reply in replies) == 400
    rows = await db.fetch(
        """SELECT count(*) AS profiles, count(*) FILTER (WHERE attributes ? 'source') AS written,
               (SELECT count(*) FROM profile_addresses a
                WHERE a.project_id = $1 AND a.kind = 'apns_token') AS tokens
           FROM profiles WHERE project_id = $1""",
        project.project_id,
    )
    assert dict(rows[0]) == {"profiles": 400, "written": 400, "tokens": 50}


async def test_a_batch_that_stands_is_one_transaction_without_savepoint(
    project: ProjectKey, server: RunningServer
) -> None:
    context, batch = new_people(server, project, "s", 10)
    statements: list[str] = []
    pool = await create_pool(server.kernel.db.dsn, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            conn.add_query_logger(lambda record: statements.append(record.query))
        outcomes = await store_changes(pool, context, batch)
        await asyncio.sleep(0)  # loggers are called soon after each statement
    finally:
        await pool.close()

    assert all(isinstance(outcome, Applied) and outcome.created for outcome in outcomes)
    assert [query for query in statements if "SAVEPOINT" in query.upper()] == []
    assert [query for query in statements if query.strip().upper().startswith(("BEGIN", "COMMIT"))] == [
        "BEGIN;",
        "COMMIT;",
    ]
