"""GDPR: erasure leaves no row naming the person (checked in every table), suppression blocks re-creation,
and the export holds everything, streamed in chunks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg
import grpc
import orjson

from herald.v1 import common_pb2, profiles_pb2
from kernel.profiles.export import CHUNK_BYTES
from kernel.profiles.refs import suppressed_identities
from tests.conftest import ProjectKey, rpc_error


@dataclass(frozen=True)
class Person:
    profile_id: uuid.UUID
    custom_id: str
    anonymous_id: str
    email: str
    merged_profile_id: uuid.UUID
    merged_custom_id: str

    @property
    def needles(self) -> list[str]:
        """Every string that identifies the person; none may survive erasure."""
        return [
            str(self.profile_id),
            self.custom_id,
            self.anonymous_id,
            self.email,
            str(self.merged_profile_id),
            self.merged_custom_id,
        ]


async def seed_person(db: asyncpg.Pool, project_id: uuid.UUID, events: int = 3) -> Person:
    """A profile with attributes, identities, an address, subscriptions, events and a merge record."""
    tag = uuid.uuid4().hex
    person = Person(
        uuid.uuid4(), f"cust-{tag}", f"anon-{tag}", f"mail.{tag}@example.com", uuid.uuid4(), f"old-{tag}"
    )
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO profiles (project_id, profile_id, custom_id, attributes)
               VALUES ($1, $2, $3, $4)""",
            project_id,
            person.profile_id,
            person.custom_id,
            {"name": {"t": "s", "v": f"Name {tag}", "at": 1}, "age": {"t": "n", "v": 31, "at": 2}},
        )
        await conn.executemany(
            "INSERT INTO profile_identities (project_id, kind, value, profile_id) VALUES ($1, $2, $3, $4)",
            [
                (project_id, "custom", person.custom_id, person.profile_id),
                (project_id, "anonymous", person.anonymous_id, person.profile_id),
                (project_id, "custom", person.merged_custom_id, person.profile_id),
            ],
        )
        await conn.execute(
            """INSERT INTO profile_addresses (project_id, profile_id, kind, value)
               VALUES ($1, $2, 'email', $3)""",
            project_id,
            person.profile_id,
            person.email,
        )
        await conn.execute(
            """INSERT INTO profile_subscriptions (project_id, profile_id, channel, purpose, topic, status)
               VALUES ($1, $2, 'email', 'marketing', 'news', 'opted_in')""",
            project_id,
            person.profile_id,
        )
        await conn.execute(
            """INSERT INTO profile_merges
                   (project_id, merge_id, target_profile_id, source_profile_id, source_identities, reason)
               VALUES ($1, $2, $3, $4, $5, 'explicit')""",
            project_id,
            uuid.uuid4(),
            person.profile_id,
            person.merged_profile_id,
            [{"kind": "custom", "value": person.merged_custom_id}],
        )
        await conn.executemany(
            """INSERT INTO events (project_id, profile_id, occurred_at, name, client_event_id, attributes)
               VALUES ($1, $2, now() - make_interval(secs => $3), $4, $5, $6)""",
            [
                (
                    project_id,
                    person.profile_id,
                    float(events - i),
                    f"viewed_{i}",
                    f"evt-{tag}-{i}",
                    {"page": {"t": "s", "v": f"/p/{i}"}},
                )
                for i in range(events)
            ],
        )
    return person


async def tables_naming(db: asyncpg.Pool, needles: list[str]) -> dict[str, int]:
    """For every table of the public schema, how many rows contain one of ``needles`` in any column."""
    tables = await db.fetch(
        """SELECT quote_ident(table_name) AS name FROM information_schema.tables
           WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"""
    )
    assert len(tables) >= 9, "the schema lists fewer tables than the foundation created"
    found = {}
    for table in tables:
        count = await db.fetchval(
            f"""SELECT count(*) FROM {table["name"]} AS t
                WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) AS n WHERE strpos(t::text, n) > 0)""",
            needles,
        )
        if count:
            found[table["name"]] = count
    return found


def by_custom_id(custom_id: str) -> common_pb2.ProfileRef:
    return common_pb2.ProfileRef(custom_id=custom_id)


