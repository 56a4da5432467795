"""Versioned SQL migrations, applied at start by whichever kernel gets there first.

Files are ``migrations/NNNN_name.sql``, applied in order, each in its own transaction, and recorded in
``herald_migrations`` with a checksum: an edited, already-applied migration stops the start instead of
silently diverging. An advisory lock makes concurrent starts of several kernels safe. A database that a
newer Herald migrated stops the start of an older one: its writers would not keep what the newer schema
relies on (e.g. the shared-address marks of migration 0049), so a deployment runs one version at a time.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

log = logging.getLogger(__name__)

_LOCK_KEY = 0x6865_7261_6C64  # "herald": one advisory lock id for every kernel of a deployment
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations() -> list[Migration]:
    found = []
    for entry in resources.files("kernel.storage").joinpath("migrations").iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if len({m.version for m in found}) != len(found):
        raise RuntimeError("two migrations share a version number")
    return found


async def apply_migrations(dsn: str) -> list[int]:
    """Apply what is pending; return the versions applied by this call."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        try:
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS herald_migrations (
                       version integer PRIMARY KEY,
                       name text NOT NULL,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            applied = {
                r["version"]: r["checksum"] for r in await conn.fetch("SELECT * FROM herald_migrations")
            }
            known = load_migrations()
            newer = sorted(set(applied) - {migration.version for migration in known})
            if newer:
                raise RuntimeError(
                    f"the database has migration {newer[-1]:04d} applied, which this Herald does not have: "
                    "a newer Herald upgraded it; run that version (stop every older kernel and worker "
                    "before the first newer one starts)"
                )
            done = []
            for migration in known:
                if migration.version in applied:
                    if applied[migration.version] != migration.checksum:
                        raise RuntimeError(
                            f"migration {migration.version:04d}_{migration.name} changed after it was applied"
                        )
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO herald_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                        migration.version,
                        migration.name,
                        migration.checksum,
                    )
                log.info("applied migration %04d_%s", migration.version, migration.name)
                done.append(migration.version)
            return done
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    finally:
        await conn.close()
