"""Identify (an anonymous visitor logs in) and explicit merges of two profiles.

Identify holds advisory locks on both identifiers for its transaction, so concurrent calls for the same
login run one after the other: the second finds the work done (ALREADY_IDENTIFIED), never a second
profile. Other writers (upserts and events that create profiles, merges, erasure) take no such lock, so
every step re-checks what it relies on — a row still there once locked, an identity insert that claimed
its value — and starts over from a fresh resolution when a concurrent change got there first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from herald.v1 import profiles_pb2
from kernel.errors import FailedPrecondition, InvalidArgument
from kernel.profiles.followers import ProfileFollower
from kernel.profiles.locks import lock_identifiers
from kernel.profiles.merge import LockedProfile, lock_profiles, merge_into
from kernel.profiles.refs import Ref, check_id, check_ref, resolve_one, suppressed_identities

_ATTEMPTS = 5


class _Retry(Exception):
    """A concurrent change invalidated what this attempt resolved; resolve again."""


@dataclass(frozen=True, slots=True)
class IdentifyResult:
    profile_id: uuid.UUID
    outcome: profiles_pb2.IdentifyOutcome.ValueType
    merged_profile_id: uuid.UUID | None = None


def check_identify(request: profiles_pb2.IdentifyRequest) -> tuple[str, str]:
    return check_id(request.anonymous_id, "anonymous_id"), check_id(request.custom_id, "custom_id")


async def identify(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    anonymous_id: str,
    custom_id: str,
    follower: ProfileFollower | None = None,
) -> IdentifyResult:
    """Link ``anonymous_id`` to the customer ``custom_id``. Call inside a transaction; ``follower`` as
    :func:`~kernel.profiles.merge.merge_into` takes it."""
    await lock_identifiers(conn, project_id, [("custom", custom_id), ("anonymous", anonymous_id)])
    for _ in range(_ATTEMPTS):
        try:
            return await _identify_once(conn, project_id, anonymous_id, custom_id, follower)
        except _Retry:
            continue
    raise FailedPrecondition("the profiles changed concurrently; retry", "anonymous_id")


async def _owner(conn: asyncpg.Connection, project_id: uuid.UUID, kind: str, value: str) -> uuid.UUID | None:
    owner: uuid.UUID | None = await conn.fetchval(
        "SELECT profile_id FROM profile_identities WHERE project_id = $1 AND kind = $2 AND value = $3",
        project_id,
        kind,
        value,
    )
    return owner


async def _identify_once(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    anonymous_id: str,
    custom_id: str,
    follower: ProfileFollower | None,
) -> IdentifyResult:
    known = await _owner(conn, project_id, "custom", custom_id)
    anonymous = await _owner(conn, project_id, "anonymous", anonymous_id)
    if anonymous is None:
        if known is None:
            known, _ = await resolve_one(
                conn, project_id, Ref("custom_id", custom_id), create=True, field="custom_id"
            )
        await _locked(conn, project_id, known)
        await _claim_identity(conn, project_id, "anonymous", anonymous_id, known)
        await _touch(conn, project_id, known)
        return IdentifyResult(known, profiles_pb2.IDENTIFY_OUTCOME_LINKED)
    if anonymous == known:
        return IdentifyResult(known, profiles_pb2.IDENTIFY_OUTCOME_ALREADY_IDENTIFIED)
    if known is None:
        visitor = await _locked(conn, project_id, anonymous)
        if not visitor.is_known:
            await _make_known(conn, project_id, visitor.profile_id, custom_id)
            return IdentifyResult(visitor.profile_id, profiles_pb2.IDENTIFY_OUTCOME_LINKED)
        known, _ = await resolve_one(
            conn, project_id, Ref("custom_id", custom_id), create=True, field="custom_id"
        )
        await _move_anonymous_id(conn, project_id, anonymous_id, visitor.profile_id, known)
        return IdentifyResult(known, profiles_pb2.IDENTIFY_OUTCOME_REASSIGNED)
    locked = await lock_profiles(conn, project_id, [anonymous, known])
    if len(locked) < 2:
        raise _Retry
    visitor, customer = locked[anonymous], locked[known]
    if visitor.is_known:
        # Another customer's device or browser: moved, never merged (only MergeProfiles joins two customers).
        await _move_anonymous_id(conn, project_id, anonymous_id, visitor.profile_id, known)
        return IdentifyResult(known, profiles_pb2.IDENTIFY_OUTCOME_REASSIGNED)
    await merge_into(conn, project_id, visitor, customer, "identify", follower)
    return IdentifyResult(known, profiles_pb2.IDENTIFY_OUTCOME_MERGED, merged_profile_id=anonymous)


async def _locked(conn: asyncpg.Connection, project_id: uuid.UUID, profile_id: uuid.UUID) -> LockedProfile:
    locked = await lock_profiles(conn, project_id, [profile_id])
    if profile_id not in locked:
        raise _Retry
    return locked[profile_id]


async def _refuse_suppressed(conn: asyncpg.Connection, project_id: uuid.UUID, kind: str, value: str) -> None:
    if await suppressed_identities(conn, project_id, [(kind, value)]):
        raise FailedPrecondition(
            "this person was erased and suppressed; they cannot be re-created", f"{kind}_id"
        )


async def _claim_identity(
    conn: asyncpg.Connection, project_id: uuid.UUID, kind: str, value: str, profile_id: uuid.UUID
) -> None:
    """Insert a new identity; a writer that created it meanwhile means starting over."""
    await _refuse_suppressed(conn, project_id, kind, value)
    claimed = await conn.fetchval(
        """INSERT INTO profile_identities (project_id, kind, value, profile_id) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING RETURNING true""",
        project_id,
        kind,
        value,
        profile_id,
    )
    if not claimed:
        raise _Retry


async def _make_known(
    conn: asyncpg.Connection, project_id: uuid.UUID, profile_id: uuid.UUID, custom_id: str
) -> None:
    """The visitor's own profile becomes the customer's: no data moves."""
    await _claim_identity(conn, project_id, "custom", custom_id, profile_id)
    await _touch(conn, project_id, profile_id, custom_id)


async def _move_anonymous_id(
    conn: asyncpg.Connection, project_id: uuid.UUID, anonymous_id: str, owner: uuid.UUID, new_owner: uuid.UUID
) -> None:
    await _locked(conn, project_id, new_owner)
    moved = await conn.execute(
        """UPDATE profile_identities SET profile_id = $4
           WHERE project_id = $1 AND kind = 'anonymous' AND value = $2 AND profile_id = $3""",
        project_id,
        anonymous_id,
        owner,
        new_owner,
    )
    if moved != "UPDATE 1":
        raise _Retry
    await _touch(conn, project_id, new_owner)


async def _touch(
    conn: asyncpg.Connection, project_id: uuid.UUID, profile_id: uuid.UUID, custom_id: str | None = None
) -> None:
    """Record the identity change on the profile (and, when it becomes known, its custom id)."""
    await conn.execute(
        """UPDATE profiles SET custom_id = coalesce($3, custom_id), updated_at = now(),
               last_activity_at = greatest(last_activity_at, now())
           WHERE project_id = $1 AND profile_id = $2""",
        project_id,
        profile_id,
        custom_id,
    )


async def merge_profiles(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    request: profiles_pb2.MergeProfilesRequest,
    follower: ProfileFollower | None = None,
) -> tuple[uuid.UUID, uuid.UUID]:
    """Explicitly merge ``source`` into ``target``; returns (target id, merge id). Call in a transaction;
    ``follower`` as :func:`~kernel.profiles.merge.merge_into` takes it."""
    source_ref = check_ref(request.source, "source")
    target_ref = check_ref(request.target, "target")
    for _ in range(_ATTEMPTS):
        source, _ = await resolve_one(conn, project_id, source_ref, create=False, field="source")
        target, _ = await resolve_one(conn, project_id, target_ref, create=False, field="target")
        if source == target:
            raise InvalidArgument("source and target are the same profile", "target")
        locked = await lock_profiles(conn, project_id, [source, target])
        if len(locked) == 2:
            merge_id = await merge_into(
                conn, project_id, locked[source], locked[target], "explicit", follower
            )
            return target, merge_id
    raise FailedPrecondition("the profiles changed concurrently; retry", "source")
