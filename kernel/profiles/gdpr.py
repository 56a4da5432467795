"""The right to erasure: delete a person and every row that names them, optionally keeping suppression hashes.

The rows are those of the profile tables, its events, and the messages sent to it (or to one of its
addresses). A new table that names a profile must be added here, and to :mod:`kernel.profiles.export`;
``tests/test_gdpr.py`` checks every table of the schema after an erasure, so a forgotten one fails there.

One function, :func:`erase_profiles`, does the deleting for both the EraseProfile RPC and the inactivity
purge, so that the two can never disagree about what "everything" is. Events carry no foreign key (it
would slow ingestion), so they are deleted explicitly; the other tables are deleted explicitly too rather
than left to ``ON DELETE CASCADE``, so that erasure does not silently depend on how a later migration
declares its keys.

"Erase and suppress" stores, per identifier, ``sha256(salt || kind || ':' || value)`` with the project's
secret salt: exactly what :func:`kernel.profiles.refs.suppressed_identities` checks, so the person's
custom id, anonymous ids (including those brought by merges) and addresses can never re-create a profile,
while nothing readable about them is kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from kernel.profiles.refs import Ref, resolve_one

# Every identifier of the profiles: identities (which include the ids merged in), addresses, and the
# identities recorded by merges (an alias may have been moved away since; suppressing it still only
# prevents re-creation, never affects the profile that now holds it).
_SUPPRESS = """
INSERT INTO suppressed_identifiers (project_id, identifier_sha256)
SELECT $1, sha256(p.suppression_salt || convert_to(i.kind || ':' || i.value, 'UTF8'))
FROM projects p
CROSS JOIN (
    SELECT kind, value FROM profile_identities WHERE project_id = $1 AND profile_id = any($2::uuid[])
    UNION
    SELECT kind, value FROM profile_addresses WHERE project_id = $1 AND profile_id = any($2::uuid[])
    UNION
    SELECT s->>'kind', s->>'value'
    FROM profile_merges m CROSS JOIN jsonb_array_elements(m.source_identities) AS s
    WHERE m.project_id = $1 AND m.target_profile_id = any($2::uuid[])
    UNION
    SELECT 'custom', custom_id FROM profiles
    WHERE project_id = $1 AND profile_id = any($2::uuid[]) AND custom_id IS NOT NULL
) AS i
WHERE p.project_id = $1 AND i.kind IS NOT NULL AND i.value IS NOT NULL
ON CONFLICT DO NOTHING
"""

# Children first, the profile row last. Merge records name the profile as target or (should one survive
# a partial merge) as source. Bulk messages are found through their sends (messages_send_profile);
# transactional ones name the profile by id, or only by address when they were sent to a raw address:
# those go too, while the addresses are still there to match them.
_DELETE_OWNED = (
    """DELETE FROM messages WHERE project_id = $1
       AND send_id = any(ARRAY(SELECT send_id FROM sends WHERE project_id = $1))
       AND profile_id = any($2::uuid[])""",
    """DELETE FROM messages WHERE project_id = $1 AND send_id IS NULL
       AND (profile_id = any($2::uuid[]) OR (profile_id IS NULL AND address = any(ARRAY(
           SELECT value FROM profile_addresses WHERE project_id = $1 AND profile_id = any($2::uuid[])))))""",
    "DELETE FROM profile_merges WHERE project_id = $1"
    " AND (target_profile_id = any($2::uuid[]) OR source_profile_id = any($2::uuid[]))",
    "DELETE FROM profile_subscriptions WHERE project_id = $1 AND profile_id = any($2::uuid[])",
    "DELETE FROM profile_addresses WHERE project_id = $1 AND profile_id = any($2::uuid[])",
    "DELETE FROM profile_identities WHERE project_id = $1 AND profile_id = any($2::uuid[])",
    "DELETE FROM profiles WHERE project_id = $1 AND profile_id = any($2::uuid[])",
)


@dataclass(frozen=True, slots=True)
class Erasure:
    profile_id: uuid.UUID
    events_erased: int
    suppressed: bool


async def erase_profiles(
    conn: asyncpg.Connection, project_id: uuid.UUID, profile_ids: Sequence[uuid.UUID], *, suppress: bool
) -> int:
    """Delete ``profile_ids`` and everything they own; returns the number of events deleted.

    Call inside a transaction, with the profile rows already locked (``FOR UPDATE``), so that no
    concurrent write slips in between the suppression hashes and the deletes.
    """
    if not profile_ids:
        return 0
    ids = list(profile_ids)
    if suppress:
        await conn.execute(_SUPPRESS, project_id, ids)
    status = await conn.execute(
        "DELETE FROM events WHERE project_id = $1 AND profile_id = any($2::uuid[])", project_id, ids
    )
    for statement in _DELETE_OWNED:
        await conn.execute(statement, project_id, ids)
    return int(status.rsplit(" ", 1)[1])


async def lock_profile(conn: asyncpg.Connection, project_id: uuid.UUID, ref: Ref) -> uuid.UUID:
    """Resolve ``ref`` and lock its profile row for the rest of the transaction. NOT_FOUND if none.

    A concurrent merge or erasure may remove the resolved profile before the lock is granted; resolving
    again then finds where the reference points now (the merge target) or nothing.
    """
    while True:
        profile_id, _ = await resolve_one(conn, project_id, ref, create=False)
        locked = await conn.fetchval(
            "SELECT true FROM profiles WHERE project_id = $1 AND profile_id = $2 FOR UPDATE",
            project_id,
            profile_id,
        )
        if locked:
            return profile_id


async def erase_profile(pool: asyncpg.Pool, project_id: uuid.UUID, ref: Ref, *, suppress: bool) -> Erasure:
    """Erase the profile ``ref`` points at, in one transaction. NOT_FOUND if there is none."""
    async with pool.acquire() as conn, conn.transaction():
        profile_id = await lock_profile(conn, project_id, ref)
        events = await erase_profiles(conn, project_id, [profile_id], suppress=suppress)
    return Erasure(profile_id, events, suppress)
