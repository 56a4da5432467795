"""Filling a send's outbox: its audience streamed from the profiles into ``messages`` rows, in SQL.

The audience never passes through Python: each chunk (``outbox_chunk_size`` profiles, in profile id order,
from the project or from the send's list) is one ``INSERT ... SELECT`` that picks each profile's
addresses for the send's channels (every device for push, the most recent address for email and SMS),
applies the domain filter and consent, dedups, checks the suppression list and writes the rows, each with
its message id fixed there and then. A chunk, its counters and the cursor commit together, so a filler
that dies is replaced (its lease lapses) and goes on from the last chunk.

Dedup happens here, in the database, rather than in sender_ext's Deduper, which would have to keep every
address of a million-recipient send in one process's memory. A chunk keeps, of the rows that share a
(channel, folded address), the first in profile id order, and skips an address that an earlier chunk
planned (a probe of the unique index ``messages_send_address``), so the profile with the lowest id keeps
a shared address, and the rows are inserted without ``ON CONFLICT`` (whose speculative insertion cost a
WAL record and a lock per message). One filler at a time commits a send's chunks (a chunk commits only
while its filler holds the send's lease, checked under the send row's lock), so a chunk's probe sees every
row planned before it; should a filler whose lease lapsed write the same rows as the holder, the unique
index stops it, across workers, kernels and crashes alike.
Addresses on the suppression list become rows with status ``suppressed`` (so a send's counts show
them); profiles without consent are skipped and counted (``not_consented``), so a profile that opted
out never keeps the address from a co-owner who did not.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from kernel.channels import Reach
from kernel.delivery.send_definition import SendDefinition
from kernel.delivery.send_state import complete_if_done
from kernel.delivery.suppressions import blocking_reason_sql, suppression_joins_sql
from kernel.profiles.identifier_keys import folded, identifier_hash_sql, spelt_hash_sql

log = logging.getLogger(__name__)

_NIL = uuid.UUID(int=0)
FILL_WORK_MEM = "64MB"
# A chunk's addresses and its last profile (NULL: the audience ends within this chunk). Every profile:
# one range of the addresses' primary key, read in order. A list: the listed profiles, one lookup each.
_SOURCES = {
    "all": """
bounds AS (
    SELECT (SELECT profile_id FROM profiles WHERE project_id = $1 AND profile_id > $3
            ORDER BY profile_id OFFSET $4 - 1 LIMIT 1) AS last_profile
),
addresses AS (
    SELECT a.* FROM profile_addresses a
    WHERE a.project_id = $1 AND a.profile_id > $3
      AND a.profile_id <= coalesce((SELECT last_profile FROM bounds), 'ffffffff-ffff-ffff-ffff-ffffffffffff')
)""",
    "list": """
