"""One profile's validated changes written as a batch of one.

Runs inside the caller's transaction (its own, or a savepoint per profile when a batch of imported or
grouped profiles is applied one by one), so that an error raised anywhere here leaves nothing stored.
"""

from __future__ import annotations

import asyncpg

from kernel.errors import HeraldError
from kernel.profiles.batch_upsert import Applied, UpsertContext, upsert_batch
from kernel.profiles.changes import ProfileChanges
from kernel.profiles.split_batch import SplitBatch, profile_gone

# A custom or anonymous id re-resolves to the surviving profile when a merge removed the one it named.
_RESOLVE_ATTEMPTS = 3


async def upsert_changes(
    conn: asyncpg.Connection, context: UpsertContext, changes: ProfileChanges
) -> Applied:
    """Write one profile's validated changes; raises the HeraldError that refuses them."""
    for _ in range(_RESOLVE_ATTEMPTS):
        try:
            [outcome] = await upsert_batch(conn, context, [changes])
        except SplitBatch as split:
            # A batch of one wrote nothing before finding its profile gone: resolving again is safe.
            if split.retry:
                continue
            raise split.error from None
        if isinstance(outcome, HeraldError):
            raise outcome
        return outcome
    raise profile_gone()
