"""What the send engine stores about a bulk send, written directly: a send as CreateSend stores it, and the
rows its workers write for each message (the log of an attempt, a message waiting for a retry, the claim
of an address several profiles share), with the message id the engine derives from send, channel and
folded address."""

from __future__ import annotations

import uuid

import asyncpg

from kernel.delivery.send_ids import bulk_message_ids, new_send_id
from kernel.delivery.send_spec import VERSION
from tests.conftest import SPARKPOST, ProjectKey


async def stored_send(db: asyncpg.Pool, project: ProjectKey, state: str = "paused") -> uuid.UUID:
    """A SparkPost send no worker takes up, whatever its state: its spec holds only what these tests read
    (a worker finds it unreadable, and leaves it)."""
    return await db.fetchval(
        """INSERT INTO sends (project_id, send_id, purpose, channels, spec, state, audience)
           VALUES ($1, $2, 'transactional', $3, $4, $5, 'all') RETURNING send_id""",
        project.project_id,
        new_send_id(),
        [SPARKPOST],
        {"version": VERSION, "channels": [SPARKPOST], "templates": {}},
        state,
    )


async def sliced(
    db: asyncpg.Pool, project: ProjectKey, send_id: uuid.UUID, slice_no: int | None = None, **counters: int
) -> None:
    """A slice of the send (numbered ``slice_no``, by default the next), done by a worker, with these
    counters (the others 0)."""
    if slice_no is None:
        slice_no = await db.fetchval(
            "SELECT coalesce(max(slice_no) + 1, 0) FROM send_slices WHERE project_id = $1 AND send_id = $2",
            project.project_id,
            send_id,
        )
    names = ", ".join(counters)
    values = ", ".join(f"${i}" for i in range(4, 4 + len(counters)))
    await db.execute(
        f"""INSERT INTO send_slices (project_id, send_id, slice_no, lo, state, {names})
            VALUES ($1, $2, $3, '00000000-0000-0000-0000-000000000000', 'done', {values})""",
        project.project_id,
        send_id,
        slice_no,
        *counters.values(),
    )


async def _stored_message(
    db: asyncpg.Pool,
    insert: str,
    project: ProjectKey,
    send_id: uuid.UUID,
    profile_id: uuid.UUID,
    address: str,
) -> str:
    """Run ``insert`` ($1 project, $2 send, $3 channel, $4 address, $5 profile, $6 message id, which the
    engine derives from the send, channel and folded address); the message id."""
    [message_id] = bulk_message_ids(send_id, SPARKPOST, [address.lower()])
    await db.execute(insert, project.project_id, send_id, SPARKPOST, address, profile_id, message_id)
    return message_id


async def logged(
    db: asyncpg.Pool, project: ProjectKey, send_id: uuid.UUID, profile_id: uuid.UUID, address: str
) -> str:
    """The send's message to ``address`` for ``profile_id``, logged as accepted by SparkPost; its id."""
    insert = """INSERT INTO message_log (project_id, message_id, send_id, profile_id, channel, address,
                                         outcome, provider_id, attempts)
                VALUES ($1, $6, $2, $5, $3, $4, 'sent', 'tx-1', 1)"""
    return await _stored_message(db, insert, project, send_id, profile_id, address)


async def waiting(
    db: asyncpg.Pool, project: ProjectKey, send_id: uuid.UUID, profile_id: uuid.UUID, address: str
) -> str:
    """The send's message to ``address`` for ``profile_id``, waiting for a retry; its id."""
    insert = """INSERT INTO message_retries (project_id, send_id, message_id, slice_no, profile_id, channel,
                                             address, attempts, first_attempt_at, due_at, detail)
                VALUES ($1, $2, $6, 0, $5, $3, $4, 1, now(), now() + interval '1 hour',
                        '429 Too Many Requests')"""
    return await _stored_message(db, insert, project, send_id, profile_id, address)


async def claimed(
    db: asyncpg.Pool, project: ProjectKey, send_id: uuid.UUID, profile_id: uuid.UUID, address: str
) -> None:
    """``address``, which several profiles hold, claimed for ``profile_id`` in the send."""
    await db.execute(
        """INSERT INTO send_address_claims (project_id, send_id, channel, address_key, profile_id)
           VALUES ($1, $2, $3, lower($4 COLLATE "C"), $5)""",
        project.project_id,
        send_id,
        SPARKPOST,
        address,
        profile_id,
    )
