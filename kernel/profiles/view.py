"""The 360° view of one profile, read from one snapshot so that its parts agree with each other."""

from __future__ import annotations

import uuid

import asyncpg

from herald.v1 import profiles_pb2
from kernel.api.timestamps import from_datetime
from kernel.errors import NotFound
from kernel.profiles import addresses, subscriptions
from kernel.profiles.attributes import to_messages
from kernel.profiles.timeline import LAST_SEEN, event_page

IDENTITY_KINDS = {
    "custom": profiles_pb2.IDENTITY_KIND_CUSTOM,
    "anonymous": profiles_pb2.IDENTITY_KIND_ANONYMOUS,
}


async def profile_view(
    conn: asyncpg.Connection, project_id: uuid.UUID, profile_id: uuid.UUID, recent_events: int
) -> profiles_pb2.ProfileView:
    """Call inside a repeatable-read transaction: the view is then one consistent snapshot."""
    row = await conn.fetchrow(
        f"""SELECT custom_id, attributes, created_at, updated_at, {LAST_SEEN}
            FROM profiles p WHERE project_id = $1 AND profile_id = $2""",
        project_id,
        profile_id,
    )
    if row is None:
        raise NotFound("no profile matches this reference", "profile")
    view = profiles_pb2.ProfileView(
        profile_id=str(profile_id),
        custom_id=row["custom_id"] or "",
        attributes=to_messages(row["attributes"]),
        created_at=from_datetime(row["created_at"]),
        updated_at=from_datetime(row["updated_at"]),
    )
    if row["last_seen_at"] is not None:
        view.last_seen_at.CopyFrom(from_datetime(row["last_seen_at"]))
    identities = await conn.fetch(
        """SELECT kind, value FROM profile_identities WHERE project_id = $1 AND profile_id = $2
           ORDER BY kind, created_at, value""",
        project_id,
        profile_id,
    )
    view.identities.extend(
        profiles_pb2.Identity(kind=IDENTITY_KINDS[r["kind"]], value=r["value"])  # type: ignore[arg-type]
        for r in identities
    )
    address_rows = await conn.fetch(
        """SELECT kind, value, details FROM profile_addresses WHERE project_id = $1 AND profile_id = $2
           ORDER BY kind, created_at, value""",
        project_id,
        profile_id,
    )
    view.addresses.extend(addresses.to_message(r["kind"], r["value"], r["details"]) for r in address_rows)
    subscription_rows = await conn.fetch(
        """SELECT channel, purpose, topic, status, updated_at FROM profile_subscriptions
           WHERE project_id = $1 AND profile_id = $2 ORDER BY channel, purpose, topic""",
        project_id,
        profile_id,
    )
    view.subscriptions.extend(subscriptions.to_message(*r) for r in subscription_rows)
    events, view.next_events_page_token = await event_page(conn, project_id, profile_id, recent_events)
    view.recent_events.extend(events)
    return view
