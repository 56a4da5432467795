"""Identify and MergeProfiles: outcomes, merge semantics, concurrency and tenant isolation."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from herald.v1 import common_pb2, profiles_pb2
from kernel.api.timestamps import to_datetime
from kernel.profiles.merge import merge_attributes
from tests.conftest import ProjectKey, rpc_error
from tests.profile_support import (
    APNS,
    EMAIL,
    ago,
    anonymous,
    by_id,
    custom,
    erase_and_suppress,
    get_view,
    insert_events,
    owner,
    row_counts,
    subscription,
    text,
    upsert,
)

IN = common_pb2.SUBSCRIPTION_STATUS_OPTED_IN
OUT = common_pb2.SUBSCRIPTION_STATUS_OPTED_OUT
MAIL = "email"
LINKED = profiles_pb2.IDENTIFY_OUTCOME_LINKED
MERGED = profiles_pb2.IDENTIFY_OUTCOME_MERGED
ALREADY = profiles_pb2.IDENTIFY_OUTCOME_ALREADY_IDENTIFIED
REASSIGNED = profiles_pb2.IDENTIFY_OUTCOME_REASSIGNED


async def identify(
    profiles, project: ProjectKey, anonymous_id: str, custom_id: str
) -> profiles_pb2.IdentifyResponse:
    return await profiles.Identify(
        profiles_pb2.IdentifyRequest(anonymous_id=anonymous_id, custom_id=custom_id), metadata=project.auth
    )


async def merge(profiles, project: ProjectKey, source, target) -> profiles_pb2.MergeProfilesResponse:
    return await profiles.MergeProfiles(
        profiles_pb2.MergeProfilesRequest(source=source, target=target), metadata=project.auth
    )


async def test_identify_of_two_new_ids_creates_one_known_profile(profiles, project: ProjectKey, db) -> None:
    reply = await identify(profiles, project, "device-1", "user-1")
    assert reply.outcome == LINKED
    assert reply.merged_profile_id == ""
    view = await get_view(profiles, project, anonymous("device-1"))
    assert view.profile_id == reply.profile_id
    assert view.custom_id == "user-1"
    assert {(i.kind, i.value) for i in view.identities} == {
        (profiles_pb2.IDENTITY_KIND_CUSTOM, "user-1"),
        (profiles_pb2.IDENTITY_KIND_ANONYMOUS, "device-1"),
    }
    assert (await row_counts(db, project.project_id))["profiles"] == 1


async def test_anonymous_profile_becomes_known_when_the_customer_is_new(
    profiles, project: ProjectKey
) -> None:
    visitor = await upsert(profiles, project, anonymous("device-1"), attributes={"cart": text("3 items")})
    reply = await identify(profiles, project, "device-1", "user-1")
    assert (reply.outcome, reply.profile_id) == (LINKED, visitor.profile_id)
    view = await get_view(profiles, project, custom("user-1"))
    assert view.profile_id == visitor.profile_id
    assert view.custom_id == "user-1"
    assert view.attributes["cart"].string_value == "3 items"


async def test_unknown_anonymous_id_joins_the_known_profile(profiles, project: ProjectKey) -> None:
    known = await upsert(profiles, project, custom("user-1"))
    reply = await identify(profiles, project, "device-2", "user-1")
    assert (reply.outcome, reply.profile_id) == (LINKED, known.profile_id)
    assert (await get_view(profiles, project, anonymous("device-2"))).profile_id == known.profile_id


async def test_identify_merges_the_anonymous_profile_into_the_known_one(
    profiles, project: ProjectKey, db
) -> None:
    known = await upsert(
        profiles,
        project,
        custom("user-1"),
        observed_at=ago(100),
        attributes={"city": text("Paris"), "plan": text("gold")},
        add_addresses=[common_pb2.Address(kind=EMAIL, value="ann@example.com")],
        subscriptions=[subscription(MAIL, OUT)],
    )
    await upsert(
        profiles, project, custom("user-1"), observed_at=ago(10), attributes={"plan": text("platinum")}
    )
    visitor = await upsert(
        profiles,
        project,
        anonymous("device-1"),
        observed_at=ago(50),
        attributes={"city": text("Lyon"), "plan": text("trial"), "utm": text("ad-7")},
        add_addresses=[
            common_pb2.Address(kind=EMAIL, value="ann@EXAMPLE.com"),
            common_pb2.Address(kind=APNS, value="ab" * 32),
        ],
        subscriptions=[subscription(MAIL, IN), subscription(MAIL, IN, topic="deals")],
    )
    await insert_events(db, project.project_id, known.profile_id, [("login", ago(300))])
    seen = ago(20)  # the newest event of both profiles: the merged profile's last-seen time
    await insert_events(db, project.project_id, visitor.profile_id, [("view", ago(200)), ("cart", seen)])

    reply = await identify(profiles, project, "device-1", "user-1")

    assert reply.outcome == MERGED
    assert (reply.profile_id, reply.merged_profile_id) == (known.profile_id, visitor.profile_id)
    view = await get_view(profiles, project, anonymous("device-1"))
    assert view.profile_id == known.profile_id
    assert view.custom_id == "user-1"
    # Most recent write per attribute: the visitor's newer city, the customer's newer plan, the visitor's utm.
    assert {k: v.string_value for k, v in view.attributes.items()} == {
        "city": "Lyon",
        "plan": "platinum",
        "utm": "ad-7",
    }
    assert sorted(e.name for e in view.recent_events) == ["cart", "login", "view"]
    assert {(a.kind, a.value) for a in view.addresses} == {(EMAIL, "ann@example.com"), (APNS, "ab" * 32)}
    states = {(s.channel, s.topic): s.status for s in view.subscriptions}
    assert states == {(MAIL, ""): OUT, (MAIL, "deals"): IN}  # the known opt-out survives the anonymous opt-in
    assert to_datetime(view.last_seen_at) == seen
    assert (
        await db.fetchval(
            "SELECT count(*) FROM profiles WHERE project_id = $1 AND profile_id = $2",
            project.project_id,
            uuid.UUID(visitor.profile_id),
        )
        == 0
    )
    record = await db.fetchrow("SELECT * FROM profile_merges WHERE project_id = $1", project.project_id)
    assert str(record["target_profile_id"]) == known.profile_id
    assert str(record["source_profile_id"]) == visitor.profile_id
    assert record["reason"] == "identify"
    assert record["source_identities"] == [{"kind": "anonymous", "value": "device-1"}]
    counts = await row_counts(db, project.project_id)
    assert (counts["profiles"], counts["events"], counts["profile_addresses"]) == (1, 3, 2)

    again = await identify(profiles, project, "device-1", "user-1")
    assert (again.outcome, again.profile_id) == (ALREADY, known.profile_id)
    assert (
        await db.fetchval("SELECT count(*) FROM profile_merges WHERE project_id = $1", project.project_id)
        == 1
    )


async def test_another_customers_anonymous_id_is_reassigned_not_merged(
    profiles, project: ProjectKey, db
) -> None:
    first = await identify(profiles, project, "shared-tablet", "alice")
    await upsert(profiles, project, custom("alice"), attributes={"name": text("Alice")})
    bob = await upsert(profiles, project, custom("bob"), attributes={"name": text("Bob")})

    reply = await identify(profiles, project, "shared-tablet", "bob")

    assert (reply.outcome, reply.profile_id, reply.merged_profile_id) == (REASSIGNED, bob.profile_id, "")
    assert str(await owner(db, project.project_id, "anonymous", "shared-tablet")) == bob.profile_id
    alice = await get_view(profiles, project, custom("alice"))
    assert alice.profile_id == first.profile_id
    assert alice.attributes["name"].string_value == "Alice"
    assert [i.value for i in alice.identities] == ["alice"]
    assert (await get_view(profiles, project, custom("bob"))).attributes["name"].string_value == "Bob"
    assert (
        await db.fetchval("SELECT count(*) FROM profile_merges WHERE project_id = $1", project.project_id)
        == 0
    )


async def test_reassigning_to_a_new_customer_creates_their_profile(profiles, project: ProjectKey, db) -> None:
    alice = await identify(profiles, project, "shared-tablet", "alice")
    reply = await identify(profiles, project, "shared-tablet", "carol")
    assert reply.outcome == REASSIGNED
    assert reply.profile_id != alice.profile_id
    carol = await get_view(profiles, project, custom("carol"))
    assert carol.profile_id == reply.profile_id
    assert {i.value for i in carol.identities} == {"carol", "shared-tablet"}
    assert (await get_view(profiles, project, custom("alice"))).profile_id == alice.profile_id
    assert (await row_counts(db, project.project_id))["profiles"] == 2


@pytest.mark.parametrize(
    ("anonymous_id", "custom_id", "field"),
    [("", "user-1", "anonymous_id"), ("device-1", "", "custom_id"), ("device-1", "u" * 257, "custom_id")],
)
async def test_identify_validation(profiles, project: ProjectKey, db, anonymous_id, custom_id, field) -> None:
    error = await rpc_error(identify(profiles, project, anonymous_id, custom_id))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith(f"{field}: ")
    assert set((await row_counts(db, project.project_id)).values()) == {0}


async def test_identify_never_recreates_a_suppressed_person(profiles, project: ProjectKey, db) -> None:
    await identify(profiles, project, "old-device", "someone")
    await erase_and_suppress(profiles, project, anonymous("old-device"))
    error = await rpc_error(identify(profiles, project, "old-device", "user-1"))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details().startswith("anonymous_id: ")
    assert set((await row_counts(db, project.project_id)).values()) == {0}


async def test_concurrent_identify_of_one_login_yields_one_profile(profiles, project: ProjectKey, db) -> None:
    await upsert(profiles, project, anonymous("device-1"), attributes={"a": text("1")})
    await upsert(profiles, project, custom("user-1"), attributes={"b": text("2")})
    replies = await asyncio.gather(*(identify(profiles, project, "device-1", "user-1") for _ in range(8)))
    assert sorted(r.outcome for r in replies) == [MERGED] + [ALREADY] * 7
    assert len({r.profile_id for r in replies}) == 1
    assert (await row_counts(db, project.project_id))["profiles"] == 1

    fresh = await asyncio.gather(*(identify(profiles, project, "device-9", "user-9") for _ in range(8)))
    assert sorted(r.outcome for r in fresh) == [LINKED] + [ALREADY] * 7
    assert len({r.profile_id for r in fresh}) == 1
    assert (await row_counts(db, project.project_id))["profiles"] == 2


async def test_identify_racing_upserts_of_the_same_ids(profiles, project: ProjectKey, db) -> None:
    calls = []
    for round_ in range(6):
        calls += [
            identify(profiles, project, f"d{round_}", f"u{round_}"),
            upsert(profiles, project, anonymous(f"d{round_}"), attributes={"x": text("y")}),
            upsert(profiles, project, custom(f"u{round_}"), attributes={"z": text("w")}),
        ]
    await asyncio.gather(*calls)
    for round_ in range(6):
        anon = await owner(db, project.project_id, "anonymous", f"d{round_}")
        assert anon == await owner(db, project.project_id, "custom", f"u{round_}")
    assert (await row_counts(db, project.project_id))["profiles"] == 6


async def test_a_profiles_custom_id_is_always_its_own_identity(profiles, project: ProjectKey, db) -> None:
    """What keeps custom ids unique per project (no index on profiles.custom_id does): every writer sets a
    profile's custom id only with the identity ('custom', value), unique by its key, pointing at it."""
    await upsert(profiles, project, custom("u1"))
    await upsert(profiles, project, anonymous("d2"))
    await identify(profiles, project, "d2", "u2")  # the visitor's profile becomes the customer's
    await upsert(profiles, project, custom("u3"))
    await upsert(profiles, project, anonymous("d3"))
    await merge(profiles, project, custom("u3"), anonymous("d3"))  # the target takes the custom id over
    await upsert(profiles, project, custom("u4"))
    await upsert(profiles, project, custom("u5"))
    await merge(profiles, project, custom("u4"), custom("u5"))
    await asyncio.gather(
        identify(profiles, project, "d6", "u6"),
        upsert(profiles, project, custom("u6")),
        upsert(profiles, project, anonymous("d6")),
    )
    custom_ids = await db.fetch(
        """SELECT p.custom_id, i.profile_id = p.profile_id AS own
           FROM profiles p LEFT JOIN profile_identities i
               ON i.project_id = p.project_id AND i.kind = 'custom' AND i.value = p.custom_id
           WHERE p.project_id = $1 AND p.custom_id IS NOT NULL ORDER BY 1""",
        project.project_id,
    )
    assert [(r["custom_id"], r["own"]) for r in custom_ids] == [
        ("u1", True),
        ("u2", True),
        ("u3", True),
        ("u5", True),
        ("u6", True),
    ]