async def export(profiles, ref: common_pb2.ProfileRef, project: ProjectKey) -> list[bytes]:
    """ExportProfile's chunks."""
    call = profiles.ExportProfile(profiles_pb2.ExportProfileRequest(profile=ref), metadata=project.auth)
    return [chunk.data async for chunk in call]


async def test_erase_leaves_no_row_naming_the_person(profiles, project: ProjectKey, db) -> None:
    person = await seed_person(db, project.project_id, events=5)
    bystander = await seed_person(db, project.project_id)
    before = await tables_naming(db, person.needles)
    bystander_before = await tables_naming(db, bystander.needles)
    assert set(before) >= {
        "profiles",
        "profile_identities",
        "profile_addresses",
        "profile_subscriptions",
        "profile_merges",
        "events",
    }

    reply = await profiles.EraseProfile(
        profiles_pb2.EraseProfileRequest(profile=by_custom_id(person.custom_id)), metadata=project.auth
    )

    assert reply == profiles_pb2.EraseProfileResponse(
        profile_id=str(person.profile_id), events_erased=5, suppressed=False
    )
    assert await tables_naming(db, person.needles) == {}
    assert await tables_naming(db, bystander.needles) == bystander_before
    stored = await db.fetchval(
        "SELECT count(*) FROM suppressed_identifiers WHERE project_id = $1", project.project_id
    )
    assert stored == 0


async def test_erase_and_suppress_keeps_only_unreadable_hashes(profiles, project: ProjectKey, db) -> None:
    person = await seed_person(db, project.project_id)

    reply = await profiles.EraseProfile(
        profiles_pb2.EraseProfileRequest(
            profile=common_pb2.ProfileRef(anonymous_id=person.anonymous_id), suppress=True
        ),
        metadata=project.auth,
    )

    assert reply.suppressed and reply.profile_id == str(person.profile_id)
    assert await tables_naming(db, person.needles) == {}
    hashes = await db.fetch(
        "SELECT identifier_sha256 FROM suppressed_identifiers WHERE project_id = $1", project.project_id
    )
    # custom id, anonymous id, the merged-in custom id, and the email address.
    assert len(hashes) == 4
    identifiers = {
        ("custom", person.custom_id),
        ("anonymous", person.anonymous_id),
        ("custom", person.merged_custom_id),
        ("email", person.email),
    }
    async with db.acquire() as conn:
        assert await suppressed_identities(conn, project.project_id, identifiers) == identifiers
        assert await suppressed_identities(conn, project.project_id, {("custom", "someone-else")}) == set()


async def test_a_suppressed_person_cannot_come_back(profiles, project: ProjectKey, db) -> None:
    person = await seed_person(db, project.project_id)
    await profiles.EraseProfile(
        profiles_pb2.EraseProfileRequest(profile=by_custom_id(person.custom_id), suppress=True),
        metadata=project.auth,
    )

    for ref in (by_custom_id(person.custom_id), common_pb2.ProfileRef(anonymous_id=person.anonymous_id)):
        error = await rpc_error(
            profiles.UpsertProfile(profiles_pb2.UpsertProfileRequest(profile=ref), metadata=project.auth)
        )
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    tracked = await profiles.TrackEvents(
        profiles_pb2.TrackEventsRequest(
            events=[
                profiles_pb2.TrackedEvent(profile=by_custom_id(person.custom_id), name="came_back"),
                profiles_pb2.TrackedEvent(
                    profile=common_pb2.ProfileRef(anonymous_id=person.anonymous_id), name="came_back"
                ),
            ]
        ),
        metadata=project.auth,
    )
    assert (tracked.accepted, tracked.suppressed) == (0, 2)
    assert await tables_naming(db, person.needles) == {}


async def test_suppression_is_per_project(
    profiles, project: ProjectKey, other_project: ProjectKey, db
) -> None:
    person = await seed_person(db, project.project_id)
    await profiles.EraseProfile(
        profiles_pb2.EraseProfileRequest(profile=by_custom_id(person.custom_id), suppress=True),
        metadata=project.auth,
    )
    reply = await profiles.UpsertProfile(
        profiles_pb2.UpsertProfileRequest(profile=by_custom_id(person.custom_id)), metadata=other_project.auth
    )
    assert reply.created


