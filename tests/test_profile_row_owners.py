"""A profile's identities, addresses and consent always belong to an existing profile.

No foreign key keeps them so (migration 0029): the writers lock the profile or create it in the same
statement, and erasure and merge delete the rows of the profiles they delete. These tests race each
writer against an erasure holding the profile's lock, and check that no row is left naming no profile.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TypeVar

import asyncpg
import pytest

from herald.v1 import common_pb2, profiles_pb2
from kernel.channels import FeedbackEvent, FeedbackKind
from kernel.delivery.feedback import FeedbackProcessor
from kernel.profiles.batch_upsert import upsert_batch
from kernel.profiles.gdpr import erase_profiles
from kernel.profiles.split_batch import SplitBatch, profile_gone
from kernel.server import RunningServer
from tests.conftest import SPARKPOST, ProjectKey, new_project
from tests.profile_support import wait_for_lock_wait
from tests.test_batch_upsert import new_people

OWNED_TABLES = ("profile_identities", "profile_addresses", "profile_subscriptions")
ANN = common_pb2.ProfileRef(custom_id="ann")
EMAIL = "ann@example.com"
T = TypeVar("T")


async def rows_without_their_profile(db: asyncpg.Pool, project: ProjectKey) -> dict[str, int]:
    counts = {
        table: await db.fetchval(
            f"""SELECT count(*) FROM {table} o WHERE project_id = $1 AND NOT EXISTS (
                    SELECT FROM profiles p
                    WHERE p.project_id = o.project_id AND p.profile_id = o.profile_id)""",
            project.project_id,
        )
        for table in OWNED_TABLES
    }
    return {table: count for table, count in counts.items() if count}


def ann_with(email: str) -> profiles_pb2.UpsertProfileRequest:
    return profiles_pb2.UpsertProfileRequest(
        profile=ANN,
        add_addresses=[common_pb2.Address(kind="email", value=email)],
        subscriptions=[
            common_pb2.Subscription(
                channel="email",
                purpose=common_pb2.PURPOSE_MARKETING,
                status=common_pb2.SUBSCRIPTION_STATUS_OPTED_IN,
            )
        ],
    )


async def erase_while(
    db: asyncpg.Pool, project: ProjectKey, profile_id: uuid.UUID, write: Awaitable[T], statement: str
) -> T:
    """Start ``write`` while an erasure holds ``profile_id``'s lock, erase once ``statement`` waits for
    it, and return what ``write`` returned."""
    async with db.acquire() as eraser, eraser.transaction():
        await eraser.execute(
            "SELECT FROM profiles WHERE project_id = $1 AND profile_id = $2 FOR UPDATE",
            project.project_id,
            profile_id,
        )
        racing = asyncio.ensure_future(write)
        await wait_for_lock_wait(db, statement)
        await erase_profiles(eraser, project.project_id, [profile_id], suppress=False)
    return await racing


async def test_an_upsert_racing_an_erasure_writes_to_a_new_profile(profiles, project: ProjectKey, db) -> None:
    first = await profiles.UpsertProfile(ann_with(EMAIL), metadata=project.auth)
    erased = uuid.UUID(first.profile_id)
    reply = await erase_while(
        db,
        project,
        erased,
        profiles.UpsertProfile(ann_with("ann@example.org"), metadata=project.auth),
        "WITH locked AS",
    )
    assert reply.created and uuid.UUID(reply.profile_id) != erased
    assert await rows_without_their_profile(db, project) == {}
    addresses = await db.fetch(
        "SELECT profile_id, value FROM profile_addresses WHERE project_id = $1", project.project_id
    )
    assert [(r["profile_id"], r["value"]) for r in addresses] == [
        (uuid.UUID(reply.profile_id), "ann@example.org")
    ]


async def test_an_unsubscribe_racing_an_erasure_writes_no_consent(
    server: RunningServer, profiles, project: ProjectKey, db
) -> None:
    reply = await profiles.UpsertProfile(ann_with(EMAIL), metadata=project.auth)
    spec = server.kernel.channels.channel(SPARKPOST)
    unsubscribed = FeedbackEvent(FeedbackKind.UNSUBSCRIBED, "", EMAIL, datetime.now(UTC))

    async def apply() -> None:
        async with db.acquire() as conn, conn.transaction():
            await FeedbackProcessor(db).apply(conn, project.project_id, spec, [unsubscribed])

    await erase_while(db, project, uuid.UUID(reply.profile_id), apply(), "INSERT INTO profile_subscriptions")
    assert await rows_without_their_profile(db, project) == {}
    assert (
        await db.fetchval(
            "SELECT count(*) FROM profile_subscriptions WHERE project_id = $1", project.project_id
        )
        == 0
    )


async def test_a_merge_leaves_no_row_of_the_source(profiles, project: ProjectKey, db) -> None:
    target = await profiles.UpsertProfile(ann_with(EMAIL), metadata=project.auth)
    bob = common_pb2.ProfileRef(custom_id="bob")
    source = ann_with("bob@example.com")
    source.profile.CopyFrom(bob)
    await profiles.UpsertProfile(source, metadata=project.auth)
    await profiles.MergeProfiles(
        profiles_pb2.MergeProfilesRequest(source=bob, target=ANN), metadata=project.auth
    )
    assert await rows_without_their_profile(db, project) == {}
    owners = await db.fetch(
        "SELECT DISTINCT profile_id FROM profile_addresses WHERE project_id = $1", project.project_id
    )
    assert [r["profile_id"] for r in owners] == [uuid.UUID(target.profile_id)]


async def test_deleting_a_project_deletes_its_profiles_and_their_rows(projects, profiles, db) -> None:
    project = await new_project(projects)
    await profiles.UpsertProfile(ann_with(EMAIL), metadata=project.auth)
    await db.execute("DELETE FROM projects WHERE project_id = $1", project.project_id)
    for table in ("profiles", *OWNED_TABLES):
        stored = f"SELECT count(*) FROM {table} WHERE project_id = $1"
        assert await db.fetchval(stored, project.project_id) == 0, table


async def test_a_profile_created_racing_its_projects_deletion_is_not_stored(
    projects, server: RunningServer, db
) -> None:
    project = await new_project(projects)
    context, batch = new_people(server, project, "late", 3)

    async def create() -> None:
        async with db.acquire() as conn, conn.transaction():
            await upsert_batch(conn, context, batch)

    async with db.acquire() as deleter, deleter.transaction():
        await deleter.execute("DELETE FROM projects WHERE project_id = $1", project.project_id)
        racing = asyncio.ensure_future(create())
        await wait_for_lock_wait(db, "INSERT INTO profile_identities")
    with pytest.raises(SplitBatch) as gone:
        await racing
    assert str(gone.value.error) == str(profile_gone())
    for table in ("profiles", *OWNED_TABLES):
        stored = f"SELECT count(*) FROM {table} WHERE project_id = $1"
        assert await db.fetchval(stored, project.project_id) == 0, table
