"""What PostgreSQL does for the statements of a profile write, read from EXPLAIN ANALYZE of the very
statements the kernel ran (with their arguments): the work must follow the batch, not the project's size
or statistics."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import asyncpg

from herald.v1 import common_pb2, profiles_pb2
from kernel.profiles.batch_upsert import Applied, upsert_batch
from kernel.profiles.refs import Ref, resolve_checking_suppression
from kernel.server import RunningServer
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
