"""The ``superseded`` marker of profile_addresses (kernel.profiles.newest_addresses): in every profile and
kind, exactly the newest row (latest updated_at, then least value) is unmarked, whichever writer changed
the profile's addresses (an upsert adding, renewing or removing, an import, a take-over of a device token,
a merge, a prune of dead addresses, an erasure), including two writers of one profile at the same time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg

from herald.v1 import common_pb2, profiles_pb2
from kernel.delivery.outcomes import prune_addresses
from kernel.profiles.addresses import ParsedAddress
from kernel.profiles.batch_addresses import write_addresses
from kernel.profiles.changes import ProfileChanges
from kernel.profiles.refs import Ref
from tests.conftest import ProjectKey
from tests.profile_support import wait_for_lock_wait

TOKEN_A, TOKEN_B = "a" * 64, "b" * 64


def upsert(
    custom_id: str, add: tuple[str, ...] = (), remove: tuple[str, ...] = (), kind: str = "email"
) -> profiles_pb2.UpsertProfileRequest:
    return profiles_pb2.UpsertProfileRequest(
        profile=common_pb2.ProfileRef(custom_id=custom_id),
        add_addresses=[common_pb2.Address(kind=kind, value=value) for value in add],
        remove_addresses=[common_pb2.Address(kind=kind, value=value) for value in remove],
    )


async def newest(db: asyncpg.Pool, project: ProjectKey) -> dict[tuple[str, str], str]:
    """(custom id, kind) -> its one unmarked address; asserts that the marks are those of the ranking."""
    rows = await db.fetch(
        """SELECT p.custom_id, a.kind, a.value, a.superseded, row_number() OVER (
                  PARTITION BY a.profile_id, a.kind ORDER BY a.updated_at DESC, a.value) > 1 AS outranked
           FROM profile_addresses a JOIN profiles p USING (project_id, profile_id)
           WHERE a.project_id = $1""",
        project.project_id,
    )
    assert [r["value"] for r in rows if r["superseded"] != r["outranked"]] == []
    return {(r["custom_id"], r["kind"]): r["value"] for r in rows if not r["superseded"]}


async def test_an_upsert_marks_the_older_addresses_and_a_removal_unmarks_the_next(
    profiles, project: ProjectKey, db
) -> None:
    await profiles.UpsertProfile(upsert("ann", ("old@example.com",)), metadata=project.auth)
    await profiles.UpsertProfile(upsert("ann", ("new@example.com",)), metadata=project.auth)
    assert await newest(db, project) == {("ann", "email"): "new@example.com"}
    # Given again, an address is renewed: the newest once more.
    await profiles.UpsertProfile(upsert("ann", ("old@example.com",)), metadata=project.auth)
    assert await newest(db, project) == {("ann", "email"): "old@example.com"}
    await profiles.UpsertProfile(upsert("ann", remove=("old@example.com",)), metadata=project.auth)
    assert await newest(db, project) == {("ann", "email"): "new@example.com"}


async def import_rows(
    *rows: profiles_pb2.UpsertProfileRequest,
) -> AsyncIterator[profiles_pb2.ImportProfilesRequest]:
    yield profiles_pb2.ImportProfilesRequest(profiles=list(rows))


async def test_an_import_marks_the_addresses_given_together(profiles, project: ProjectKey, db) -> None:
    """New profiles' addresses are marked as they are inserted; existing ones' are settled after."""
    await profiles.UpsertProfile(upsert("bob", ("bob@example.com",)), metadata=project.auth)
    await profiles.ImportProfiles(
        import_rows(
            upsert("ann", ("zed@example.com", "Amy@example.com", "ann@example.com")),
            upsert("bob", ("b2@example.com", "b1@example.com")),
            upsert("cy", ("cy@example.com",)),
        ),
        metadata=project.auth,
    )
    marked = await newest(db, project)
    assert marked[("cy", "email")] == "cy@example.com"
    assert marked[("bob", "email")] in {"b1@example.com", "b2@example.com"}
    assert len(marked) == 3


async def test_a_token_taken_over_unmarks_the_next_device_of_the_profile_it_left(
    profiles, project: ProjectKey, db
) -> None:
    await profiles.UpsertProfile(upsert("ann", (TOKEN_A,), kind="apns_token"), metadata=project.auth)
    await profiles.UpsertProfile(upsert("ann", (TOKEN_B,), kind="apns_token"), metadata=project.auth)
    await profiles.UpsertProfile(upsert("bob", (TOKEN_B,), kind="apns_token"), metadata=project.auth)
    assert await newest(db, project) == {("ann", "apns_token"): TOKEN_A, ("bob", "apns_token"): TOKEN_B}


async def test_a_merge_settles_the_targets_newest(profiles, project: ProjectKey, db) -> None:
    await profiles.UpsertProfile(upsert("cy", ("cy@example.com",)), metadata=project.auth)
    await profiles.UpsertProfile(upsert("bob", ("bob@example.com",)), metadata=project.auth)
    await profiles.MergeProfiles(
        profiles_pb2.MergeProfilesRequest(
            source=common_pb2.ProfileRef(custom_id="bob"), target=common_pb2.ProfileRef(custom_id="cy")
        ),
        metadata=project.auth,
    )
    assert await newest(db, project) == {("cy", "email"): "bob@example.com"}


async def test_a_pruned_address_unmarks_its_holders_next(profiles, project: ProjectKey, db) -> None:
    await profiles.UpsertProfile(upsert("ann", ("kept@example.com",)), metadata=project.auth)
    await profiles.UpsertProfile(upsert("ann", ("dead@example.com",)), metadata=project.auth)
    await profiles.UpsertProfile(upsert("bob", ("dead@example.com",)), metadata=project.auth)
    async with db.acquire() as conn, conn.transaction():
        await prune_addresses(conn, project.project_id, "email", ["dead@example.com"])
    assert await newest(db, project) == {("ann", "email"): "kept@example.com"}


async def test_an_erasure_leaves_the_other_holders_as_they_were(profiles, project: ProjectKey, db) -> None:
    ann = upsert("ann", ("pair@example.com", "ann@example.com"))
    await profiles.UpsertProfile(ann, metadata=project.auth)
    await profiles.UpsertProfile(upsert("bob", ("bob@example.com",)), metadata=project.auth)
    await profiles.UpsertProfile(upsert("bob", ("pair@example.com",)), metadata=project.auth)
    await profiles.EraseProfile(
        profiles_pb2.EraseProfileRequest(profile=common_pb2.ProfileRef(custom_id="ann")),
        metadata=project.auth,
    )
    assert await newest(db, project) == {("bob", "email"): "pair@example.com"}


def changes(custom_id: str, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()) -> ProfileChanges:
    return ProfileChanges(
        ref=Ref("custom_id", custom_id),
        observed_at=datetime.now(UTC),
        attributes={},
        remove_attributes=[],
        add_addresses=[(index, ParsedAddress("email", value)) for index, value in enumerate(add)],
        remove_addresses=[ParsedAddress("email", value) for value in remove],
        subscriptions=[],
    )


async def test_a_second_writer_of_a_profile_waits_and_settles_with_the_firsts_rows(
    profiles, project: ProjectKey, db
) -> None:
    """Neither writer sees the other's rows before commit: without the address-writers lock, the first
    (adding an address) and the second (removing the newest, then adding) would each leave one of their
    rows unmarked."""
    ann = await profiles.UpsertProfile(upsert("ann", ("one@example.com",)), metadata=project.auth)
    await profiles.UpsertProfile(upsert("ann", ("two@example.com",)), metadata=project.auth)
    async with db.acquire() as first:
        async with first.transaction():
            await write_addresses(
                first,
                project.project_id,
                [changes("ann", add=("three@example.com",))],
                [uuid.UUID(ann.profile_id)],
                10,
                created=(),
            )
            second = asyncio.ensure_future(
                profiles.UpsertProfile(upsert("ann", remove=("two@example.com",)), metadata=project.auth)
            )
            # On the first one's rows, or on the address-writers lock that its settling holds.
            await wait_for_lock_wait(db, "addresses")
        await second
    assert await newest(db, project) == {("ann", "email"): "three@example.com"}
