"""An embedded PostgreSQL for machines with no database configured (pgserver ships the binaries).

It listens only on a unix socket inside the data folder, so nothing is exposed on the network. It stops
when the last Herald process using it exits (pgserver counts them), so nothing is left running behind
``make run``; the next start takes a fraction of a second.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or reuse) the PostgreSQL in ``data_dir/postgres`` and return a DSN for it."""
    import pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir.resolve() / "postgres", cleanup_mode="stop")
    dsn = server.get_uri()
    log.info("embedded PostgreSQL ready in %s", data_dir / "postgres")
    return dsn
