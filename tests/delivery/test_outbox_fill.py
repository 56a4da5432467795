"""Filling an outbox: one filler at a time commits a send's chunks."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from herald.v1 import messages_pb2 as pb
from kernel.delivery.outbox import FillJob, OutboxFiller
from kernel.delivery.send_definition import parse_send
from kernel.storage.database import create_pool
from tests.delivery.support import rows, seed_people, send_request


async def test_a_filler_whose_lease_lapsed_commits_nothing(messages, configured, server, db) -> None:
    """Two fillers on one send at once (the first one's lease lapsed): only the holder's chunks count."""
    await seed_people(db, configured, 300)
    send = await messages.CreateSend(send_request(), metadata=configured.auth)
    kernel = server.kernel
    slow = OutboxFiller(kernel.db.pool, "filler-a", 120, timedelta(0))
    holder = OutboxFiller(kernel.db.pool, "filler-b", 100, timedelta(seconds=60))
    first = await slow.take()
    await asyncio.sleep(0.01)  # its lease of 0 s has lapsed
    second = await holder.take()
    assert first is not None and second is not None and first.send_id == second.send_id
    job: FillJob = second
    definition = parse_send(pb.CreateSendRequest.FromString(job.definition), kernel.channels, "")
    # Both fill from the same cursor at the same time; the first finds it no longer holds the lease.
    lost, _ = await asyncio.gather(slow.fill_chunk(first, definition), holder.fill_chunk(job, definition))
    assert lost
    while not await holder.fill_chunk(job, definition):
        pass
    outbox = await rows(db, configured, send.send_id)
    assert len(outbox) == 300
    assert len({r["address"].lower() for r in outbox}) == 300
    assert [r["seq"] for r in outbox] == list(range(1, 301))
    state = await db.fetchrow(
        "SELECT total, plan_owner, planned_at FROM sends WHERE send_id = $1", uuid.UUID(send.send_id)
    )
    assert state["total"] == 300 and state["plan_owner"] == "filler-b" and state["planned_at"]
    # Nothing of it is to go out: the workers of later tests would send it.
    await messages.CancelSend(pb.CancelSendRequest(send_id=send.send_id), metadata=configured.auth)


async def test_the_fill_is_planned_for_its_parameters_at_every_execution(
    messages, configured, server, db
) -> None:
    """A chunk is planned with its own parameters however many times its connection ran it before.

    From its sixth execution of a prepared statement, PostgreSQL may switch to a generic plan made without
    the parameters; the fill's was a nested-loop anti join, quadratic in the chunk size, that made a chunk
    of 20,000 profiles outlive its lease. pg_prepared_statements counts the plans each statement got.
    """
    chunk, chunks = 2_000, 12
    await seed_people(db, configured, chunk * chunks)
    await db.execute("ANALYZE profiles, profile_addresses, messages, profile_subscriptions")
    send = await messages.CreateSend(send_request(), metadata=configured.auth)
    pool = await create_pool(server.kernel.db.dsn, min_size=1, max_size=1)  # one connection, as the kernel's
    try:
        filler = OutboxFiller(pool, "filler-plans", chunk, timedelta(seconds=60))
        job = await filler.take()
        assert job is not None and str(job.send_id) == send.send_id
        definition = parse_send(pb.CreateSendRequest.FromString(job.definition), server.kernel.channels, "")
        executions = 1
        while not await filler.fill_chunk(job, definition):
            executions += 1
        # The pattern is a parameter: in the query's text, it would match this query too.
        plans = await pool.fetch(
            "SELECT custom_plans, generic_plans FROM pg_prepared_statements WHERE statement LIKE $1",
            "%INSERT INTO messages%",
        )
    finally:
        await pool.close()
    assert executions > chunks > 10
    assert [tuple(fill) for fill in plans] == [(executions, 0)]
    assert len(await rows(db, configured, send.send_id)) == chunk * chunks
    await messages.CancelSend(pb.CancelSendRequest(send_id=send.send_id), metadata=configured.auth)
