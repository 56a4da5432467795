"""An embedded PostgreSQL for machines with no database configured (pgserver ships the binaries).

It listens only on a unix socket inside the data folder, so nothing is exposed on the network. It stops
when the last Herald process using it exits (pgserver counts them), so nothing is left running behind
``make run``; the next start takes a fraction of a second.

PostgreSQL's stock configuration is sized for a machine of twenty years ago (128 MB of shared buffers,
a checkpoint every gigabyte of WAL). Herald writes :func:`tuning` into the data folder and includes it
from ``postgresql.conf`` before every start, so the embedded server is configured the way an operator
would configure an external one for bulk sends: a million-message outbox and its indexes stay in shared
buffers, and no checkpoint (with its burst of full-page images in the WAL) falls in the middle of a
campaign. Changes apply when the server starts, i.e. when no Herald process was using it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

_INCLUDE = "include_if_exists = 'herald.conf'"
_GIB = 1 << 30


def shared_buffers_mb() -> int:
    """A quarter of the machine's memory (PostgreSQL's own advice), between 128 MB and 2 GB."""
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return max(128, min(2 * _GIB, memory // 4) >> 20)


def tuning() -> str:
    """The settings Herald gives its embedded PostgreSQL (``herald.conf`` in the data folder)."""
    return "\n".join(
        (
            "# Written by Herald at every start (kernel/storage/embedded.py); edits here are overwritten.",
            f"shared_buffers = {shared_buffers_mb()}MB",
            "max_wal_size = 4GB",
            "checkpoint_timeout = 15min",
            "checkpoint_completion_target = 0.9",
            "",
        )
    )


def _configure(pgdata: Path) -> None:
    (pgdata / "herald.conf").write_text(tuning())
    conf = pgdata / "postgresql.conf"
    text = conf.read_text()
    if _INCLUDE not in text:
        conf.write_text(f"{text.rstrip()}\n{_INCLUDE}\n")


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or reuse) the PostgreSQL in ``data_dir/postgres`` and return a DSN for it."""
    from pgserver.postgres_server import PostgresServer

    class TunedServer(PostgresServer):
        """pgserver's server, with Herald's settings written between initdb and the start."""

        def ensure_pgdata_inited(self) -> None:
            super().ensure_pgdata_inited()
            _configure(self.pgdata)

    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir.resolve() / "postgres"
    pgdata.mkdir(exist_ok=True)
    server = PostgresServer._instances.get(pgdata) or TunedServer(pgdata, cleanup_mode="stop")
    dsn = server.get_uri()
    log.info("embedded PostgreSQL ready in %s", data_dir / "postgres")
    return dsn
