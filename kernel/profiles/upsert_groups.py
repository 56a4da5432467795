"""UpsertProfile calls of a project stored together: group commit for profile writes.

A call stored alone costs a transaction and half a dozen round trips (begin, resolve, attributes,
addresses, commit), whatever it changes; at thousands of calls a second, PostgreSQL and the kernel spend
their time on those, not on the rows. Calls validated by the API are queued per project
(:class:`~kernel.profiles.group_commit.GroupCommitter`) and the ones waiting together are stored as one
batch, as an import message is (:mod:`kernel.profiles.store_changes`): applied in their order of
arrival, each refused or accepted alone, so that a caller gets exactly what a call stored alone gets.
"""

from __future__ import annotations

import uuid

import asyncpg

from kernel.channels.kinds import LoadedKinds
from kernel.profiles.attributes import AttributeLimits
from kernel.profiles.batch_upsert import Applied, UpsertContext
from kernel.profiles.changes import ProfileChanges
from kernel.profiles.followers import ProfileFollower
from kernel.profiles.group_commit import GroupCommitter
from kernel.profiles.store_changes import store_changes

#: Profiles in one group at most: the batch size an import message stores.
MAX_GROUP = 1000


class UpsertGroups:
    """Stores validated profile changes, concurrent callers of a project sharing a transaction."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        limits: AttributeLimits,
        kinds: LoadedKinds,
        max_addresses: int,
        follower: ProfileFollower | None,
        *,
        max_delay: float,
        concurrency: int,
    ) -> None:
        self._pool = pool
        self._limits = limits
        self._kinds = kinds
        self._max_addresses = max_addresses
        self._follower = follower
        self._committer: GroupCommitter[uuid.UUID, ProfileChanges, Applied] = GroupCommitter(
            "upsert", self._write, max_delay=max_delay, max_size=MAX_GROUP, concurrency=concurrency
        )

    async def upsert(self, project_id: uuid.UUID, changes: ProfileChanges) -> Applied:
        """Store one call's ``changes``; raises the HeraldError (or PostgreSQL's DataError) refusing them."""
        return await self._committer.submit(project_id, changes, 1)

    async def run(self) -> None:
        await self._committer.run()

    async def close(self) -> None:
        """Store what is queued, then refuse new calls (at shutdown, before the pool closes)."""
        await self._committer.close()

    async def _write(self, project_id: uuid.UUID, group: list[ProfileChanges]) -> list[Applied | Exception]:
        context = UpsertContext(project_id, self._limits, self._kinds, self._max_addresses, self._follower)
        return list(await store_changes(self._pool, context, group))
