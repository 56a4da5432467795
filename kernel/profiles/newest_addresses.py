"""The ``superseded`` marker of ``profile_addresses``: set on every row that a newer address of its kind
in the same profile outranks (newest: the latest ``updated_at``, then the least value).

A channel whose kind reaches the newest address only (``Reach.NEWEST``: an inbox, a phone) sends to the
unmarked row of each profile and kind: the bulk audience read (:mod:`kernel.delivery.audience_scan`)
takes it as it finds it instead of ranking every profile's addresses for each slice. Every writer that
adds, updates or removes a profile's rows therefore settles the marks of the profiles it wrote to, after
writing, under the project's address-writers lock (:mod:`kernel.profiles.shared_addresses`) that the
settling statement takes and holds until commit: of two writers of the same profile, the one that settles
second waits for the first one's commit, and its settling (a new snapshot, migration 0064) sees the first
one's rows and its own. The rows of a profile that held none of their kind are marked as they are
inserted (:data:`SUPERSEDED_AMONG_ADDED`), so that an import of new profiles needs no second statement; a
row inserted alone in its profile and kind, as SQL seeds write them, is right unmarked.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

import asyncpg

from kernel.profiles.shared_addresses import writers_lock

#: Of rows inserted together (one ``updated_at``), from columns ``profile_id``, ``kind`` and ``value``,
#: whether each is superseded by another of them: all but the least value of each profile and kind (the
#: order of migration 0064's settling). Right as it stands for profiles that held none of the kind; the
#: others are settled after.
SUPERSEDED_AMONG_ADDED = "row_number() OVER (PARTITION BY profile_id, kind ORDER BY value) > 1"


async def settle_newest(
    conn: asyncpg.Connection, project_id: uuid.UUID, profile_ids: Collection[uuid.UUID]
) -> None:
    """Mark the superseded addresses of ``profile_ids`` and unmark their newest, after they were written;
    the project's address-writers lock is then held until commit."""
    if profile_ids:
        await conn.execute(
            "SELECT settle_newest_addresses($1, $2, $3::uuid[])",
            project_id,
            writers_lock(project_id),
            list(set(profile_ids)),
        )
