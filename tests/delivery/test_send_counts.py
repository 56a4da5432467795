"""A send's counters are the sums of its slices' (with the messages waiting for a retry), and the queue
depth is what running and paused sends have planned and not finished."""

from __future__ import annotations

import uuid
from datetime import timedelta

from kernel.delivery.registry import WorkerRegistry, new_worker_id
from kernel.delivery.send_counts import SendCounts, send_counts
from tests.bulk_rows import sliced, stored_send, waiting
from tests.conftest import ProjectKey


async def test_a_sends_counts_add_its_slices_up(db, project: ProjectKey) -> None:
    send_id = await stored_send(db, project, "running")
    await sliced(db, project, send_id, planned=10, sent=6, failed=1, suppressed=1, retries=3, duplicates=2)
    await sliced(db, project, send_id, planned=5, sent=2, expired=1, cancelled=1, not_consented=4)
    await waiting(db, project, send_id, uuid.uuid4(), "later@example.com")
    idle = await stored_send(db, project)

    counts = await send_counts(db, project.project_id, [send_id, idle])

    assert counts == {
        send_id: SendCounts(
            planned=15,
            sent=8,
            failed=1,
            suppressed=1,
            expired=1,
            cancelled=1,
            retries=3,
            duplicates=2,
            not_consented=4,
            waiting=1,
        ),
        idle: SendCounts(),
    }
    assert counts[send_id].pending == 3


async def test_queue_depth_counts_running_and_paused_sends(db, project: ProjectKey) -> None:
    registry = WorkerRegistry(db, new_worker_id(), timedelta(seconds=60))
    before = await registry.pending_messages()
    for state, planned in (("running", 10), ("paused", 5), ("cancelled", 100), ("completed", 1000)):
        await sliced(db, project, await stored_send(db, project, state), planned=planned, sent=1)

    assert await registry.pending_messages() - before == 9 + 4
