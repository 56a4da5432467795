"""Event ingestion: TrackEvents and StreamEvents against the real server and database.

Normal paths, idempotency, validation (the field is named and nothing is stored), the batch limit, the
stream's stored prefix, tenant isolation, suppression, and many concurrent calls sharing transactions.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta

import asyncpg
import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import strategies as st

from herald.v1 import common_pb2, profiles_pb2
from kernel.api.timestamps import from_datetime
from kernel.errors import InvalidArgument
from kernel.profiles.attributes import AttributeLimits, to_messages
from kernel.profiles.events import EventStore, validate_events
from kernel.profiles.timeline import LAST_SEEN
from kernel.settings import Settings
from kernel.storage.database import create_pool
from tests.conftest import ProjectKey, field_violations, rpc_error
from tests.profile_support import wait_for_lock_wait

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def event(
    custom_id: str = "",
    name: str = "viewed",
    *,
    anonymous_id: str = "",
    profile_id: str = "",
    time: datetime | None = T0,
    event_id: str = "",
    attributes: dict[str, common_pb2.AttributeValue] | None = None,
) -> profiles_pb2.TrackedEvent:
    if profile_id:
        ref = common_pb2.ProfileRef(profile_id=profile_id)
    elif anonymous_id:
        ref = common_pb2.ProfileRef(anonymous_id=anonymous_id)
    else:
        ref = common_pb2.ProfileRef(custom_id=custom_id or "someone")
    message = profiles_pb2.TrackedEvent(profile=ref, name=name, event_id=event_id, attributes=attributes)
    if time is not None:
        message.time.CopyFrom(from_datetime(time))
    return message


def batch(*events: profiles_pb2.TrackedEvent) -> profiles_pb2.TrackEventsRequest:
    return profiles_pb2.TrackEventsRequest(events=events)


def counts(reply: profiles_pb2.TrackEventsResponse) -> tuple[int, int, int]:
    return reply.accepted, reply.duplicates, reply.suppressed


async def stored_events(db: asyncpg.Pool, project: ProjectKey) -> list[asyncpg.Record]:
    return await db.fetch(
        """SELECT e.*, i.value AS custom_id FROM events e
           LEFT JOIN profile_identities i USING (project_id, profile_id)
           WHERE e.project_id = $1 ORDER BY e.event_seq""",
        project.project_id,
    )


async def profile_of(db: asyncpg.Pool, project: ProjectKey, kind: str, value: str) -> asyncpg.Record | None:
    return await db.fetchrow(
        f"""SELECT p.*, {LAST_SEEN} FROM profile_identities i JOIN profiles p USING (project_id, profile_id)
            WHERE i.project_id = $1 AND i.kind = $2 AND i.value = $3""",
        project.project_id,
        kind,
        value,
    )


async def row_count(db: asyncpg.Pool, table: str, project: ProjectKey) -> int:
    return await db.fetchval(f"SELECT count(*) FROM {table} WHERE project_id = $1", project.project_id)


def metadata(error: grpc.aio.AioRpcError) -> dict[str, str]:
    return {key: value for key, value in error.trailing_metadata() or ()}


async def test_batch_creates_profiles_and_stores_events(profiles, project: ProjectKey, db) -> None:
    reply = await profiles.TrackEvents(
        batch(
            event("alice", "signed_up"),
            event("alice", "viewed", time=T0 + timedelta(minutes=5)),
            event(anonymous_id="device-1", name="app.opened"),
        ),
        metadata=project.auth,
    )
    assert counts(reply) == (3, 0, 0)
    rows = await stored_events(db, project)
    assert [(r["custom_id"], r["name"], r["occurred_at"]) for r in rows] == [
        ("alice", "signed_up", T0),
        ("alice", "viewed", T0 + timedelta(minutes=5)),
        ("device-1", "app.opened", T0),
    ]
    alice = await profile_of(db, project, "custom", "alice")
    assert alice is not None and alice["custom_id"] == "alice"
    assert alice["last_seen_at"] == T0 + timedelta(minutes=5)
    anonymous = await profile_of(db, project, "anonymous", "device-1")
    assert anonymous is not None and anonymous["custom_id"] is None
    assert anonymous["profile_id"] != alice["profile_id"]


async def test_last_seen_only_moves_forward(profiles, project: ProjectKey, db) -> None:
    for when in (T0, T0 - timedelta(days=1), T0 + timedelta(hours=1)):
        await profiles.TrackEvents(batch(event("bob", time=when)), metadata=project.auth)
    bob = await profile_of(db, project, "custom", "bob")
    assert bob is not None and bob["last_seen_at"] == T0 + timedelta(hours=1)


async def test_time_defaults_to_receipt_and_activity_is_stamped(profiles, project: ProjectKey, db) -> None:
    before = datetime.now(UTC)
    await profiles.TrackEvents(batch(event("carol", time=None)), metadata=project.auth)
    after = datetime.now(UTC)
    [row] = await stored_events(db, project)
    assert before <= row["occurred_at"] <= after
    carol = await profile_of(db, project, "custom", "carol")
    assert carol is not None and carol["last_seen_at"] == row["occurred_at"]
    assert carol["last_activity_at"] >= before - timedelta(seconds=1)


async def test_times_are_stored_to_the_microsecond(profiles, project: ProjectKey, db) -> None:
    times = [
        datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
    ]
    request = batch(*[event("uma", time=t) for t in times])
    request.events[0].time.nanos += 999  # below a microsecond: truncated
    await profiles.TrackEvents(request, metadata=project.auth)
    assert [r["occurred_at"] for r in await stored_events(db, project)] == times
    uma = await profile_of(db, project, "custom", "uma")
    assert uma is not None and uma["last_seen_at"] == times[0]


async def test_attributes_round_trip(profiles, project: ProjectKey, db) -> None:
    attributes = {
        "sku": common_pb2.AttributeValue(string_value="A-12 é"),
        "price": common_pb2.AttributeValue(number_value=19.5),
        "gift": common_pb2.AttributeValue(bool_value=True),
        "ships": common_pb2.AttributeValue(datetime_value=from_datetime(T0)),
        "tags": common_pb2.AttributeValue(string_list_value=common_pb2.StringList(values=["b", "a", "b"])),
    }
    await profiles.TrackEvents(batch(event("dan", "bought", attributes=attributes)), metadata=project.auth)
    [row] = await stored_events(db, project)
    assert row["attributes"]["price"] == {"t": "n", "v": 19.5}
    assert to_messages(row["attributes"]) == attributes


async def test_tracked_events_show_in_the_profile_view(profiles, project: ProjectKey) -> None:
    attributes = {
        "sku": common_pb2.AttributeValue(string_value="B-7"),
        "tags": common_pb2.AttributeValue(string_list_value=common_pb2.StringList(values=["x"])),
    }
    await profiles.TrackEvents(
        batch(
            event("vic", "first", event_id="v-1"),
            event("vic", "second", time=T0 + timedelta(seconds=1), attributes=attributes),
        ),
        metadata=project.auth,
    )
    view = await profiles.GetProfile(
        profiles_pb2.GetProfileRequest(profile=common_pb2.ProfileRef(custom_id="vic")), metadata=project.auth
    )
    assert view.last_seen_at.ToDatetime(UTC) == T0 + timedelta(seconds=1)
    assert [(e.name, e.event_id) for e in view.recent_events] == [("second", ""), ("first", "v-1")]
    assert dict(view.recent_events[0].attributes) == attributes
    assert view.recent_events[0].time.ToDatetime(UTC) == T0 + timedelta(seconds=1)


async def test_event_id_makes_a_retry_a_no_op(profiles, project: ProjectKey, db) -> None:
    request = batch(event("erin", event_id="e-1"), event("erin", event_id="e-2"), event("erin"))
    assert counts(await profiles.TrackEvents(request, metadata=project.auth)) == (3, 0, 0)
    assert counts(await profiles.TrackEvents(request, metadata=project.auth)) == (1, 2, 0)
    ids = [r["client_event_id"] for r in await stored_events(db, project)]
    assert ids == ["e-1", "e-2", None, None]


async def test_duplicate_event_id_within_one_batch(profiles, project: ProjectKey, db) -> None:
    reply = await profiles.TrackEvents(
        batch(event("fay", "first", event_id="same"), event("fay", "second", event_id="same")),
        metadata=project.auth,
    )
    assert counts(reply) == (1, 1, 0)
    assert [r["name"] for r in await stored_events(db, project)] == ["first"]


async def test_profile_id_reference(profiles, project: ProjectKey, db) -> None:
    await profiles.TrackEvents(batch(event("gus")), metadata=project.auth)
    gus = await profile_of(db, project, "custom", "gus")
    assert gus is not None
    reply = await profiles.TrackEvents(
        batch(event(profile_id=str(gus["profile_id"]), name="by_id")), metadata=project.auth
    )
    assert counts(reply) == (1, 0, 0)
    unknown = str(uuid.uuid4())
    error = await rpc_error(
        profiles.TrackEvents(batch(event("new-person"), event(profile_id=unknown)), metadata=project.auth)
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details().startswith("events[1].profile.profile_id: ")
    assert await profile_of(db, project, "custom", "new-person") is None
    assert [r["name"] for r in await stored_events(db, project)] == ["viewed", "by_id"]


def _with(**changes: object) -> profiles_pb2.TrackedEvent:
    """A valid event with ``changes`` applied (``profile`` replaces the reference)."""
    profile = changes.pop("profile", None)
    message = event("victim", **changes)  # type: ignore[arg-type]
    if profile is not None:
        message.profile.CopyFrom(profile)  # type: ignore[arg-type]
    return message


NAME_CHARS = "abcXYZ019_.-é \x00"


@given(st.text(NAME_CHARS, max_size=140) | st.text(max_size=10).map(lambda t: "herald." + t))
def test_event_names_follow_the_documented_grammar(settings: Settings, name: str) -> None:
    """A letter, then letters, digits, '_', '.' or '-'; at most 128; not Herald's reserved prefix."""
    documented = (
        0 < len(name) <= 128
        and name[0].isascii()
        and name[0].isalpha()
        and all(c.isascii() and (c.isalnum() or c in "_.-") for c in name)
        and not name.startswith("herald.")
    )
    request = batch(event("x", name))
    try:
        validate_events(request.events, AttributeLimits.from_settings(settings), 1000, datetime.now(UTC))
    except InvalidArgument as error:
        assert not documented and error.field == "events[0].name"
    else:
        assert documented


