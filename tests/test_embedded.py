"""The embedded PostgreSQL is configured by Herald (kernel/storage/embedded.py), not left at the stock
settings: checked on a server of its own in a scratch folder, started twice."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from pgserver.postgres_server import PostgresServer

from kernel.storage.embedded import shared_buffers_mb, start_embedded_postgres

_SIZES = """SELECT name, pg_size_bytes(current_setting(name)) / 1048576
            FROM unnest(ARRAY['shared_buffers', 'max_wal_size']) AS name"""


async def _settings_of_a_fresh_start(data_dir: Path) -> dict[str, int]:
    dsn = start_embedded_postgres(data_dir)
    try:
        conn = await asyncpg.connect(dsn)
        try:
            return dict(await conn.fetch(_SIZES))
        finally:
            await conn.close()
    finally:
        PostgresServer._instances[(data_dir / "postgres").resolve()].cleanup()


async def test_the_embedded_server_runs_with_herald_settings_at_every_start(tmp_path: Path) -> None:
    expected = {"shared_buffers": shared_buffers_mb(), "max_wal_size": 4096}
    assert 128 <= shared_buffers_mb() <= 2048
    assert await _settings_of_a_fresh_start(tmp_path) == expected
    (tmp_path / "postgres" / "herald.conf").write_text("shared_buffers = 1MB\n")
    assert await _settings_of_a_fresh_start(tmp_path) == expected
