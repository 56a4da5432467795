"""UpsertProfile: one profile's changes, validated, then written as a batch of one.

Runs inside the caller's transaction (one per RPC, or a savepoint per profile when an import's batch is
applied line by line), so that an error raised anywhere here leaves nothing stored.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from herald.v1 import profiles_pb2
from kernel.errors import HeraldError, NotFound
from kernel.profiles.batch_upsert import Applied, UpsertContext, upsert_batch
from kernel.profiles.changes import ProfileChanges, parse_upsert
from kernel.profiles.split_batch import SplitBatch

# A custom or anonymous id re-resolves to the surviving profile when a merge removed the one it named.
_RESOLVE_ATTEMPTS = 3


async def upsert_profile(
    conn: asyncpg.Connection, context: UpsertContext, request: profiles_pb2.UpsertProfileRequest
) -> Applied:
    """Apply ``request``. Raises HeraldError with request-relative fields.

    Addresses and subscriptions are checked against the loaded plugins' kinds and consent scopes."""
    changes = parse_upsert(request, context.limits, context.kinds, datetime.now(UTC))
    return await upsert_changes(conn, context, changes)


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
    raise NotFound("the profile was merged or erased while being updated; retry", "profile")
