"""A send's counters are the sums of its slices', and the queue depth is what running and paused sends
have planned and not finished."""

from __future__ import annotations

from kernel.delivery.slices import COUNTERS, pending_messages, send_counts
from tests.bulk_rows import sliced, stored_send
from tests.conftest import ProjectKey


async def test_a_sends_counts_add_its_slices_up(db, project: ProjectKey) -> None:
    send_id = await stored_send(db, project, "running")
    await sliced(db, project, send_id, planned=10, sent=6, failed=1, suppressed=1, retries=3, duplicates=2)
    await sliced(db, project, send_id, planned=5, sent=2, expired=1, cancelled=1, not_consented=4)
    idle = await stored_send(db, project)

    counts = await send_counts(db, project.project_id, [send_id, idle])

    assert counts[send_id].counters == {
        "planned": 15,
        "sent": 8,
        "failed": 1,
        "suppressed": 1,
        "expired": 1,
        "cancelled": 1,
        "retries": 3,
        "duplicates": 2,
        "not_consented": 4,
    }
    assert counts[send_id].pending == 3
    assert counts[idle].counters == dict.fromkeys(COUNTERS, 0)


async def test_queue_depth_counts_running_and_paused_sends(db, project: ProjectKey) -> None:
    before = await pending_messages(db)
    for state, planned in (("running", 10), ("paused", 5), ("cancelled", 100), ("completed", 1000)):
        await sliced(db, project, await stored_send(db, project, state), planned=planned, sent=1)

    assert await pending_messages(db) - before == 9 + 4
