"""What PostgreSQL does for the statements of a profile write, read from EXPLAIN ANALYZE of the very
statements the kernel ran (with their arguments): the work must follow the batch, not the project's size
or statistics."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from herald.v1 import common_pb2, profiles_pb2
from kernel.profiles.batch_upsert import Applied, UpsertContext, upsert_batch
from kernel.profiles.import_lines import line_changes
from kernel.profiles.refs import Ref, resolve_checking_suppression
from kernel.server import RunningServer
from kernel.storage.database import GENERIC_PLANS
from tests.conftest import ProjectKey
from tests.test_batch_upsert import new_people, stream

PEOPLE = 3000
#: Statements that have no plan: transaction control, and the settings a statement is planned under.
_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "SET ", "RESET ")
LOOKED_UP = 100


async def _plans(
    conn: asyncpg.Connection, action: Callable[[asyncpg.Connection], Awaitable[object]]
) -> list[dict[str, Any]]:
    """Run ``action``, then EXPLAIN ANALYZE each statement it ran but transaction control (each in a
    transaction rolled back)."""
    ran: list[tuple[str, tuple[Any, ...]]] = []

    def record(query: asyncpg.connection.LoggedQuery) -> None:
        if not query.query.lstrip().upper().startswith(_TRANSACTION_CONTROL):
            ran.append((query.query, query.args))

    conn.add_query_logger(record)
    try:
        await action(conn)
        await asyncio.sleep(0)  # loggers are called soon after each statement, not during it
    finally:
        conn.remove_query_logger(record)
    assert ran, "the action ran no statement"
    return await explained(conn, ran)


async def explained(conn: asyncpg.Connection, ran: list[tuple[str, tuple[Any, ...]]]) -> list[dict[str, Any]]:
    """EXPLAIN ANALYZE of each statement (with its arguments), each in a transaction rolled back."""
    plans = []
    for query, args in ran:
        transaction = conn.transaction()
        await transaction.start()
        try:
            [explained] = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {query}", *args)
        finally:
            await transaction.rollback()
        plans.append(explained["Plan"])
    return plans


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _rows_read(plans: list[dict[str, Any]], table: str) -> int:
    """Rows of ``table`` its scans returned (not the rows an INSERT ... RETURNING returns)."""
    return sum(
        node["Actual Rows"] * node["Actual Loops"]
        for plan in plans
        for node in _nodes(plan)
        if node.get("Relation Name") == table and node["Node Type"].endswith("Scan")
    )


async def _import_people(profiles, project: ProjectKey) -> None:
    requests = [
        profiles_pb2.UpsertProfileRequest(profile=common_pb2.ProfileRef(custom_id=f"w{i}"))
        for i in range(PEOPLE)
    ]
    await profiles.ImportProfiles(
        stream(*(requests[i : i + 1000] for i in range(0, PEOPLE, 1000))), metadata=project.auth
    )


async def test_resolving_probes_each_identity_whatever_the_statistics(
    profiles, project: ProjectKey, server: RunningServer
) -> None:
    pool = server.kernel.db.pool
    # Statistics from before the project's identities were written, as during an import.
    await pool.execute("ANALYZE profile_identities")
    await _import_people(profiles, project)
    refs = [Ref("custom_id", f"w{i}") for i in range(0, PEOPLE, PEOPLE // LOOKED_UP)]

    async with pool.acquire() as conn:
        plans = await _plans(
            conn,
            lambda c: resolve_checking_suppression(c, project.project_id, refs, [("email", "x@example.org")]),
        )

    assert _rows_read(plans, "profile_identities") == len(refs)


async def test_nothing_is_hashed_for_a_project_that_suppressed_no_one(
    project: ProjectKey, server: RunningServer
) -> None:
    refs = [Ref("custom_id", f"new{i}") for i in range(LOOKED_UP)]
    addresses = [("email", f"new{i}@example.org") for i in range(LOOKED_UP)]

    async with server.kernel.db.pool.acquire() as conn:
        plans = await _plans(
            conn, lambda c: resolve_checking_suppression(c, project.project_id, refs, addresses)
        )

    # The hashes read how each kind compares (address_kind_keys) before anything else.
    assert _rows_read(plans, "address_kind_keys") == 0


async def test_new_profiles_addresses_are_not_counted_against_the_limit_by_reading(
    project: ProjectKey, server: RunningServer
) -> None:
    context, batch = new_people(server, project, "n", LOOKED_UP)

    async def write(conn: asyncpg.Connection) -> None:
        # Rolled back, so that each statement replays as it ran: new profiles' rows are plain inserts.
        transaction = conn.transaction()
        await transaction.start()
        try:
            await upsert_batch(conn, context, batch)
        finally:
            await transaction.rollback()

    async with server.kernel.db.pool.acquire() as conn:
        plans = await _plans(conn, write)

    # A profile created by the batch held no address before it.
    assert _rows_read(plans, "profile_addresses") == 0


async def test_new_profile_ids_follow_the_clock(profiles, project: ProjectKey) -> None:
    before = time.time_ns() // 1_000_000
    created = [
        uuid.UUID((await profiles.UpsertProfile(request, metadata=project.auth)).profile_id)
        for request in [
            profiles_pb2.UpsertProfileRequest(profile=common_pb2.ProfileRef(custom_id=f"t{i}"))
            for i in range(3)
        ]
    ]
    after = time.time_ns() // 1_000_000

    assert [profile_id.version for profile_id in created] == [7, 7, 7]
    milliseconds = [profile_id.int >> 80 for profile_id in created]
    assert before <= milliseconds[0] <= milliseconds[1] <= milliseconds[2] <= after


async def test_a_batchs_new_profile_ids_ascend_in_the_order_their_identities_are_claimed(
    project: ProjectKey, server: RunningServer
) -> None:
    context, batch = new_people(server, project, "order", LOOKED_UP)

    async with server.kernel.db.pool.acquire() as conn, conn.transaction():
        outcomes = await upsert_batch(conn, context, batch)

    # Identities are claimed in (kind, value) order: the profiles' rows are appended in that order.
    assert all(isinstance(outcome, Applied) and outcome.created for outcome in outcomes)
    claimed = sorted(zip([changes.ref.value for changes in batch], outcomes, strict=True))
    ids = [outcome.profile_id for _, outcome in claimed if isinstance(outcome, Applied)]
    assert ids == sorted(set(ids))


def _import_line(name: str, number: int) -> bytes:
    """A JSONL line as a CRM export writes it: attributes, an email, a phone, a subscription."""
    return orjson.dumps(
        {
            "custom_id": f"{name}{number}",
            "attributes": {"city": "Paris", "age": number, "signup": {"datetime": "2024-03-01T10:00:00Z"}},
            "emails": [f"{name}{number}@example.org"],
            "phones": [f"+3361234{number:04d}"],
            "subscriptions": [{"channel": "email", "purpose": "marketing", "status": "opted_in"}],
        }
    )


def _after_generic_plans(ran: list[str]) -> list[str]:
    """The statements of ``ran`` that each transaction ran after its generic plans' setting."""
    statements, setting = [], False
    for query in ran:
        command = query.lstrip().upper()
        if query == GENERIC_PLANS or command.startswith(("COMMIT", "ROLLBACK")):
            setting = query == GENERIC_PLANS
        elif setting and not command.startswith(_TRANSACTION_CONTROL):
            statements.append(query)
    return statements


