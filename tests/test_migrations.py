"""Migrations: applied once, recorded, refused when an applied file was edited; a database migrated by a
newer Herald refused by an older one."""

from __future__ import annotations

import asyncpg
import pytest

from kernel.storage import migrations
from kernel.storage.migrations import Migration, apply_migrations, load_migrations


async def test_migrations_are_recorded_and_idempotent(server, database_url: str) -> None:
    assert await apply_migrations(database_url) == []
    conn = await asyncpg.connect(database_url)
    try:
        versions = [
            r["version"] for r in await conn.fetch("SELECT version FROM herald_migrations ORDER BY 1")
        ]
    finally:
        await conn.close()
    assert versions == [m.version for m in load_migrations()]


async def test_edited_migration_stops_the_start(server, database_url: str, monkeypatch) -> None:
    edited = [Migration(m.version, m.name, m.sql + "\n-- edited") for m in load_migrations()]
    monkeypatch.setattr(migrations, "load_migrations", lambda: edited)
    with pytest.raises(RuntimeError, match="changed after it was applied"):
        await apply_migrations(database_url)


async def test_a_database_migrated_by_a_newer_herald_stops_an_older_ones_start(
    server, database_url: str, monkeypatch
) -> None:
    *older, latest = load_migrations()
    monkeypatch.setattr(migrations, "load_migrations", lambda: older)
    with pytest.raises(RuntimeError, match=f"has migration {latest.version:04d} applied, which this Herald"):
        await apply_migrations(database_url)