async def test_explicit_merge_of_two_customers(profiles, project: ProjectKey, db) -> None:
    old = await upsert(profiles, project, custom("ann-old"), attributes={"since": text("2019")})
    await identify(profiles, project, "ann-laptop", "ann-old")
    new = await upsert(profiles, project, custom("ann-new"), attributes={"since": text("2024")})

    reply = await merge(profiles, project, custom("ann-old"), custom("ann-new"))

    assert reply.profile_id == new.profile_id
    view = await get_view(profiles, project, custom("ann-old"))
    assert view.profile_id == new.profile_id
    assert view.custom_id == "ann-new"
    assert view.attributes["since"].string_value == "2024"
    assert {(i.kind, i.value) for i in view.identities} == {
        (profiles_pb2.IDENTITY_KIND_CUSTOM, "ann-new"),
        (profiles_pb2.IDENTITY_KIND_CUSTOM, "ann-old"),
        (profiles_pb2.IDENTITY_KIND_ANONYMOUS, "ann-laptop"),
    }
    record = await db.fetchrow(
        "SELECT * FROM profile_merges WHERE project_id = $1 AND merge_id = $2",
        project.project_id,
        uuid.UUID(reply.merge_id),
    )
    assert record["reason"] == "explicit"
    assert str(record["source_profile_id"]) == old.profile_id
    assert {(i["kind"], i["value"]) for i in record["source_identities"]} == {
        ("custom", "ann-old"),
        ("anonymous", "ann-laptop"),
    }
    # Identify on the alias is a no-op: it resolves to the merged profile already.
    again = await identify(profiles, project, "ann-laptop", "ann-old")
    assert (again.outcome, again.profile_id) == (ALREADY, new.profile_id)