INVALID = [
    (_with(name=""), "events[1].name"),
    (_with(name="9lives"), "events[1].name"),
    (_with(name="has space"), "events[1].name"),
    (_with(name="x" * 129), "events[1].name"),
    (_with(name="herald.delivered"), "events[1].name"),
    (_with(time=datetime.now(UTC) + timedelta(days=1)), "events[1].time"),
    (_with(event_id="x" * 129), "events[1].event_id"),
    (_with(event_id="tab\there"), "events[1].event_id"),
    (_with(profile=common_pb2.ProfileRef()), "events[1].profile"),
    (_with(profile=common_pb2.ProfileRef(custom_id="")), "events[1].profile.custom_id"),
    (_with(profile=common_pb2.ProfileRef(anonymous_id="x" * 257)), "events[1].profile.anonymous_id"),
    (_with(profile=common_pb2.ProfileRef(profile_id="nope")), "events[1].profile.profile_id"),
    (_with(attributes={"1st": common_pb2.AttributeValue(bool_value=True)}), 'events[1].attributes["1st"]'),
    (
        _with(attributes={"n": common_pb2.AttributeValue(number_value=float("nan"))}),
        'events[1].attributes["n"]',
    ),
    (_with(attributes={"empty": common_pb2.AttributeValue()}), 'events[1].attributes["empty"]'),
    (
        _with(attributes={"nul": common_pb2.AttributeValue(string_value="a\x00b")}),
        'events[1].attributes["nul"]',
    ),
    (
        _with(attributes={"at": common_pb2.AttributeValue(datetime_value=Timestamp(nanos=-1))}),
        'events[1].attributes["at"]',
    ),
]


