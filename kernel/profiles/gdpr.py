"""The right to erasure: delete a person and every row that names them, optionally keeping suppression hashes.

The rows are those of the profile tables, its events, and its delivery rows (:mod:`kernel.profiles.delivered`:
the bulk messages logged, waiting or claiming a shared address for it or for a profile merged into it, and
the transactional messages and SendTransactional idempotency records sent to it, to a profile merged into
it, or to one of its addresses in any case). A new table that names a profile must be added here, and to
:mod:`kernel.profiles.export`; ``tests/test_gdpr.py`` searches every text, JSON and binary column of the
schema for the person's identifiers after an erasure, so a forgotten one fails there.

One function, :func:`erase_profiles`, does the deleting for both the EraseProfile RPC and the inactivity
purge, so that the two can never disagree about what "everything" is. Events carry no foreign key (it
would slow ingestion), so they are deleted explicitly; the other tables are deleted explicitly too rather
than left to ``ON DELETE CASCADE``, so that erasure does not silently depend on how a later migration
declares its keys.

"Erase and suppress" stores, per identifier, ``sha256(salt || kind || ':' || key)`` with the project's
secret salt, the key being an address folded to one case (:mod:`kernel.profiles.identifier_keys`): exactly
what :func:`kernel.profiles.refs.suppressed_identities` and the delivery suppression checks look for, so the
person's custom id, anonymous ids (including those brought by merges) and addresses, however spelt, can
never re-create a profile nor be sent to, while nothing readable about them is kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from kernel.outhooks import EventType, OutgoingEvent, forget_profile_events, publish, subscribed
from kernel.profiles.delivered import bulk_rows_sql, transactional_messages_sql, transactional_requests_sql
from kernel.profiles.identifier_keys import identifier_hash_sql
from kernel.profiles.refs import Ref, resolve_one

# Every identifier of the profiles: identities (which include the ids merged in), addresses, and the
# identities recorded by merges (an alias may have been moved away since; suppressing it still only
# prevents re-creation, never affects the profile that now holds it).
_SUPPRESS = f"""
INSERT INTO suppressed_identifiers (project_id, identifier_sha256)
SELECT $1, {identifier_hash_sql("i.kind", "i.value")}
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

_IDS = "$2::uuid[]"
# Children first, the profile row last. The delivery rows go first, while the merge records and the
# addresses that find them (kernel.profiles.delivered) are still there. Merge records name the profile as
# target or (should one survive a partial merge) as source. A bulk message still waiting for a retry
# will not be sent: it counts as cancelled in its send and its channel, whose figures then still add up.
# No foreign key cascades to the identities, addresses and consent (migration 0029): only these deletes
# remove them.
_DELETE_OWNED = (
    f"""WITH gone AS (
            DELETE FROM message_retries WHERE project_id = $1 AND {bulk_rows_sql(_IDS)}
            RETURNING send_id, slice_no, channel),
        counted AS (SELECT send_id, slice_no, channel, count(*) AS messages FROM gone
                    GROUP BY send_id, slice_no, channel),
        by_channel AS (
            INSERT INTO send_channel_outcomes (project_id, send_id, slice_no, channel, hour, cancelled)
            SELECT $1, send_id, slice_no, channel, date_trunc('hour', now(), 'UTC'), messages FROM counted
            ORDER BY send_id, slice_no, channel
            ON CONFLICT (project_id, send_id, slice_no, channel, hour)
            DO UPDATE SET cancelled = send_channel_outcomes.cancelled + excluded.cancelled)
        UPDATE send_slices s SET cancelled = s.cancelled + g.messages
        FROM (SELECT send_id, slice_no, sum(messages) AS messages FROM counted
              GROUP BY send_id, slice_no) AS g
        WHERE s.project_id = $1 AND s.send_id = g.send_id AND s.slice_no = g.slice_no""",
    # The marks of the person's messages opened or clicked (their ids derive from the address), found
    # through the log before it goes.
    f"""DELETE FROM send_feedback_messages
        WHERE project_id = $1 AND (send_id, message_id) IN (
            SELECT send_id, message_id FROM message_log WHERE project_id = $1 AND {bulk_rows_sql(_IDS)})""",
    *(
        f"DELETE FROM {table} WHERE project_id = $1 AND {bulk_rows_sql(_IDS)}"
        for table in ("message_log", "send_address_claims", "marketing_touches")
    ),
    f"DELETE FROM messages WHERE project_id = $1 AND {transactional_messages_sql(_IDS)}",
    f"DELETE FROM transactional_requests WHERE project_id = $1 AND ({transactional_requests_sql(_IDS)})",
    "DELETE FROM profile_merges WHERE project_id = $1"
    " AND (target_profile_id = any($2::uuid[]) OR source_profile_id = any($2::uuid[]))",
    "DELETE FROM send_audience WHERE project_id = $1 AND profile_id = any($2::uuid[])",
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
    await forget_profile_events(conn, project_id, ids)
    if EventType.PROFILE_ERASED in await subscribed(conn, project_id):
        await publish(conn, project_id, [_erased(profile_id, suppress) for profile_id in ids])
    return int(status.rsplit(" ", 1)[1])


def _erased(profile_id: uuid.UUID, suppressed: bool) -> OutgoingEvent:
    """Not tied to the profile (``profile_id`` None): erasing it again must not drop the news of it."""
    return OutgoingEvent(EventType.PROFILE_ERASED, {"profile_id": str(profile_id), "suppressed": suppressed})


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
