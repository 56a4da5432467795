"""Suppression entries stored before addresses were compared by key (migration 0011) keep blocking what
they blocked, and those whose spelling a profile still holds block every spelling from then on."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import asyncpg
import pytest

from kernel.delivery.suppressions import blocked_addresses
from kernel.storage import migrations
from kernel.storage.migrations import apply_migrations, load_migrations

KEYED_FROM = 11
# How entries were hashed until then: the address as stored, unfolded.
_STORE_AS_SPELT = """
INSERT INTO {table} (project_id, identifier_sha256{columns})
SELECT $1, sha256(p.suppression_salt || convert_to('email:' || $2, 'UTF8')){values}
FROM projects p WHERE p.project_id = $1"""


@pytest.fixture
async def scratch_url(database_url: str) -> AsyncIterator[str]:
    """An empty database of this test's own, in the session's server."""
    name = f"scratch_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield urlsplit(database_url)._replace(path=f"/{name}").geturl()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def test_entries_stored_before_keys_keep_blocking(
    scratch_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = [m for m in load_migrations() if m.version < KEYED_FROM]
    monkeypatch.setattr(migrations, "load_migrations", lambda: before)
    await apply_migrations(scratch_url)
    conn = await asyncpg.connect(scratch_url)
    try:
        project_id, profile_id = uuid.uuid4(), uuid.uuid4()
        await conn.execute("INSERT INTO projects (project_id, name) VALUES ($1, 'p')", project_id)
        await conn.execute(
            "INSERT INTO profiles (project_id, profile_id) VALUES ($1, $2)", project_id, profile_id
        )
        # A customer who bounced, still held by a profile; an erased person, held by no one.
        await conn.execute(
            """INSERT INTO profile_addresses (project_id, profile_id, kind, value)
               VALUES ($1, $2, 'email', $3)""",
            project_id,
            profile_id,
            "Ann.Bounced@example.com",
        )
        await conn.execute(
            _STORE_AS_SPELT.format(
                table="delivery_suppressions", columns=", reason, channel", values=", 'bounced', 'e'"
            ),
            project_id,
            "Ann.Bounced@example.com",
        )
        await conn.execute(
            _STORE_AS_SPELT.format(table="suppressed_identifiers", columns="", values=""),
            project_id,
            "Gone.Person@example.com",
        )

        monkeypatch.undo()
        assert KEYED_FROM in await apply_migrations(scratch_url)

        spellings = [
            "Ann.Bounced@example.com",
            "ann.bounced@example.com",
            "ANN.BOUNCED@example.com",
            "Gone.Person@example.com",
            "gone.person@example.com",
        ]
        blocked = await blocked_addresses(
            conn, project_id, [("email", s) for s in spellings], marketing=False
        )
    finally:
        await conn.close()
    # The bounce now blocks every spelling. The erased person's hash cannot be recomputed from anything
    # stored: it blocks the spelling it was taken from, as it always did.
    assert blocked == {
        ("email", "Ann.Bounced@example.com"): "bounced",
        ("email", "ann.bounced@example.com"): "bounced",
        ("email", "ANN.BOUNCED@example.com"): "bounced",
        ("email", "Gone.Person@example.com"): "erased",
    }