async def _generic_plan(conn: asyncpg.Connection, query: str) -> dict[str, Any]:
    """The plan PostgreSQL makes of ``query`` without its parameters' values (nothing is run)."""
    async with conn.transaction():
        await conn.execute(GENERIC_PLANS)
        await conn.execute(f"PREPARE generic AS {query}")
        parameters = await conn.fetchval(
            "SELECT cardinality(parameter_types) FROM pg_prepared_statements WHERE name = 'generic'"
        )
        arguments = f"({', '.join(['NULL'] * parameters)})" if parameters else ""
        [explained] = await conn.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE generic{arguments}")
        await conn.execute("DEALLOCATE generic")
    return explained["Plan"]


_PROFILE_TABLES = {"profiles", "profile_identities", "profile_addresses", "profile_subscriptions"}


async def test_a_batchs_generic_plans_read_the_profile_tables_by_key_whatever_the_statistics(
    project: ProjectKey, server: RunningServer
) -> None:
    """A batch's statements get generic plans (kernel.profiles.store_changes), made once per connection
    without the arrays' sizes and, during an import, with statistics from before it: neither a batch of
    new profiles nor one of existing profiles may scan a profile table."""
    kernel = server.kernel
    context = UpsertContext(
        project.project_id, kernel.limits, kernel.channels.address_kinds, kernel.settings.max_addresses
    )
    now = datetime.now(UTC)
    batch = [
        line_changes(_import_line("g", number), kernel.limits, context.kinds, now) for number in range(50)
    ]
    pool = kernel.db.pool
    await pool.execute("ANALYZE profiles, profile_identities, profile_addresses, profile_subscriptions")
    ran: list[str] = []

    def record(query: asyncpg.connection.LoggedQuery) -> None:
        ran.append(query.query)

    async with pool.acquire() as conn:
        conn.add_query_logger(record)
        try:
            for _ in ("new profiles", "the same profiles again"):
                async with conn.transaction():
                    outcomes = await upsert_batch(conn, context, batch)
                assert all(isinstance(outcome, Applied) for outcome in outcomes)
            await asyncio.sleep(0)
        finally:
            conn.remove_query_logger(record)
        generic = _after_generic_plans(ran)
        scans = [
            (node["Relation Name"], query)
            for query in dict.fromkeys(generic)
            for node in _nodes(await _generic_plan(conn, query))
            if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in _PROFILE_TABLES
        ]

    assert len(set(generic)) >= 6
    assert scans == []
