"""The embedded PostgreSQL (kernel/storage/embedded.py), each on a server of its own in a scratch folder:
configured by Herald at every start, stopped by the last Herald process using it even after one was
killed, and started again when it dies under a running process."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

import asyncpg
import psutil
import pytest

from kernel.settings import Settings
from kernel.storage import open_database
from kernel.storage.embedded import shared_buffers_mb, start_embedded_postgres

_SIZES = """SELECT name, pg_size_bytes(current_setting(name)) / 1048576
            FROM unnest(ARRAY['shared_buffers', 'max_wal_size']) AS name"""
#: How long a test waits for the server to come back before it fails (never a speed assertion).
PATIENCE_SECONDS = 60.0
# A Herald process holding the database of the data folder argv[1] until its stdin closes.
_HERALD_PROCESS = """
import asyncio, sys
from pathlib import Path
from kernel.settings import Settings
from kernel.storage import open_database

async def main():
    database = await open_database(Settings(data_dir=Path(sys.argv[1]), database_url=""))
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.read)
    await database.close()

asyncio.run(main())
"""


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])


def server_processes(data_dir: Path) -> list[int]:
    """The running processes of the server in ``data_dir``: a server's processes all work in its folder."""
    folder = str((data_dir / "postgres").resolve())
    return [
        process.pid
        for process in psutil.process_iter(["cwd", "status"])
        if process.info["cwd"] == folder and process.info["status"] != psutil.STATUS_ZOMBIE
    ]


async def _settings_of_a_fresh_start(data_dir: Path) -> dict[str, int]:
    embedded = start_embedded_postgres(data_dir)
    try:
        conn = await asyncpg.connect(embedded.dsn)
        try:
            return dict(await conn.fetch(_SIZES))
        finally:
            await conn.close()
    finally:
        embedded.release()


async def test_the_embedded_server_runs_with_herald_settings_at_every_start(tmp_path: Path) -> None:
    expected = {"shared_buffers": shared_buffers_mb(), "max_wal_size": 4096}
    assert 128 <= shared_buffers_mb() <= 2048
    assert await _settings_of_a_fresh_start(tmp_path) == expected
    (tmp_path / "postgres" / "herald.conf").write_text("shared_buffers = 1MB\n")
    assert await _settings_of_a_fresh_start(tmp_path) == expected


async def _herald_process(data_dir: Path) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _HERALD_PROCESS,
        str(data_dir),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert await asyncio.wait_for(process.stdout.readline(), PATIENCE_SECONDS) == b"ready\n"
    return process


async def test_the_last_process_stops_the_server_even_after_one_was_killed(tmp_path: Path) -> None:
    killed = await _herald_process(tmp_path)
    server = postmaster_pid(tmp_path)
    killed.kill()
    await killed.wait()
    serve, worker = await _herald_process(tmp_path), await _herald_process(tmp_path)
    assert postmaster_pid(tmp_path) == server  # still running, and taken over
    workers = server_processes(tmp_path)
    assert server in workers and len(workers) > 1

    for process in (serve, worker):
        assert process.stdin is not None
        process.stdin.close()
        assert await process.wait() == 0
        if process is serve:
            assert server_processes(tmp_path), "stopped while the worker still used it"

    assert server_processes(tmp_path) == []


def _logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "kernel.storage.embedded"]


async def test_a_server_that_dies_is_started_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="kernel.storage.embedded")
    database = await open_database(Settings(data_dir=tmp_path, database_url=""))
    try:
        assert await database.pool.fetchval("SELECT count(*) FROM projects") == 0
        dead = postmaster_pid(tmp_path)
        os.kill(dead, signal.SIGKILL)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PATIENCE_SECONDS
        # A backend of the dead server may still answer for a moment: the call must work on the new one.
        while not any("running again" in message for message in _logged(caplog)):
            assert loop.time() < deadline, "the server was not started again"
            await asyncio.sleep(0.2)
        assert postmaster_pid(tmp_path) != dead
        assert await database.pool.fetchval("SELECT count(*) FROM projects") == 0
        died, restarted = _logged(caplog)
        assert died.endswith(f"died (pid {dead}); starting it again")
        assert restarted.endswith(f"running again (pid {postmaster_pid(tmp_path)})")
    finally:
        await database.close()
    assert server_processes(tmp_path) == []