async def test_merge_history_follows_the_surviving_profile(profiles, project: ProjectKey, db) -> None:
    a = await upsert(profiles, project, custom("a"))
    b = await upsert(profiles, project, custom("b"))
    c = await upsert(profiles, project, anonymous("c"))
    await merge(profiles, project, by_id(a.profile_id), by_id(b.profile_id))
    await merge(profiles, project, custom("b"), anonymous("c"))
    targets = await db.fetch(
        "SELECT DISTINCT target_profile_id FROM profile_merges WHERE project_id = $1", project.project_id
    )
    assert [str(r["target_profile_id"]) for r in targets] == [c.profile_id]
    # An anonymous target takes over the source's custom id as its own.
    view = await get_view(profiles, project, custom("a"))
    assert (view.profile_id, view.custom_id) == (c.profile_id, "b")


@pytest.mark.parametrize(
    ("source", "target", "code", "field"),
    [
        (custom("x"), custom("x"), grpc.StatusCode.INVALID_ARGUMENT, "target"),
        (custom("x"), anonymous("x-device"), grpc.StatusCode.INVALID_ARGUMENT, "target"),
        (custom("nobody"), custom("x"), grpc.StatusCode.NOT_FOUND, "source"),
        (custom("x"), by_id(uuid.uuid4()), grpc.StatusCode.NOT_FOUND, "target"),
        (common_pb2.ProfileRef(), custom("x"), grpc.StatusCode.INVALID_ARGUMENT, "source"),
        (custom("x"), by_id("nope"), grpc.StatusCode.INVALID_ARGUMENT, "target.profile_id"),
    ],
    ids=["same-ref", "same-profile", "unknown-source", "unknown-target", "no-source", "bad-target"],
)
async def test_merge_errors_change_nothing(
    profiles, project: ProjectKey, db, source, target, code, field
) -> None:
    await identify(profiles, project, "x-device", "x")
    before = await row_counts(db, project.project_id)
    error = await rpc_error(merge(profiles, project, source, target))
    assert error.code() == code
    assert error.details().startswith(f"{field}: ")
    assert await row_counts(db, project.project_id) == before
    assert (
        await db.fetchval("SELECT count(*) FROM profile_merges WHERE project_id = $1", project.project_id)
        == 0
    )


