"""The inactivity purge removes exactly the profiles idle for longer than their project's retention."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from herald.v1 import profiles_pb2
from kernel.profiles.purge import purge_all_projects, purge_periodically, purge_project
from tests.conftest import ProjectKey, days, new_project
from tests.test_gdpr import Person, seed_person, tables_naming


async def idle_for(db: asyncpg.Pool, person: Person, days: float) -> None:
    await db.execute(
        "UPDATE profiles SET last_activity_at = now() - make_interval(secs => $2) WHERE profile_id = $1",
        person.profile_id,
        days * 86400,
    )


async def seed(profiles, db: asyncpg.Pool, project: ProjectKey, idle_days: list[float]) -> list[Person]:
    people = []
    for idle in idle_days:
        person = await seed_person(profiles, project, db)
        await idle_for(db, person, idle)
        people.append(person)
    return people


async def remaining(db: asyncpg.Pool, people: list[Person]) -> list[bool]:
    """For each person, whether any row anywhere still names them."""
    return [bool(await tables_naming(db, person.needles, person.project_id)) for person in people]


async def test_purge_removes_exactly_the_inactive_profiles(profiles, projects, db) -> None:
    project = await new_project(projects, inactivity_retention=days(30))
    neighbour = await new_project(projects, inactivity_retention=days(30))
    people = await seed(profiles, db, project, [31, 400, 29.9, 0, 30.01])
    neighbours = await seed(profiles, db, neighbour, [31, 1])

    reply = await profiles.PurgeInactiveProfiles(
        profiles_pb2.PurgeInactiveProfilesRequest(), metadata=project.auth
    )

    assert reply.profiles_purged == 3
    assert await remaining(db, people) == [False, False, True, True, False]
    assert await remaining(db, neighbours) == [True, True]
    again = await profiles.PurgeInactiveProfiles(
        profiles_pb2.PurgeInactiveProfilesRequest(), metadata=project.auth
    )
    assert again.profiles_purged == 0


async def test_zero_retention_purges_nothing(profiles, project: ProjectKey, db) -> None:
    people = await seed(profiles, db, project, [3650, 1])

    reply = await profiles.PurgeInactiveProfiles(
        profiles_pb2.PurgeInactiveProfilesRequest(), metadata=project.auth
    )

    assert reply.profiles_purged == 0
    assert await remaining(db, people) == [True, True]


async def test_purge_works_in_batches(profiles, projects, db) -> None:
    project = await new_project(projects, inactivity_retention=days(1))
    people = await seed(profiles, db, project, [2, 2, 2, 2, 2, 0])
    async with db.acquire() as conn:
        assert await purge_project(conn, project.project_id, batch_size=2) == 5
    assert await remaining(db, people) == [False] * 5 + [True]


async def test_scheduled_purge_covers_every_project_but_yields_to_another_kernel(
    profiles, projects, db
) -> None:
    first = await new_project(projects, inactivity_retention=days(7))
    second = await new_project(projects, inactivity_retention=days(90))
    people = await seed(profiles, db, first, [8, 6]) + await seed(profiles, db, second, [91, 8])
    async with db.acquire() as other_kernel, db.acquire() as conn:
        lock = await conn.fetchval("SELECT hashtextextended('herald.inactivity_purge', 0)")
        assert await other_kernel.fetchval("SELECT pg_try_advisory_lock($1)", lock)
        try:
            assert await purge_all_projects(conn) is None
            assert await remaining(db, people) == [True] * 4
        finally:
            await other_kernel.execute("SELECT pg_advisory_unlock($1)", lock)
        # Other tests' projects may hold inactive profiles too: the scheduled run takes them all.
        assert await purge_all_projects(conn) >= 2
    assert await remaining(db, people) == [False, True, False, True]


async def test_the_periodic_task_purges_on_its_own(profiles, projects, db) -> None:
    project = await new_project(projects, inactivity_retention=days(1))
    person = (await seed(profiles, db, project, [5]))[0]
    task = asyncio.create_task(purge_periodically(db, 0.01))
    try:
        for _ in range(1500):
            if await remaining(db, [person]) == [False]:
                break
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert await db.fetchval("SELECT count(*) FROM profiles WHERE profile_id = $1", person.profile_id) == 0


async def test_the_kernel_runs_the_scheduled_purge(server) -> None:
    names = {task.get_name() for task in asyncio.all_tasks()}
    assert "inactivity-purge" in names