listed AS (
    SELECT profile_id FROM send_audience WHERE project_id = $1 AND send_id = $2 AND profile_id > $3
    ORDER BY profile_id LIMIT $4
),
bounds AS (
    SELECT CASE WHEN (SELECT count(*) FROM listed) = $4
                THEN (SELECT profile_id FROM listed ORDER BY profile_id DESC LIMIT 1) END AS last_profile
),
addresses AS (
    SELECT a.* FROM listed
    CROSS JOIN LATERAL (SELECT * FROM profile_addresses a
                        WHERE a.project_id = $1 AND a.profile_id = listed.profile_id) a
)""",
}
_DOMAIN = "substring(t.value from '[^@]*$')"
_HASH = identifier_hash_sql("u.kind", "u.value")
_SPELT = spelt_hash_sql("u.kind", "u.value")
# Hashing every address costs more than the rest of its row: it is done only if the project has a list.
_ANY_SUPPRESSED = """(SELECT EXISTS (SELECT FROM delivery_suppressions WHERE project_id = $1)
                          OR EXISTS (SELECT FROM suppressed_identifiers WHERE project_id = $1))"""
_FILL = f"""
WITH {{source}},
targets AS (
    SELECT a.profile_id, c.channel, a.kind, a.value, c.consent, c.has_domain,
           c.all_devices OR row_number() OVER (
               PARTITION BY a.profile_id, c.channel ORDER BY a.updated_at DESC, a.value) = 1 AS chosen
    FROM addresses a
    JOIN unnest($5::text[], $6::text[], $7::text[], $8::bool[], $15::bool[])
        AS c(channel, kind, consent, all_devices, has_domain)
        ON c.kind = a.kind
),
reached AS (
    SELECT t.*, s.status AS consent_status FROM targets t
    LEFT JOIN profile_subscriptions s ON s.project_id = $1 AND s.profile_id = t.profile_id
        AND s.channel = t.consent AND s.purpose = $9 AND s.topic = ''
    WHERE t.chosen AND (NOT t.has_domain OR (
        (cardinality($11::text[]) = 0 OR {_DOMAIN} = any($11::text[]))
        AND (cardinality($12::text[]) = 0 OR {_DOMAIN} <> all($12::text[]))))
),
eligible AS (
    SELECT * FROM reached
    WHERE CASE WHEN $10 THEN consent_status = 'opted_in' ELSE consent_status IS DISTINCT FROM 'opted_out' END
),
fresh AS (
    SELECT e.profile_id, e.channel, e.kind, e.value FROM eligible e
    WHERE NOT EXISTS (
              SELECT FROM eligible o
              WHERE o.channel = e.channel AND {folded("o.value")} = {folded("e.value")}
                AND (o.profile_id, o.value) < (e.profile_id, e.value))
      AND NOT EXISTS (
              SELECT FROM messages m
              WHERE m.send_id = $2 AND m.channel = e.channel AND {folded("m.address")} = {folded("e.value")}
              OFFSET 0)
),
numbered AS (
    SELECT u.profile_id, u.channel, u.kind, u.value,
           $13 + row_number() OVER (ORDER BY u.profile_id, u.channel, u.value) AS seq,
           CASE WHEN {_ANY_SUPPRESSED} THEN {_HASH} END AS hash,
           CASE WHEN {_ANY_SUPPRESSED} THEN {_SPELT} END AS spelt
    FROM fresh u JOIN projects p ON p.project_id = $1
),
judged AS (
    SELECT u.*, {blocking_reason_sql("u", "$14")} AS blocked
    FROM numbered u
    {suppression_joins_sql("u", "$14")}
),
inserted AS (
    INSERT INTO messages (project_id, message_id, send_id, profile_id, channel, address, status,
                          failure_reason, seq)
    SELECT $1, bulk_message_id($2, u.seq), $2, u.profile_id, u.channel, u.value,
           CASE WHEN u.blocked IS NULL THEN 'planned' ELSE 'suppressed' END, coalesce(u.blocked, ''), u.seq
    FROM judged u
    ORDER BY u.seq
    RETURNING status
)
SELECT b.last_profile, r.rows - e.rows AS not_consented, e.rows - i.rows AS duplicates,
       i.rows AS inserted, i.suppressed
FROM bounds b,
     (SELECT count(*) AS rows FROM reached) r,
     (SELECT count(*) AS rows FROM eligible) e,
     (SELECT count(*) AS rows, count(*) FILTER (WHERE status = 'suppressed') AS suppressed FROM inserted) i
