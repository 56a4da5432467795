"""Merging one profile into another: the mechanics shared by Identify and MergeProfiles.

The target survives with its id and its consent; the source's data joins it and the source row goes.
Callers lock both rows first (:func:`lock_profiles`), so that no upsert, event flush or other merge
writes to either profile half-way through.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from kernel.outhooks import EventType, OutgoingEvent, move_profile_events, publish, subscribed
from kernel.profiles.attributes import StoredValue
from kernel.profiles.followers import ProfileFollower, attribute_changes
from kernel.profiles.newest_addresses import settle_newest
from kernel.profiles.shared_addresses import mark_held

# The tables whose rows a merge unites, with the columns copied from source to target.
_UNITED_COLUMNS = {
    "profile_addresses": "kind, value, details, created_at, updated_at",
    "profile_subscriptions": "channel, purpose, topic, status, updated_at",
    # The marketing messages the source received count against the person's caps and grace period.
    "marketing_touches": "message_id, touched_at, channel, label",
}


@dataclass(frozen=True, slots=True)
class LockedProfile:
    profile_id: uuid.UUID
    custom_id: str | None
    attributes: dict[str, StoredValue]

    @property
    def is_known(self) -> bool:
        """A known profile belongs to a logged-in customer (it has a custom id)."""
        return self.custom_id is not None


async def lock_profiles(
    conn: asyncpg.Connection, project_id: uuid.UUID, profile_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, LockedProfile]:
    """Lock the rows that still exist, in profile id order (two lockers of the same pair never deadlock).
    A missing id was merged away or erased since it was resolved: the caller resolves again."""
    rows = await conn.fetch(
        """SELECT profile_id, custom_id, attributes FROM profiles
           WHERE project_id = $1 AND profile_id = any($2::uuid[])
           ORDER BY profile_id FOR UPDATE""",
        project_id,
        list(profile_ids),
    )
    return {r["profile_id"]: LockedProfile(r["profile_id"], r["custom_id"], r["attributes"]) for r in rows}


def merge_attributes(
    target: Mapping[str, StoredValue], source: Mapping[str, StoredValue]
) -> dict[str, StoredValue]:
    """Per attribute, the most recent write wins; on a tie the target's value stays."""
    merged = dict(target)
    for key, value in source.items():
        if key not in merged or value.get("at", 0) > merged[key].get("at", 0):
            merged[key] = value
    return merged


async def merge_into(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    source: LockedProfile,
    target: LockedProfile,
    reason: str,
    follower: ProfileFollower | None = None,
) -> uuid.UUID:
    """Move everything of ``source`` to ``target``, delete ``source``, record the merge; returns its id.
    ``follower`` hands over what followed ``source`` and sees ``target``'s attributes change."""
    args: tuple[Any, ...] = (project_id, source.profile_id, target.profile_id)
    identities = await conn.fetch(
        """SELECT kind, value FROM profile_identities WHERE project_id = $1 AND profile_id = $2
           ORDER BY kind, value""",
        project_id,
        source.profile_id,
    )
    if source.is_known and not target.is_known:
        # The target takes over the source's custom id as its primary one (it is unique per project).
        await conn.execute(
            "UPDATE profiles SET custom_id = NULL WHERE project_id = $1 AND profile_id = $2", *args[:2]
        )
    merged = merge_attributes(target.attributes, source.attributes)
    await conn.execute(
        """UPDATE profiles t
           SET attributes = $4, custom_id = coalesce(t.custom_id, $5),
               last_activity_at = greatest(t.last_activity_at, s.last_activity_at),
               updated_at = now()
           FROM profiles s
           WHERE t.project_id = $1 AND t.profile_id = $3 AND s.project_id = $1 AND s.profile_id = $2""",
        *args,
        merged,
        source.custom_id,
    )
    await conn.execute("UPDATE events SET profile_id = $3 WHERE project_id = $1 AND profile_id = $2", *args)
    # Union; where both hold the same address or consent scope, the target's row (and consent) stays.
    # The source's rows are deleted as they move: no foreign key removes them with the source's row.
    # The target's addresses are then marked as shared where another row holds them (moved rows start
    # unmarked), and its newest of each kind settled, under the lock that the marking takes to order it
    # with other address writers.
    for table, columns in _UNITED_COLUMNS.items():
        await conn.execute(
            f"""WITH moved AS (
                    DELETE FROM {table} WHERE project_id = $1 AND profile_id = $2 RETURNING {columns})
                INSERT INTO {table} (project_id, profile_id, {columns})
                SELECT $1, $3, {columns} FROM moved
                ON CONFLICT DO NOTHING""",
            *args,
        )
    await mark_held(conn, project_id, target.profile_id)
    await settle_newest(conn, project_id, [target.profile_id])
    await conn.execute(
        "UPDATE profile_identities SET profile_id = $3 WHERE project_id = $1 AND profile_id = $2", *args
    )
    # Earlier merges into the source now describe the target's history.
    await conn.execute(
        "UPDATE profile_merges SET target_profile_id = $3 WHERE project_id = $1 AND target_profile_id = $2",
        *args,
    )
    merge_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO profile_merges
               (project_id, merge_id, target_profile_id, source_profile_id, source_identities, reason)
           VALUES ($1, $4, $3, $2, $5, $6)""",
        *args,
        merge_id,
        [{"kind": r["kind"], "value": r["value"]} for r in identities],
        reason,
    )
    if follower is not None:
        await follower.merged(conn, project_id, source.profile_id, target.profile_id)
    await conn.execute("DELETE FROM profiles WHERE project_id = $1 AND profile_id = $2", *args[:2])
    await move_profile_events(conn, project_id, source.profile_id, target.profile_id)
    if follower is not None:
        await _follow_target(conn, project_id, follower, target, merged)
    if EventType.PROFILE_MERGED in await subscribed(conn, project_id):
        data = {
            "profile_id": str(target.profile_id),
            "merged_profile_id": str(source.profile_id),
            "merge_id": str(merge_id),
            "reason": reason,
        }
        await publish(conn, project_id, [OutgoingEvent(EventType.PROFILE_MERGED, data, target.profile_id)])
    return merge_id


async def _follow_target(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    follower: ProfileFollower,
    target: LockedProfile,
    merged: dict[str, StoredValue],
) -> None:
    """The target's attributes changed as a write would change them."""
    watched = await follower.watched(conn, project_id)
    if watched is not None:
        changed = attribute_changes(target.profile_id, target.attributes, merged, (), watched.attributes)
        await follower.follow(conn, project_id, watched, changed, [target.profile_id])
