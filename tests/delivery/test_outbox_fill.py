"""Filling an outbox: one filler at a time commits a send's chunks."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from herald.v1 import messages_pb2 as pb
from kernel.delivery.outbox import FillJob, OutboxFiller
from kernel.delivery.send_definition import parse_send
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