@pytest.mark.parametrize(("bad", "field"), INVALID, ids=[field for _, field in INVALID])
async def test_one_invalid_event_rejects_the_call(profiles, project: ProjectKey, db, bad, field) -> None:
    error = await rpc_error(
        profiles.TrackEvents(batch(event("innocent", event_id="i-1"), bad), metadata=project.auth)
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith(f"{field}: "), error.details()
    assert metadata(error)["herald-field"] == field
    assert [violation[0] for violation in field_violations(error)] == [field]
    assert await row_count(db, "events", project) == 0
    assert await row_count(db, "profiles", project) == 0


async def test_a_property_name_metadata_cannot_carry_is_named_in_the_error_details(
    profiles, project: ProjectKey, db
) -> None:
    bad = _with(attributes={"prix_€": common_pb2.AttributeValue(bool_value=True)})
    error = await rpc_error(profiles.TrackEvents(batch(event("innocent"), bad), metadata=project.auth))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [violation[0] for violation in field_violations(error)] == ['events[1].attributes["prix_€"]']
    assert error.details().startswith('events[1].attributes["prix_\\u20ac"]: ')
    assert "herald-field" not in metadata(error)
    assert await row_count(db, "events", project) == 0


async def test_batch_limit(profiles, project: ProjectKey, db, settings) -> None:
    limit = settings.max_events_per_batch
    error = await rpc_error(profiles.TrackEvents(batch(*[event("hal")] * (limit + 1)), metadata=project.auth))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("events: at most 1000 events")
    assert await row_count(db, "events", project) == 0
    full = [event(f"user-{i % 37}", event_id=f"id-{i}") for i in range(limit)]
    assert counts(await profiles.TrackEvents(batch(*full), metadata=project.auth)) == (limit, 0, 0)
    assert await row_count(db, "events", project) == limit
    assert await row_count(db, "profiles", project) == 37


async def test_empty_batch_is_accepted(profiles, project: ProjectKey) -> None:
    assert counts(await profiles.TrackEvents(batch(), metadata=project.auth)) == (0, 0, 0)


async def requests(
    *messages: profiles_pb2.TrackEventsRequest,
) -> AsyncIterator[profiles_pb2.StreamEventsRequest]:
    """The batches as a StreamEvents stream (each message carries what a TrackEvents call would)."""
    for message in messages:
        yield profiles_pb2.StreamEventsRequest(events=message.events)


async def test_stream_sums_its_messages(profiles, project: ProjectKey, db) -> None:
    reply = await profiles.StreamEvents(
        requests(
            batch(event("ida", event_id="s-1"), event("jon")),
            batch(event("ida", event_id="s-1")),
            batch(),
            batch(event("kim", event_id="s-2")),
        ),
        metadata=project.auth,
    )
    assert counts(reply) == (3, 1, 0)
    assert sorted(r["custom_id"] for r in await stored_events(db, project)) == ["ida", "jon", "kim"]


async def test_stream_error_keeps_earlier_messages(profiles, project: ProjectKey, db) -> None:
    call = profiles.StreamEvents(
        requests(
            batch(event("lea", "m0")),
            batch(event("lea", "m1"), event("max", "m1")),
            batch(event("ned", "m2"), event("ned", "herald.sent")),
            batch(event("oz", "m3")),
        ),
        metadata=project.auth,
    )
    error = await rpc_error(call)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("messages[2].events[1].name: ")
    assert metadata(error)["herald-accepted-messages"] == "2"
    assert metadata(error)["herald-field"] == "messages[2].events[1].name"
    assert [violation[0] for violation in field_violations(error)] == ["messages[2].events[1].name"]
    assert [r["name"] for r in await stored_events(db, project)] == ["m0", "m1", "m1"]
    assert await profile_of(db, project, "custom", "ned") is None


async def test_stream_not_found_names_the_message(profiles, project: ProjectKey, db) -> None:
    error = await rpc_error(
        profiles.StreamEvents(
            requests(batch(event("pia")), batch(event(profile_id=str(uuid.uuid4()))), batch(event("q"))),
            metadata=project.auth,
        )
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details().startswith("messages[1].events[0].profile.profile_id: ")
    assert metadata(error)["herald-accepted-messages"] == "1"
    assert [r["custom_id"] for r in await stored_events(db, project)] == ["pia"]


async def test_stream_message_over_the_limit(profiles, project: ProjectKey, db) -> None:
    error = await rpc_error(
        profiles.StreamEvents(requests(batch(*[event("rex")] * 1001)), metadata=project.auth)
    )
    assert error.details().startswith("messages[0].events: at most 1000 events")
    assert metadata(error)["herald-accepted-messages"] == "0"
    assert await row_count(db, "events", project) == 0


async def test_events_stay_in_their_project(
    profiles, project: ProjectKey, other_project: ProjectKey, db
) -> None:
    await profiles.TrackEvents(batch(event("sam", event_id="shared-id")), metadata=project.auth)
    assert await row_count(db, "events", other_project) == 0
    assert await profile_of(db, other_project, "custom", "sam") is None
    # The same customer id and event id in another project are another person and another event.
    reply = await profiles.TrackEvents(batch(event("sam", event_id="shared-id")), metadata=other_project.auth)
    assert counts(reply) == (1, 0, 0)
    mine = await profile_of(db, project, "custom", "sam")
    theirs = await profile_of(db, other_project, "custom", "sam")
    assert mine is not None and theirs is not None and mine["profile_id"] != theirs["profile_id"]
    # A profile id of project A is unknown to project B.
    error = await rpc_error(
        profiles.TrackEvents(batch(event(profile_id=str(mine["profile_id"]))), metadata=other_project.auth)
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert await row_count(db, "events", project) == 1


async def suppress(db: asyncpg.Pool, project: ProjectKey, kind: str, value: str) -> None:
    """What erase-and-suppress leaves behind: the salted hash of the identifier."""
    await db.execute(
        """INSERT INTO suppressed_identifiers (project_id, identifier_sha256)
           SELECT project_id, sha256(suppression_salt || convert_to($2 || ':' || $3, 'UTF8'))
           FROM projects WHERE project_id = $1""",
        project.project_id,
        kind,
        value,
    )


async def test_suppressed_identifiers_are_dropped(profiles, project: ProjectKey, db) -> None:
    await suppress(db, project, "custom", "gone")
    await suppress(db, project, "anonymous", "gone-device")
    reply = await profiles.TrackEvents(
        batch(event("gone"), event("tom"), event(anonymous_id="gone-device"), event("gone")),
        metadata=project.auth,
    )
    assert counts(reply) == (1, 0, 3)
    assert await profile_of(db, project, "custom", "gone") is None
    assert await profile_of(db, project, "anonymous", "gone-device") is None
    assert [r["custom_id"] for r in await stored_events(db, project)] == ["tom"]


async def test_concurrent_single_event_calls_land_exactly_once(profiles, project: ProjectKey, db) -> None:
    rng = random.Random(7)
    people = [f"user-{i}" for i in range(25)]
    sent = [event(rng.choice(people), event_id=f"c-{i}", time=T0 + timedelta(seconds=i)) for i in range(400)]
    # Every tenth event is also sent a second time, concurrently: a retry racing its original.
    calls = [batch(e) for e in sent] + [batch(e) for e in sent[::10]]
    rng.shuffle(calls)
    replies = await asyncio.gather(*(profiles.TrackEvents(c, metadata=project.auth) for c in calls))
    assert sum(r.accepted for r in replies) == len(sent)
    assert sum(r.duplicates for r in replies) == len(sent[::10])
    rows = await stored_events(db, project)
    assert sorted(r["client_event_id"] for r in rows) == sorted(e.event_id for e in sent)
    latest = _latest_by_person(sent)
    for person, when in latest.items():
        profile = await profile_of(db, project, "custom", person)
        assert profile is not None and profile["last_seen_at"] == when
    assert await row_count(db, "profiles", project) == len(latest)


def _latest_by_person(events: Iterable[profiles_pb2.TrackedEvent]) -> dict[str, datetime]:
    latest: dict[str, datetime] = {}
    for e in events:
        when = e.time.ToDatetime(UTC)
        latest[e.profile.custom_id] = max(when, latest.get(e.profile.custom_id, when))
    return latest


async def test_concurrent_streams_and_batches_of_new_profiles(profiles, project: ProjectKey, db) -> None:
    """Calls that create the same new profiles at once end with one profile per customer id."""
    people = [f"new-{i}" for i in range(60)]

    def chunk(start: int) -> profiles_pb2.TrackEventsRequest:
        return batch(*[event(people[(start + i) % 60], event_id=f"n-{start}-{i}") for i in range(50)])

    replies = await asyncio.gather(
        *(profiles.TrackEvents(chunk(s), metadata=project.auth) for s in range(0, 300, 30)),
        *(
            profiles.StreamEvents(requests(chunk(s), chunk(s + 1)), metadata=project.auth)
            for s in range(1000, 1300, 60)
        ),
    )
    assert sum(r.accepted for r in replies) == 10 * 50 + 5 * 100
    assert await row_count(db, "events", project) == 1000
    assert await row_count(db, "profiles", project) == 60
    assert await row_count(db, "profile_identities", project) == 60


async def test_event_racing_a_merge_lands_on_the_surviving_profile(profiles, project: ProjectKey, db) -> None:
    await profiles.TrackEvents(batch(event(anonymous_id="dev-9"), event("known")), metadata=project.auth)
    source = await profile_of(db, project, "anonymous", "dev-9")
    target = await profile_of(db, project, "custom", "known")
    assert source is not None and target is not None
    ids = (project.project_id, source["profile_id"], target["profile_id"])
    async with db.acquire() as conn:
        merge = conn.transaction()
        await merge.start()
        # What a merge does: lock the source, move its identities and events, delete it.
        await conn.execute(
            "SELECT FROM profiles WHERE project_id = $1 AND profile_id = $2 FOR UPDATE", *ids[:2]
        )
        racing = asyncio.ensure_future(
            profiles.TrackEvents(batch(event(anonymous_id="dev-9", name="racing")), metadata=project.auth)
        )
        await wait_for_lock_wait(db, "WITH locked AS")
        await conn.execute(
            "UPDATE profile_identities SET profile_id = $3 WHERE project_id = $1 AND profile_id = $2", *ids
        )
        await conn.execute(
            "UPDATE events SET profile_id = $3 WHERE project_id = $1 AND profile_id = $2", *ids
        )
        await conn.execute("DELETE FROM profiles WHERE project_id = $1 AND profile_id = $2", *ids[:2])
        await merge.commit()
    assert counts(await racing) == (1, 0, 0)
    rows = await db.fetch("SELECT name, profile_id FROM events WHERE project_id = $1", project.project_id)
    assert {r["profile_id"] for r in rows} == {target["profile_id"]}
    assert sorted(r["name"] for r in rows) == ["racing", "viewed", "viewed"]


async def test_fast_commit_stores_and_counts_like_durable(db, project: ProjectKey) -> None:
    """event_commit = "fast" changes when a write is acknowledged, not what it stores."""
    limits = AttributeLimits.from_settings(Settings())
    received = datetime.now(UTC)
    first = validate_events([event("fast-1", event_id="f1"), event("fast-2")], limits, 1000, received)
    again = validate_events([event("fast-1", event_id="f1")], limits, 1000, received)
    store = EventStore(db, durable=False)
    [written] = await store.write(project.project_id, [first])
    [repeated] = await store.write(project.project_id, [again])
    assert (written.accepted, repeated.accepted, repeated.duplicates) == (2, 0, 1)
    assert await db.fetchval("SELECT count(*) FROM events WHERE project_id = $1", project.project_id) == 2


async def test_event_writes_are_planned_once_whatever_their_execution(
    server, db, project: ProjectKey
) -> None:
    """The event write's statements get a plan made without their parameters from their first execution on
    (keyed by ids, they need no other), so which plan they run never depends on how many times their
    connection ran them, and they are not planned again at each call (Herald's pool plans every other
    statement with its parameters)."""
    limits = AttributeLimits.from_settings(Settings())
    pool = await create_pool(server.kernel.db.dsn, min_size=1, max_size=1)  # one connection, as the kernel's
    try:
        store = EventStore(pool)
        for index in range(8):
            batch = [event(f"planned-{index}-{n}", name="viewed") for n in range(index + 1)]
            await store.write(project.project_id, [validate_events(batch, limits, 1000, datetime.now(UTC))])
        plans = await pool.fetch(
            """SELECT statement, custom_plans, generic_plans FROM pg_prepared_statements
               WHERE statement LIKE $1""",
            "%events%",
        )
    finally:
        await pool.close()
    assert plans, "the event write prepared no statement"
    assert {p["statement"]: p["custom_plans"] for p in plans} == {p["statement"]: 0 for p in plans}
    assert all(p["generic_plans"] >= 8 for p in plans)
    assert await db.fetchval("SELECT count(*) FROM events WHERE project_id = $1", project.project_id) == 36
