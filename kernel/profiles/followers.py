"""What profile writes and merges set going elsewhere (automations entered by an attribute change or a
segment's membership, journeys handed over by a merge), written in the write's own transaction: an
acknowledged write never misses what follows it, and a rolled-back one sets nothing going. Profiles know
only this protocol; automations implement it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import asyncpg

from kernel.profiles.attributes import StoredValue


@dataclass(frozen=True, slots=True)
class AttributeChanged:
    """A watched attribute whose value a write changed; values in stored form without ``at``, None when
    absent."""

    profile_id: uuid.UUID
    key: str
    before: StoredValue | None
    after: StoredValue | None


class Watched(Protocol):
    """What a transaction's writes are followed for, read once per transaction."""

    @property
    def attributes(self) -> frozenset[str]:
        """The attribute keys whose changes are followed."""
        ...


class ProfileFollower(Protocol):
    async def watched(self, conn: asyncpg.Connection, project_id: uuid.UUID) -> Watched | None:
        """None: nothing of the project's profile writes is followed (they do no more)."""
        ...

    async def follow(
        self,
        conn: asyncpg.Connection,
        project_id: uuid.UUID,
        watched: Watched,
        changed: Sequence[AttributeChanged],
        written: Sequence[uuid.UUID],
    ) -> None:
        """Write what the transaction's writes set going: ``changed`` watched attributes, ``written``
        profiles (any change)."""
        ...

    async def merged(
        self, conn: asyncpg.Connection, project_id: uuid.UUID, source: uuid.UUID, target: uuid.UUID
    ) -> None:
        """``source`` is merged into ``target`` (in the merge's transaction, both rows locked, before
        ``source``'s row is deleted): what followed ``source`` follows ``target`` now. Its attributes'
        changes reach :meth:`follow` next, as any write's."""
        ...

    def committed(self) -> None:
        """A transaction in which :meth:`follow` wrote something may have committed."""
        ...


def without_time(value: StoredValue | None) -> StoredValue | None:
    """A stored value as compared for a change: its write time (``at``) left out."""
    return None if value is None else {key: item for key, item in value.items() if key != "at"}


async def watched_values(
    conn: asyncpg.Connection, project_id: uuid.UUID, profile_ids: Sequence[uuid.UUID], keys: frozenset[str]
) -> dict[uuid.UUID, dict[str, StoredValue]]:
    """The ``keys`` of the profiles before they are written, their rows locked in profile id order (the
    order the write locks them in, so no new deadlock)."""
    rows = await conn.fetch(
        """SELECT profile_id, (SELECT coalesce(jsonb_object_agg(k, attributes -> k), '{}')
                               FROM unnest($3::text[]) AS k WHERE attributes ? k) AS watched
           FROM profiles WHERE project_id = $1 AND profile_id = any($2::uuid[])
           ORDER BY profile_id FOR UPDATE""",
        project_id,
        list(profile_ids),
        sorted(keys),
    )
    return {row["profile_id"]: row["watched"] for row in rows}


def attribute_changes(
    profile_id: uuid.UUID,
    before: dict[str, StoredValue],
    written: dict[str, StoredValue],
    removed: Sequence[str],
    keys: frozenset[str],
) -> list[AttributeChanged]:
    """The watched ``keys`` that ``written`` and ``removed`` change on a profile holding ``before``."""
    changed = []
    for key in sorted(keys & (written.keys() | set(removed))):
        old = without_time(before.get(key))
        new = without_time(written.get(key))
        if old != new:
            changed.append(AttributeChanged(profile_id, key, old, new))
    return changed
