"""Migration 0011 on what was stored before it: suppression entries hashed over an address as spelt keep
blocking what they blocked (and every spelling, where a profile still holds theirs), and idempotency
records stored without their recipient get it from the messages they sent, so that erasure finds them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from herald.v1 import messages_pb2
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
async def before_keys(scratch_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a database migrated up to migration 0011, not included, with one project."""
    before = [m for m in load_migrations() if m.version < KEYED_FROM]
    monkeypatch.setattr(migrations, "load_migrations", lambda: before)
    await apply_migrations(scratch_url)
    monkeypatch.undo()
    conn = await asyncpg.connect(scratch_url)
    try:
        await conn.execute("INSERT INTO projects (project_id, name) VALUES ($1, 'p')", uuid.uuid4())
        yield conn
    finally:
        await conn.close()


async def migrate(scratch_url: str) -> None:
    """Apply what is left, 0011 included."""
    assert KEYED_FROM in await apply_migrations(scratch_url)


async def test_suppression_entries_keep_blocking(before_keys: asyncpg.Connection, scratch_url: str) -> None:
    conn = before_keys
    project_id = await conn.fetchval("SELECT project_id FROM projects")
    profile_id = uuid.uuid4()
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

    await migrate(scratch_url)

    spellings = [
        "Ann.Bounced@example.com",
        "ann.bounced@example.com",
        "ANN.BOUNCED@example.com",
        "Gone.Person@example.com",
        "gone.person@example.com",
    ]
    blocked = await blocked_addresses(conn, project_id, [("email", s) for s in spellings], marketing=False)
    # The bounce now blocks every spelling. The erased person's hash cannot be recomputed from anything
    # stored: it blocks the spelling it was taken from, as it always did.
    assert blocked == {
        ("email", "Ann.Bounced@example.com"): "bounced",
        ("email", "ann.bounced@example.com"): "bounced",
        ("email", "ANN.BOUNCED@example.com"): "bounced",
        ("email", "Gone.Person@example.com"): "erased",
    }


async def test_idempotency_records_name_their_recipient(
    before_keys: asyncpg.Connection, scratch_url: str
) -> None:
    conn = before_keys
    project_id = await conn.fetchval("SELECT project_id FROM projects")
    profile_id, to_profile, to_address = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await conn.executemany(
        """INSERT INTO messages (project_id, message_id, profile_id, channel, address, status)
           VALUES ($1, $2, $3, 'email.sparkpost', $4, 'sent')""",
        [
            (project_id, to_profile, profile_id, "ann@example.com"),
            (project_id, to_address, None, "Bob@example.com"),
        ],
    )

    def answer(*message_ids: uuid.UUID) -> bytes:
        deliveries = [
            messages_pb2.Delivery(
                channel="email.sparkpost",
                message_id=str(m),
                status=messages_pb2.DELIVERY_STATUS_ACCEPTED,
                provider_id="7451234567890",
            )
            for m in message_ids
        ]
        if not deliveries:
            deliveries = [
                messages_pb2.Delivery(channel="sms", status=messages_pb2.DELIVERY_STATUS_NO_ADDRESS)
            ]
        return messages_pb2.SendTransactionalResponse(deliveries=deliveries).SerializeToString()

    await conn.executemany(
        "INSERT INTO transactional_requests (project_id, idempotency_key, response) VALUES ($1, $2, $3)",
        [
            (project_id, "to-profile", answer(to_profile)),
            (project_id, "to-address", answer(to_address)),
            (project_id, "sent-nothing", answer()),
            (project_id, "still-sending", None),
        ],
    )

    await migrate(scratch_url)

    rows = await conn.fetch("SELECT idempotency_key, profile_id, address FROM transactional_requests")
    assert {r["idempotency_key"]: (r["profile_id"], r["address"]) for r in rows} == {
        "to-profile": (profile_id, None),
        "to-address": (None, "Bob@example.com"),
        "sent-nothing": (None, None),
        "still-sending": (None, None),
    }