async def test_erase_unknown_profile_is_not_found(profiles, project: ProjectKey) -> None:
    for ref in (by_custom_id("nobody"), common_pb2.ProfileRef(profile_id=str(uuid.uuid4()))):
        error = await rpc_error(
            profiles.EraseProfile(profiles_pb2.EraseProfileRequest(profile=ref), metadata=project.auth)
        )
        assert error.code() == grpc.StatusCode.NOT_FOUND
        assert error.details().startswith("profile:")


async def test_erase_and_export_validate_the_reference(profiles, project: ProjectKey) -> None:
    cases = [
        (common_pb2.ProfileRef(), "profile"),
        (common_pb2.ProfileRef(profile_id="not-a-uuid"), "profile.profile_id"),
        (common_pb2.ProfileRef(custom_id=""), "profile.custom_id"),
        (common_pb2.ProfileRef(anonymous_id="x" * 257), "profile.anonymous_id"),
    ]
    for ref, field in cases:
        erase = await rpc_error(
            profiles.EraseProfile(profiles_pb2.EraseProfileRequest(profile=ref), metadata=project.auth)
        )
        exported = await rpc_error(export(profiles, ref, project))
        for error in (erase, exported):
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert error.details().startswith(f"{field}:")


async def test_another_project_can_neither_erase_nor_export(
    profiles, project: ProjectKey, other_project: ProjectKey, db
) -> None:
    person = await seed_person(db, project.project_id)
    for ref in (by_custom_id(person.custom_id), common_pb2.ProfileRef(profile_id=str(person.profile_id))):
        erase = await rpc_error(
            profiles.EraseProfile(
                profiles_pb2.EraseProfileRequest(profile=ref, suppress=True), metadata=other_project.auth
            )
        )
        exported = await rpc_error(export(profiles, ref, other_project))
        assert erase.code() == exported.code() == grpc.StatusCode.NOT_FOUND
    assert "profiles" in await tables_naming(db, person.needles)


async def test_export_holds_everything_about_the_profile(profiles, project: ProjectKey, db) -> None:
    person = await seed_person(db, project.project_id, events=2)

    chunks = await export(profiles, by_custom_id(person.custom_id), project)

    document = orjson.loads(b"".join(chunks))
    assert list(document) == [
        "profile",
        "attributes",
        "identities",
        "addresses",
        "subscriptions",
        "merges",
        "events",
    ]
    assert document["profile"]["profile_id"] == str(person.profile_id)
    assert document["profile"]["custom_id"] == person.custom_id
    assert document["attributes"]["age"]["type"] == "number"
    assert document["attributes"]["age"]["value"] == 31
    assert document["attributes"]["name"]["type"] == "string"
    assert {(i["kind"], i["value"]) for i in document["identities"]} == {
        ("custom", person.custom_id),
        ("anonymous", person.anonymous_id),
        ("custom", person.merged_custom_id),
    }
    assert [a["value"] for a in document["addresses"]] == [person.email]
    assert [(s["channel"], s["topic"], s["status"]) for s in document["subscriptions"]] == [
        ("email", "news", "opted_in")
    ]
    assert document["merges"][0]["source_profile_id"] == str(person.merged_profile_id)
    assert [e["name"] for e in document["events"]] == ["viewed_0", "viewed_1"]
    assert document["events"][0]["attributes"] == {"page": {"type": "string", "value": "/p/0"}}


async def test_export_streams_every_event_in_bounded_chunks(profiles, project: ProjectKey, db) -> None:
    # ~150 bytes per event: 3000 events make several chunks and several database pages.
    person = await seed_person(db, project.project_id, events=3000)

    chunks = await export(profiles, common_pb2.ProfileRef(profile_id=str(person.profile_id)), project)

    assert len(chunks) > 3
    assert all(0 < len(chunk) <= CHUNK_BYTES for chunk in chunks)
    events = orjson.loads(b"".join(chunks))["events"]
    assert [e["event_id"] for e in events] == [f"evt-{person.custom_id[5:]}-{i}" for i in range(3000)]