"""


class _LeaseLost(Exception):
    """Another filler took the send over: this chunk is rolled back."""


@dataclass(frozen=True, slots=True)
class FillJob:
    """A send whose outbox this filler holds the lease to fill."""

    project_id: uuid.UUID
    send_id: uuid.UUID
    audience: str
    definition: bytes


class OutboxFiller:
    def __init__(self, pool: asyncpg.Pool, owner: str, chunk_size: int, lease: timedelta) -> None:
        self._pool = pool
        self._owner = owner
        self._chunk_size = chunk_size
        self._lease = lease

    async def take(self) -> FillJob | None:
        """Lease the oldest send whose outbox is not full and that no live filler holds."""
        row = await self._pool.fetchrow(
            """UPDATE sends SET plan_owner = $1, plan_until = now() + $2::interval
               WHERE (project_id, send_id) = (
                   SELECT project_id, send_id FROM sends
                   WHERE state IN ('running', 'paused') AND planned_at IS NULL
                     AND (plan_until IS NULL OR plan_until < now() OR plan_owner = $1)
                   ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
               RETURNING project_id, send_id, audience, definition""",
            self._owner,
            self._lease,
        )
        return None if row is None else FillJob(**row)

    async def fill_chunk(self, job: FillJob, definition: SendDefinition) -> bool:
        """Add the next chunk of the audience; True when the outbox is full (or the job is no longer ours).

        The send row is locked only at the end, to add the counts: holding it during the insert would stall
        every worker recording outcomes of this send. A cancellation that committed meanwhile is seen then,
        and the chunk's rows are cancelled with it; a filler that lost its lease rolls its chunk back.
        """
        try:
            return await self._fill_chunk(job, definition)
        except _LeaseLost:
            return True
        except asyncpg.UniqueViolationError:
            # Another filler wrote the same rows at the same time: this one's lease had lapsed, and the
            # unique index on (send, channel, folded address) stopped it; the holder goes on.
            log.warning("send %s: outbox chunk written by another filler; leaving it", job.send_id)
            return True

    async def _fill_chunk(self, job: FillJob, definition: SendDefinition) -> bool:
        specs = definition.channels
        async with self._pool.acquire() as conn, conn.transaction():
            # The chunk's sorts (newest address per profile, positions) fit in memory instead of spilling.
            await conn.execute(f"SET LOCAL work_mem = '{FILL_WORK_MEM}'")
            # The filler need not wait for its chunk's WAL to reach the disk: a crash before it does loses
            # the whole chunk with its cursor, and no message of it can have gone out, since a worker's
            # claim commits synchronously, which flushes the WAL up to it, this chunk included.
            await conn.execute("SET LOCAL synchronous_commit = off")
            send = await conn.fetchrow(
                """SELECT state, plan_owner, plan_cursor, next_seq, planned_at FROM sends
                   WHERE project_id = $1 AND send_id = $2""",
                job.project_id,
                job.send_id,
            )
            if send is None or send["state"] in ("cancelled", "completed") or send["planned_at"]:
                return True
            if send["plan_owner"] != self._owner:
                return True
            counts = await conn.fetchrow(
                _FILL.format(source=_SOURCES[job.audience]),
                job.project_id,
                job.send_id,
                send["plan_cursor"] or _NIL,
                self._chunk_size,
                [spec.name for spec in specs],
                [kind.name for kind in definition.kinds],
                [spec.consent_scope for spec in specs],
                [kind.reach is Reach.ALL for kind in definition.kinds],
                definition.purpose,
                definition.require_opt_in,
                list(definition.include_domains),
                list(definition.exclude_domains),
                send["next_seq"],
                definition.marketing,
                [kind.has_domain for kind in definition.kinds],
            )
            done = counts["last_profile"] is None
            state = await conn.fetchval(
                """UPDATE sends SET plan_cursor = coalesce($3, plan_cursor), next_seq = next_seq + $4,
                          total = total + $4, suppressed = suppressed + $5, duplicates = duplicates + $6,
                          not_consented = not_consented + $7, plan_until = now() + $8::interval,
                          planned_at = CASE WHEN $9 THEN clock_timestamp() END, updated_at = now()
                   WHERE project_id = $1 AND send_id = $2 AND plan_owner = $10 AND planned_at IS NULL
                   RETURNING state""",
                job.project_id,
                job.send_id,
                counts["last_profile"],
                counts["inserted"],
                counts["suppressed"],
                counts["duplicates"],
                counts["not_consented"],
                self._lease,
                done,
                self._owner,
            )
            if state is None:
                raise _LeaseLost
            if state == "cancelled":
                await conn.execute(
                    """WITH cancelled AS (
                           UPDATE messages SET status = 'cancelled', updated_at = now()
                           WHERE project_id = $1 AND send_id = $2 AND seq > $3 AND status = 'planned'
                           RETURNING 1)
                       UPDATE sends SET cancelled = cancelled + (SELECT count(*) FROM cancelled)
                       WHERE project_id = $1 AND send_id = $2""",
                    job.project_id,
                    job.send_id,
                    send["next_seq"],
                )
            if done:
                await conn.execute(
                    "DELETE FROM send_audience WHERE project_id = $1 AND send_id = $2",
                    job.project_id,
                    job.send_id,
                )
                await complete_if_done(conn, job.project_id, job.send_id)
        return done
