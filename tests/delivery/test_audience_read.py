"""A slice's audience read (kernel.delivery.audience_scan) reads the suppression list from the first slice
read after the project's first entry."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg

from kernel.delivery import slices
from kernel.delivery.send_runtime import SendRuntime, send_runtime
from kernel.delivery.suppressions import suppress_address
from kernel.plugins import ChannelManager
from tests.conftest import ProjectKey
from tests.delivery.conftest import EMAIL
from tests.delivery.support import seed_people, send_request

OWNER = "audience-read"
LEASE = timedelta(minutes=5)
SIZE = 3


async def test_a_projects_first_suppression_blocks_the_slices_read_after_it(
    db, messages, configured: ProjectKey
) -> None:
    """The statement of a project without entries leaves the list out; the first one recorded between two
    slices makes the next slice's read judge every address against it again (its own and the others)."""
    await seed_people(db, configured, 2 * SIZE)
    runtime = await _runtime(db, messages, configured)
    async with db.acquire() as conn:
        first, second = await _cut_all(conn, runtime)
        before = await runtime.scan.read(conn, first)
        later = await runtime.scan.read(conn, second)
        await suppress_address(
            conn, configured.project_id, "email", later[0].address.upper(), "bounced", EMAIL
        )
        after = await runtime.scan.read(conn, second)
        again = await runtime.scan.read(conn, first)
    assert [row.blocked for row in before] == [None] * SIZE
    assert [row.address for row in after] == [row.address for row in later]
    assert [row.blocked for row in after] == ["bounced"] + [None] * (SIZE - 1)
    assert again == before


async def _runtime(db: asyncpg.Pool, messages, project: ProjectKey) -> SendRuntime:
    """A marketing email send to every reachable profile, created and left to this test's reads (the
    kernel's workers are stopped)."""
    send = await messages.CreateSend(send_request(), metadata=project.auth)
    row = await db.fetchrow(
        "SELECT project_id, send_id, spec, audience, false AS paced FROM sends WHERE send_id = $1",
        uuid.UUID(send.send_id),
    )
    runtime = send_runtime(row, ChannelManager())
    assert runtime is not None
    return runtime


async def _cut_all(conn: asyncpg.Connection, runtime: SendRuntime) -> list[slices.Slice]:
    parts = []
    while True:
        async with conn.transaction():
            part = await slices.cut(conn, runtime.project_id, runtime.send_id, OWNER, LEASE, SIZE)
        if part is None:
            return parts
        parts.append(part)
