"""Migration 0026 on sends counted before it: a send of one channel gets its slices' figures as that
channel's, a send of several gets none (they cannot be told apart), and the opens and clicks counted
before stand for the messages opened and clicked."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from kernel.delivery.channel_counts import channel_counts, per_send
from kernel.delivery.send_feedback import feedback_tallies
from kernel.delivery.slices import COUNTERS, send_counts
from kernel.storage import migrations
from kernel.storage.migrations import apply_migrations, load_migrations

PER_CHANNEL_FROM = 26


@pytest.fixture
async def before(scratch_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a database migrated up to migration 0026, not included, with one project."""
    earlier = [m for m in load_migrations() if m.version < PER_CHANNEL_FROM]
    monkeypatch.setattr(migrations, "load_migrations", lambda: earlier)
    await apply_migrations(scratch_url)
    monkeypatch.undo()
    conn = await asyncpg.connect(scratch_url)
    try:
        await conn.execute("INSERT INTO projects (project_id, name) VALUES ($1, 'p')", uuid.uuid4())
        yield conn
    finally:
        await conn.close()


async def stored_send(conn: asyncpg.Connection, project_id: uuid.UUID, channels: list[str]) -> uuid.UUID:
    """A completed send of ``channels`` with two done slices, counted as the slices counted then."""
    send_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO sends (project_id, send_id, purpose, channels, spec, state, audience)
           VALUES ($1, $2, 'marketing', $3, '{"version": 1}', 'completed', 'all')""",
        project_id,
        send_id,
        channels,
    )
    for slice_no, (planned, sent, failed, duplicates) in enumerate(((10, 7, 1, 2), (5, 4, 0, 1))):
        await conn.execute(
            """INSERT INTO send_slices (project_id, send_id, slice_no, lo, state, planned, sent, failed,
                                        suppressed, retries, duplicates, done_at)
               VALUES ($1, $2, $3, '00000000-0000-0000-0000-000000000000', 'done', $4, $5, $6,
                       $4::int - $5::int - $6::int, 3, $7, now())""",
            project_id,
            send_id,
            slice_no,
            planned,
            sent,
            failed,
            duplicates,
        )
    return send_id


async def test_a_single_channel_send_keeps_its_figures_as_its_channels(
    before: asyncpg.Connection, scratch_url: str
) -> None:
    conn = before
    project_id = await conn.fetchval("SELECT project_id FROM projects")
    single = await stored_send(conn, project_id, ["email.sparkpost"])
    several = await stored_send(conn, project_id, ["email.sparkpost", "push.fcm"])
    await conn.execute(
        """INSERT INTO send_feedback (project_id, send_id, channel, kind, events)
           VALUES ($1, $2, 'email.sparkpost', 'opened', 6), ($1, $2, 'email.sparkpost', 'delivered', 9)""",
        project_id,
        single,
    )

    assert PER_CHANNEL_FROM in await apply_migrations(scratch_url)

    totals = (await send_counts(conn, project_id, [single]))[single].counters
    assert totals["sent"] == 11 and totals["duplicates"] == 3
    by_channel = per_send(await channel_counts(conn, project_id, [single, several], hourly=False))
    assert by_channel == {single: {"email.sparkpost": {name: totals[name] for name in COUNTERS}}}
    tallies = await feedback_tallies(conn, project_id, [single], hourly=False)
    assert {tally.kind: (tally.events, tally.messages) for tally in tallies} == {
        "opened": (6, 6),
        "delivered": (9, 0),
    }
