"""A round of profile changes' addresses and consent, one statement per step for the whole round.

Each profile appears once in a round (:mod:`kernel.profiles.batch_upsert`), and so does each exclusive
address, so that the steps of one profile apply as if it were written alone: its removals, then its
exclusive addresses taken from any other profile, then its additions, then the per-kind limit.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Collection, Sequence
from datetime import datetime

import asyncpg

from kernel.errors import InvalidArgument
from kernel.profiles.addresses import ParsedAddress
from kernel.profiles.changes import ProfileChanges
from kernel.profiles.locks import lock_identifiers
from kernel.profiles.newest_addresses import SUPERSEDED_AMONG_ADDED, settle_newest
from kernel.profiles.shared_addresses import mark_added
from kernel.profiles.split_batch import SplitBatch
from kernel.storage.packed_text import packed, packed_json, unpacked


async def write_addresses(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    batch: Sequence[ProfileChanges],
    profile_ids: Sequence[uuid.UUID],
    max_addresses: int,
    created: Collection[uuid.UUID],
) -> None:
    """Raises :class:`SplitBatch` when a profile would exceed ``max_addresses`` addresses of a kind.

    ``created``: the profiles created by this round, which held no address before it."""
    # With each address its index in its request, to name the field of a profile over the limit.
    added = [
        (profile_id, index, address)
        for changes, profile_id in zip(batch, profile_ids, strict=True)
        for index, address in changes.add_addresses
    ]
    exclusive = [
        (profile_id, address.kind, address.value) for profile_id, _, address in added if address.exclusive
    ]
    removed = [
        (profile_id, address.kind, address.value)
        for changes, profile_id in zip(batch, profile_ids, strict=True)
        for address in changes.remove_addresses
    ]
    # The profiles whose addresses of a kind may have changed order other than by additions to profiles
    # that held none (kernel.profiles.newest_addresses).
    unsettled: set[uuid.UUID] = set()
    if removed:
        await conn.execute(
            """DELETE FROM profile_addresses a
               USING unnest($2::uuid[], $3::text[], $4::text[]) AS r(profile_id, kind, value)
               WHERE a.project_id = $1 AND a.profile_id = r.profile_id AND a.kind = r.kind
                 AND a.value = r.value""",
            project_id,
            *_columns(removed, 3),
        )
        unsettled.update(profile_id for profile_id, _, _ in removed)
    if exclusive:
        # A device token reaches one device, hence one person: it leaves whichever profile held it (its
        # lock serialises the transactions that add it).
        await lock_identifiers(conn, project_id, [(kind, value) for _, kind, value in exclusive])
        left = await conn.fetch(
            """DELETE FROM profile_addresses a
               USING unnest($2::uuid[], $3::text[], $4::text[]) AS x(profile_id, kind, value)
               WHERE a.project_id = $1 AND a.kind = x.kind AND a.value = x.value
                 AND a.profile_id <> x.profile_id
               RETURNING a.profile_id""",
            project_id,
            *_columns(exclusive, 3),
        )
        unsettled.update(row[0] for row in left)
    # A profile created by the round had no address: its own are all it holds, counted here (only a
    # profile given more than the limit in all can exceed it), and none of them can be there already (a
    # request's addresses are distinct), so they are simply inserted.
    fresh = [row for row in added if row[0] in created]
    earlier = [row for row in added if row[0] not in created]
    if fresh:
        kinds = Counter(
            (profile_id, address.kind)
            for changes, profile_id in zip(batch, profile_ids, strict=True)
            if len(changes.add_addresses) > max_addresses and profile_id in created
            for _, address in changes.add_addresses
        )
        over = {key for key, count in kinds.items() if count > max_addresses}
        if over:
            _refuse_over_limit(fresh, over, max_addresses)
        await conn.execute(_ADDED_ROWS, project_id, *_address_columns(fresh))
    if earlier:
        over = await conn.fetch(_ADD_CHECKING_LIMIT, project_id, *_address_columns(earlier), max_addresses)
        if over:
            _refuse_over_limit(earlier, {(row["profile_id"], row["kind"]) for row in over}, max_addresses)
        unsettled.update(profile_id for profile_id, _, _ in earlier)
    # Last, the marks, each under the project's address-writers lock that its statement takes and holds
    # until commit (kernel.profiles.shared_addresses): the rows are all written by then.
    if added:
        await mark_added(
            conn,
            project_id,
            [address.kind for _, _, address in added],
            [address.value for _, _, address in added],
        )
    await settle_newest(conn, project_id, unsettled)


def _address_columns(added: list[tuple[uuid.UUID, int, ParsedAddress]]) -> list[object]:
    return [
        [profile_id for profile_id, _, _ in added],
        packed([address.kind for _, _, address in added]),
        packed([address.value for _, _, address in added]),
        packed_json([dict(address.details) for _, _, address in added]),
    ]


_ADDED_ROWS = f"""INSERT INTO profile_addresses (project_id, profile_id, kind, value, details, superseded)
    SELECT $1, profile_id, kind, value, details, {SUPERSEDED_AMONG_ADDED}
    FROM unnest($2::uuid[], {unpacked("$3")}, {unpacked("$4")}, {unpacked("$5")}::jsonb[])
        AS x(profile_id, kind, value, details)
    ORDER BY profile_id, kind, value"""

# The addresses are inserted and each (profile, kind) they went to is counted in one statement: the count
# reads the statement's snapshot, which holds the rows of before it (this transaction's removals and
# take-overs included) but not the ones it inserts, so those are added as counted by RETURNING (an
# address that was there already comes back updated, its xmax set). Each profile's addresses are read
# through the primary key (project, profile, ...): the kind is compared in a way no index serves, because
# with statistics from before an import PostgreSQL chose the index on (project, kind, value) instead, and
# read every address of that kind in the project for each profile.
_ADD_CHECKING_LIMIT = f"""
WITH added AS (
    {_ADDED_ROWS}
    ON CONFLICT (project_id, profile_id, kind, value)
    DO UPDATE SET details = EXCLUDED.details, updated_at = now()
    RETURNING profile_id, kind, xmax = 0 AS inserted),