async def test_identity_calls_never_cross_projects(
    profiles, project: ProjectKey, other_project: ProjectKey, db
) -> None:
    mine = await identify(profiles, project, "device-1", "user-1")
    mine_too = await upsert(profiles, project, custom("user-2"))
    error = await rpc_error(
        merge(profiles, other_project, by_id(mine_too.profile_id), by_id(mine.profile_id))
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    theirs = await identify(profiles, other_project, "device-1", "user-1")
    assert theirs.outcome == LINKED
    assert theirs.profile_id != mine.profile_id
    assert (await get_view(profiles, project, anonymous("device-1"))).profile_id == mine.profile_id
    assert (await row_counts(db, project.project_id))["profiles"] == 2
    assert (
        await db.fetchval("SELECT count(*) FROM profile_merges WHERE project_id = $1", project.project_id)
        == 0
    )


_stored = st.dictionaries(
    st.sampled_from("abcdef"),
    st.builds(lambda v, at: {"t": "n", "v": v, "at": at}, st.integers(0, 9), st.integers(0, 5)),
    max_size=6,
)


@given(target=_stored, source=_stored)
def test_merged_attributes_keep_the_latest_write_and_the_target_on_ties(target, source) -> None:
    merged = merge_attributes(target, source)
    assert merged.keys() == target.keys() | source.keys()
    for key, value in merged.items():
        candidates = [side[key] for side in (target, source) if key in side]
        assert value["at"] == max(c["at"] for c in candidates)
        if key in target and value["at"] == target[key]["at"]:
            assert value is target[key]
