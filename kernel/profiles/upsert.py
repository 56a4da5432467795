"""UpsertProfile: create the profile if its reference is new, then apply every change of the request.

Runs inside the caller's transaction (one per RPC, or one per profile of a bulk import), so that an
error raised anywhere here leaves nothing stored. The profile row is updated first: its row lock keeps a
concurrent merge from deleting the profile while its addresses and subscriptions are written.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from herald.v1 import profiles_pb2
from kernel.channels.kinds import LoadedKinds
from kernel.errors import FailedPrecondition, InvalidArgument, NotFound
from kernel.profiles.addresses import ParsedAddress
from kernel.profiles.attributes import AttributeLimits
from kernel.profiles.changes import ProfileChanges, parse_upsert
from kernel.profiles.locks import lock_identifiers
from kernel.profiles.refs import resolve_one, suppressed_identities

# A custom or anonymous id re-resolves to the surviving profile when a merge removed the one it named.
_RESOLVE_ATTEMPTS = 3


async def upsert_profile(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    request: profiles_pb2.UpsertProfileRequest,
    limits: AttributeLimits,
    kinds: LoadedKinds,
    max_addresses: int,
) -> tuple[uuid.UUID, bool]:
    """Apply ``request``; returns (profile id, created). Raises HeraldError with request-relative fields.

    Addresses and subscriptions are checked against the loaded plugins' ``kinds`` and consent scopes."""
    changes = parse_upsert(request, limits, kinds, datetime.now(UTC))
    await _refuse_suppressed(conn, project_id, changes.add_addresses)
    profile_id, created = await _update_profile(conn, project_id, changes, limits)
    if changes.remove_addresses:
        await _remove_addresses(conn, project_id, profile_id, changes.remove_addresses)
    if changes.add_addresses:
        await _add_addresses(conn, project_id, profile_id, changes.add_addresses, max_addresses)
    if changes.subscriptions:
        await _set_subscriptions(conn, project_id, profile_id, changes)
    return profile_id, created


async def _refuse_suppressed(
    conn: asyncpg.Connection, project_id: uuid.UUID, addresses: list[tuple[int, ParsedAddress]]
) -> None:
    if not addresses:
        return
    blocked = await suppressed_identities(conn, project_id, [address.key for _, address in addresses])
    for index, address in addresses:
        if address.key in blocked:
            raise FailedPrecondition(
                "this address belongs to an erased and suppressed person", f"add_addresses[{index}].value"
            )


async def _update_profile(
    conn: asyncpg.Connection, project_id: uuid.UUID, changes: ProfileChanges, limits: AttributeLimits
) -> tuple[uuid.UUID, bool]:
    for _ in range(_RESOLVE_ATTEMPTS):
        profile_id, created = await resolve_one(conn, project_id, changes.ref, create=True)
        count = await conn.fetchval(
            """UPDATE profiles
               SET attributes = (attributes - $3::text[]) || $4::jsonb,
                   updated_at = now(), last_activity_at = greatest(last_activity_at, now())
               WHERE project_id = $1 AND profile_id = $2
               RETURNING (SELECT count(*) FROM jsonb_object_keys(attributes))""",
            project_id,
            profile_id,
            changes.remove_attributes,
            changes.attributes,
        )
        if count is None:
            continue  # merged away since it was resolved
        if changes.attributes and count > limits.max_attributes:
            raise InvalidArgument(
                f"the profile would have more than {limits.max_attributes} attributes", "attributes"
            )
        return profile_id, created
    raise NotFound("the profile was merged or erased while being updated; retry", "profile")


async def _remove_addresses(
    conn: asyncpg.Connection, project_id: uuid.UUID, profile_id: uuid.UUID, addresses: list[ParsedAddress]
) -> None:
    await conn.execute(
        """DELETE FROM profile_addresses a
           USING unnest($3::text[], $4::text[]) AS r(kind, value)
           WHERE a.project_id = $1 AND a.profile_id = $2 AND a.kind = r.kind AND a.value = r.value""",
        project_id,
        profile_id,
        [a.kind for a in addresses],
        [a.value for a in addresses],
    )


async def _add_addresses(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    profile_id: uuid.UUID,
    addresses: list[tuple[int, ParsedAddress]],
    max_addresses: int,
) -> None:
    exclusive = [address for _, address in addresses if address.exclusive]
    if exclusive:
        # A device token reaches one device, hence one person: it leaves whichever profile held it.
        await lock_identifiers(conn, project_id, [address.key for address in exclusive])
        await conn.execute(
            """DELETE FROM profile_addresses a
               USING unnest($3::text[], $4::text[]) AS x(kind, value)
               WHERE a.project_id = $1 AND a.kind = x.kind AND a.value = x.value AND a.profile_id <> $2""",
            project_id,
            profile_id,
            [a.kind for a in exclusive],
            [a.value for a in exclusive],
        )
    await conn.execute(
        """INSERT INTO profile_addresses (project_id, profile_id, kind, value, details)
           SELECT $1, $2, kind, value, details FROM unnest($3::text[], $4::text[], $5::jsonb[])
               AS x(kind, value, details)
           ON CONFLICT (project_id, profile_id, kind, value)
           DO UPDATE SET details = EXCLUDED.details, updated_at = now()""",
        project_id,
        profile_id,
        [a.kind for _, a in addresses],
        [a.value for _, a in addresses],
        [dict(a.details) for _, a in addresses],
    )
    over = await conn.fetch(
        """SELECT kind FROM profile_addresses
           WHERE project_id = $1 AND profile_id = $2 AND kind = any($3::text[])
           GROUP BY kind HAVING count(*) > $4""",
        project_id,
        profile_id,
        list({a.kind for _, a in addresses}),
        max_addresses,
    )
    if over:
        kinds = {row["kind"] for row in over}
        index = next(index for index, address in addresses if address.kind in kinds)
        raise InvalidArgument(
            f"the profile would hold more than {max_addresses} addresses of this kind",
            f"add_addresses[{index}]",
        )


async def _set_subscriptions(
    conn: asyncpg.Connection, project_id: uuid.UUID, profile_id: uuid.UUID, changes: ProfileChanges
) -> None:
    subscriptions = changes.subscriptions
    await conn.execute(
        """INSERT INTO profile_subscriptions
               (project_id, profile_id, channel, purpose, topic, status, updated_at)
           SELECT $1, $2, channel, purpose, topic, status, $7
           FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS x(channel, purpose, topic, status)
           ON CONFLICT (project_id, profile_id, channel, purpose, topic)
           DO UPDATE SET status = EXCLUDED.status, updated_at = EXCLUDED.updated_at""",
        project_id,
        profile_id,
        [s.channel for s in subscriptions],
        [s.purpose for s in subscriptions],
        [s.topic for s in subscriptions],
        [s.status for s in subscriptions],
        changes.observed_at,
    )
