"""The statements a worker runs for every slice (its cut, the record of its outcomes with their log rows, its
finish) get a plan made without their parameters from their first execution on: they are keyed by the
send, its slices and messages, so they need no other, and they are not planned again at each slice (the
pool plans every other statement with its parameters, kernel.storage.database)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg

from kernel.delivery import slices
from kernel.delivery.send_ids import bulk_message_ids
from kernel.delivery.slice_counts import SliceAudience
from kernel.delivery.slice_outcomes import BatchOutcome, Logged, Pending, record
from kernel.storage.database import create_pool
from tests.bulk_rows import stored_send
from tests.conftest import ProjectKey
from tests.delivery.support import seed_people

EMAIL = "email.sparkpost"
OWNER = "slice-plans"
LEASE = timedelta(minutes=5)
#: More slices than the executions after which PostgreSQL would choose between the two kinds of plan.
SLICES = 8
SIZE = 3
_TABLES = r"\m(sends|send_slices|send_channel_outcomes|send_channel_audiences)\M"


async def test_slice_statements_are_planned_once_whatever_their_execution(
    server, db, project: ProjectKey
) -> None:
    send_id = await stored_send(db, project, "running")
    await seed_people(db, project, SLICES * SIZE)
    pool = await create_pool(server.kernel.db.dsn, min_size=1, max_size=1)  # one connection, as the kernel's
    try:
        async with pool.acquire() as conn:
            while await sent_slice(conn, project.project_id, send_id):
                pass
            plans = await conn.fetch(
                """SELECT statement, custom_plans, generic_plans FROM pg_prepared_statements
                   WHERE statement ~ $1""",
                _TABLES,
            )
    finally:
        await pool.close()
    assert plans, "the slices' statements prepared nothing"
    assert {p["statement"]: p["custom_plans"] for p in plans} == {p["statement"]: 0 for p in plans}
    assert max(p["generic_plans"] for p in plans) >= SLICES
    # The send went through: every message logged once, counted, and the send completed.
    assert await db.fetchval("SELECT state FROM sends WHERE send_id = $1", send_id) == "completed"
    counts = (await slices.send_counts(db, project.project_id, [send_id]))[send_id]
    assert (counts.counters["sent"], counts.pending) == (SLICES * SIZE, 0)
    logged = "SELECT count(DISTINCT message_id) FROM message_log WHERE send_id = $1"
    assert await db.fetchval(logged, send_id) == SLICES * SIZE


async def sent_slice(conn: asyncpg.Connection, project_id: uuid.UUID, send_id: uuid.UUID) -> bool:
    """Cut the send's next slice, record its messages as sent and finish it, as a worker does; False once
    the audience is all cut."""
    async with conn.transaction():
        part = await slices.cut(conn, project_id, send_id, OWNER, LEASE, SIZE)
    if part is None:
        return False
    rows = await conn.fetch(
        """SELECT p.profile_id, a.value
           FROM profiles p JOIN profile_addresses a USING (project_id, profile_id)
           WHERE p.project_id = $1 AND p.profile_id > $2 AND ($3::uuid IS NULL OR p.profile_id <= $3)""",
        project_id,
        part.lo,
        part.hi,
    )
    ids = bulk_message_ids(send_id, EMAIL, (row["value"] for row in rows))
    logged = [
        Logged(
            Pending(message_id, row["profile_id"], 0, row["value"], row["value"], None, (), part.slice_no),
            EMAIL,
            "sent",
        )
        for message_id, row in zip(ids, rows, strict=True)
    ]
    held = (part, LEASE)
    outcome = BatchOutcome(logged=logged)
    assert await record(
        conn, project_id, send_id, [EMAIL], outcome, from_retries=False, owner=OWNER, held=held
    )
    audience = SliceAudience()
    audience.count(0, "planned", by=len(logged))
    assert await slices.finish(conn, part, OWNER, [EMAIL], audience)
    return True