kinds AS (SELECT profile_id, kind, count(*) FILTER (WHERE inserted) AS inserted FROM added GROUP BY 1, 2)
SELECT k.profile_id, k.kind FROM kinds k
WHERE k.inserted + (SELECT count(*) FROM profile_addresses a
                    WHERE a.project_id = $1 AND a.profile_id = k.profile_id AND a.kind || '' = k.kind) > $6"""


def _refuse_over_limit(
    added: list[tuple[uuid.UUID, int, ParsedAddress]],
    exceeded: set[tuple[uuid.UUID, str]],
    max_addresses: int,
) -> None:
    for profile_id, index, address in added:
        if (profile_id, address.kind) in exceeded:
            raise SplitBatch(
                InvalidArgument(
                    f"the profile would hold more than {max_addresses} addresses of this kind",
                    f"add_addresses[{index}]",
                )
            )


#: A consent change's row: profile id, channel, purpose, topic, status, time of the change.
_ConsentRow = tuple[uuid.UUID, str, str, str, str, datetime]


async def write_subscriptions(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    batch: Sequence[ProfileChanges],
    profile_ids: Sequence[uuid.UUID],
    created: Collection[uuid.UUID],
) -> None:
    """Each consent change with its profile's observed time as the change's time.

    ``created``: the profiles created by this round, which held no consent before it and whose changes
    are one per scope, so they are simply inserted."""
    rows: list[_ConsentRow] = [
        (profile_id, change.channel, change.purpose, change.topic, change.status, changes.observed_at)
        for changes, profile_id in zip(batch, profile_ids, strict=True)
        for change in changes.subscriptions
    ]
    fresh = [row for row in rows if row[0] in created]
    if fresh:
        await conn.execute(_CONSENT_ROWS, project_id, *_consent_columns(fresh))
    if len(fresh) < len(rows):
        earlier = [row for row in rows if row[0] not in created]
        await conn.execute(
            f"""{_CONSENT_ROWS}
                ON CONFLICT (project_id, profile_id, channel, purpose, topic)
                DO UPDATE SET status = EXCLUDED.status, updated_at = EXCLUDED.updated_at""",
            project_id,
            *_consent_columns(earlier),
        )


def _consent_columns(rows: Sequence[_ConsentRow]) -> list[object]:
    return [
        [row[0] for row in rows],
        *(packed([row[column] for row in rows]) for column in range(1, 5)),
        [row[5] for row in rows],
    ]


_CONSENT_ROWS = f"""INSERT INTO profile_subscriptions
        (project_id, profile_id, channel, purpose, topic, status, updated_at)
    SELECT $1, profile_id, channel, purpose, topic, status, updated_at
    FROM unnest($2::uuid[], {unpacked("$3")}, {unpacked("$4")}, {unpacked("$5")}, {unpacked("$6")},
                $7::timestamptz[])
        AS x(profile_id, channel, purpose, topic, status, updated_at)"""


def _columns(rows: Sequence[tuple[object, ...]], width: int) -> list[list[object]]:
    """Rows as ``width`` column lists, the form unnest takes."""
    return [[row[column] for row in rows] for column in range(width)]
