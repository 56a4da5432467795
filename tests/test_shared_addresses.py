"""The ``shared`` marker of profile_addresses (kernel.profiles.shared_addresses): every row whose folded
address another row holds is marked, whichever writer added it (an upsert, an import's round, a merge),
including two writers adding the same address at the same time; the bulk read probes only marked rows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg

from herald.v1 import common_pb2, profiles_pb2
from kernel.profiles.addresses import ParsedAddress
from kernel.profiles.batch_addresses import write_addresses
from kernel.profiles.changes import ProfileChanges
from kernel.profiles.refs import Ref
from tests.conftest import ProjectKey
from tests.profile_support import wait_for_lock_wait


def holder(custom_id: str, *emails: str) -> profiles_pb2.UpsertProfileRequest:
    return profiles_pb2.UpsertProfileRequest(
        profile=common_pb2.ProfileRef(custom_id=custom_id),
        add_addresses=[common_pb2.Address(kind="email", value=email) for email in emails],
    )


async def marks(db: asyncpg.Pool, project: ProjectKey) -> dict[tuple[str, str], bool]:
    """(custom id, address) -> its marker."""
    rows = await db.fetch(
        """SELECT p.custom_id, a.value, a.shared FROM profile_addresses a
           JOIN profiles p USING (project_id, profile_id) WHERE a.project_id = $1""",
        project.project_id,
    )
    return {(r["custom_id"], r["value"]): r["shared"] for r in rows}


async def test_upserts_mark_every_holder_of_an_address_and_no_other(
    profiles, project: ProjectKey, db
) -> None:
    await profiles.UpsertProfile(
        holder("ann", "ann@example.com", "shared@example.com"), metadata=project.auth
    )
    await profiles.UpsertProfile(holder("bob", "bob@example.com"), metadata=project.auth)
    assert not any((await marks(db, project)).values())
    # Another spelling of the same folded address, in another profile.
    await profiles.UpsertProfile(holder("bob", "Shared@example.com"), metadata=project.auth)
    assert await marks(db, project) == {
        ("ann", "ann@example.com"): False,
        ("ann", "shared@example.com"): True,
        ("bob", "bob@example.com"): False,
        ("bob", "Shared@example.com"): True,
    }


async def import_rows(
    *rows: profiles_pb2.UpsertProfileRequest,
) -> AsyncIterator[profiles_pb2.ImportProfilesRequest]:
    yield profiles_pb2.ImportProfilesRequest(profiles=list(rows))


async def test_an_import_marks_holders_written_in_the_same_round(profiles, project: ProjectKey, db) -> None:
    await profiles.ImportProfiles(
        import_rows(
            holder("ann", "team@example.com"),
            holder("bob", "team@example.com"),
            holder("cy", "cy@example.com"),
        ),
        metadata=project.auth,
    )
    assert await marks(db, project) == {
        ("ann", "team@example.com"): True,
        ("bob", "team@example.com"): True,
        ("cy", "cy@example.com"): False,
    }


async def test_concurrent_imports_of_one_addresses_mark_every_holder(
    profiles, project: ProjectKey, db
) -> None:
    """Several imports, each of several messages, write their address rows at the same time and then mark
    them one after the other: every address held by a profile of each import ends marked in all."""
    spellings = ("team{}@example.com", "Team{}@example.com", "TEAM{}@example.com")

    async def messages(source: int) -> AsyncIterator[profiles_pb2.ImportProfilesRequest]:
        for start in range(0, 120, 30):
            yield profiles_pb2.ImportProfilesRequest(
                profiles=[
                    holder(f"{source}-{n}", spellings[source].format(n), f"own{source}-{n}@example.com")
                    for n in range(start, start + 30)
                ]
            )

    replies = await asyncio.gather(
        *(profiles.ImportProfiles(messages(source), metadata=project.auth) for source in range(3))
    )

    assert [reply.imported for reply in replies] == [120, 120, 120]
    stored = await marks(db, project)
    assert len(stored) == 720
    assert {value for (_, value), shared in stored.items() if shared} == {
        spelling.format(n) for spelling in spellings for n in range(120)
    }


async def test_a_writer_adding_an_address_another_is_adding_waits_and_marks_both(
    profiles, project: ProjectKey, db
) -> None:
    """Neither writer's rows are visible to the other before commit: without the address-writers lock, both
    would look for other holders, find none, and leave the address unmarked in two profiles. The second
    writer waits at its marking, its own rows written."""
    ann = await profiles.UpsertProfile(holder("ann"), metadata=project.auth)
    changes = ProfileChanges(
        ref=Ref("custom_id", "ann"),
        observed_at=datetime.now(UTC),
        attributes={},
        remove_attributes=[],
        add_addresses=[(0, ParsedAddress("email", "race@example.com"))],
        remove_addresses=[],
        subscriptions=[],
    )
    async with db.acquire() as first:
        async with first.transaction():
            await write_addresses(
                first, project.project_id, [changes], [uuid.UUID(ann.profile_id)], 10, created=()
            )
            second = asyncio.ensure_future(
                profiles.UpsertProfile(holder("bob", "race@example.com"), metadata=project.auth)
            )
            await wait_for_lock_wait(db, "mark_shared_addresses")
            # Its address row is already written (the table opened for writing): writers wait for each
            # other only from their marking to their commit.
            assert await db.fetchval(
                """SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                   WHERE a.query LIKE '%mark_shared_addresses%' AND a.wait_event_type = 'Lock'
                     AND l.relation = 'profile_addresses'::regclass AND l.mode = 'RowExclusiveLock'"""
            )
        await second
    assert await marks(db, project) == {("ann", "race@example.com"): True, ("bob", "race@example.com"): True}


async def test_a_merge_marks_the_address_it_moves_to_the_target(profiles, project: ProjectKey, db) -> None:
    await profiles.UpsertProfile(holder("ann", "family@example.com"), metadata=project.auth)
    await profiles.UpsertProfile(holder("bob", "family@example.com"), metadata=project.auth)
    await profiles.UpsertProfile(holder("cy", "cy@example.com"), metadata=project.auth)
    await profiles.MergeProfiles(
        profiles_pb2.MergeProfilesRequest(
            source=common_pb2.ProfileRef(custom_id="bob"), target=common_pb2.ProfileRef(custom_id="cy")
        ),
        metadata=project.auth,
    )
    assert await marks(db, project) == {
        ("ann", "family@example.com"): True,
        ("cy", "family@example.com"): True,
        ("cy", "cy@example.com"): False,
    }


async def test_an_erased_holder_leaves_the_other_marked(profiles, project: ProjectKey, db) -> None:
    """Removals never clear a mark: the bulk read then probes that row and finds it alone."""
    await profiles.UpsertProfile(holder("ann", "pair@example.com"), metadata=project.auth)
    await profiles.UpsertProfile(holder("bob", "pair@example.com"), metadata=project.auth)
    await profiles.EraseProfile(
        profiles_pb2.EraseProfileRequest(profile=common_pb2.ProfileRef(custom_id="ann")),
        metadata=project.auth,
    )
    assert await marks(db, project) == {("bob", "pair@example.com"): True}
