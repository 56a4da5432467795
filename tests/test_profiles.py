"""UpsertProfile, GetProfile and ListProfileEvents through the real server, checked against the database."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import strategies as st

from herald.v1 import common_pb2, profiles_pb2
from kernel.api.timestamps import from_datetime, to_datetime
from kernel.errors import InvalidArgument
from kernel.profiles.timeline import Position, decode_token, encode_token
from tests.conftest import ProjectKey, field_violations, rpc_error
from tests.profile_support import (
    APNS,
    AUTH,
    EMAIL,
    FCM,
    P256DH,
    PHONE,
    address,
    ago,
    anonymous,
    by_id,
    custom,
    erase_and_suppress,
    get_view,
    insert_events,
    number,
    row_counts,
    subscription,
    text,
    upsert,
    web_push,
)

IN = common_pb2.SUBSCRIPTION_STATUS_OPTED_IN
OUT = common_pb2.SUBSCRIPTION_STATUS_OPTED_OUT
TOKEN = "a1" * 32


async def test_upsert_creates_then_updates_by_custom_id(profiles, project: ProjectKey, db) -> None:
    first = await upsert(profiles, project, custom("u1"), attributes={"plan": text("free")})
    assert first.created
    second = await upsert(profiles, project, custom("u1"), attributes={"plan": text("pro")})
    assert not second.created
    assert second.profile_id == first.profile_id
    view = await get_view(profiles, project, custom("u1"))
    assert view.custom_id == "u1"
    assert view.attributes["plan"].string_value == "pro"
    assert [(i.kind, i.value) for i in view.identities] == [(profiles_pb2.IDENTITY_KIND_CUSTOM, "u1")]
    assert (await row_counts(db, project.project_id))["profiles"] == 1


async def test_upsert_by_anonymous_id_then_by_profile_id(profiles, project: ProjectKey) -> None:
    created = await upsert(profiles, project, anonymous("device-1"), attributes={"os": text("ios")})
    assert created.created
    again = await upsert(profiles, project, by_id(created.profile_id), attributes={"os": text("android")})
    assert (again.profile_id, again.created) == (created.profile_id, False)
    view = await get_view(profiles, project, anonymous("device-1"))
    assert view.custom_id == ""
    assert [(i.kind, i.value) for i in view.identities] == [
        (profiles_pb2.IDENTITY_KIND_ANONYMOUS, "device-1")
    ]
    assert view.attributes["os"].string_value == "android"


async def test_upsert_by_unknown_profile_id_is_not_found(profiles, project: ProjectKey, db) -> None:
    error = await rpc_error(upsert(profiles, project, by_id(uuid.uuid4()), attributes={"a": text("x")}))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details().startswith("profile:")
    assert (await row_counts(db, project.project_id))["profiles"] == 0


async def test_every_attribute_type_round_trips_and_removal_works(profiles, project: ProjectKey, db) -> None:
    when = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    observed = ago(30)
    await upsert(
        profiles,
        project,
        custom("u1"),
        observed_at=observed,
        attributes={
            "name": text("Ann"),
            "age": number(41.5),
            "vip": common_pb2.AttributeValue(bool_value=True),
            "born": common_pb2.AttributeValue(datetime_value=from_datetime(when)),
            "tags": common_pb2.AttributeValue(
                string_list_value=common_pb2.StringList(values=["a", "b", "a"])
            ),
        },
    )
    view = await get_view(profiles, project, custom("u1"))
    assert view.attributes["name"].string_value == "Ann"
    assert view.attributes["age"].number_value == 41.5
    assert view.attributes["vip"].bool_value is True
    assert to_datetime(view.attributes["born"].datetime_value) == when
    assert list(view.attributes["tags"].string_list_value.values) == ["a", "b", "a"]
    stored = await db.fetchval("SELECT attributes FROM profiles WHERE project_id = $1", project.project_id)
    assert stored["age"] == {"t": "n", "v": 41.5, "at": int(observed.timestamp() * 1000)}

    await upsert(profiles, project, custom("u1"), remove_attributes=["age", "never_set"])
    view = await get_view(profiles, project, custom("u1"))
    assert set(view.attributes) == {"name", "vip", "born", "tags"}


async def test_upsert_refreshes_updated_and_activity_times(profiles, project: ProjectKey, db) -> None:
    await upsert(profiles, project, custom("u1"))
    await db.execute(
        """UPDATE profiles SET updated_at = now() - interval '1 day',
               last_activity_at = now() - interval '1 day'
           WHERE project_id = $1""",
        project.project_id,
    )
    await upsert(profiles, project, custom("u1"), attributes={"a": text("x")})
    fresh = await db.fetchrow(
        "SELECT now() - updated_at AS updated, now() - last_activity_at AS active FROM profiles "
        "WHERE project_id = $1",
        project.project_id,
    )
    assert fresh["updated"] < timedelta(hours=1)
    assert fresh["active"] < timedelta(hours=1)


async def test_addresses_are_normalised_and_removable(profiles, project: ProjectKey, db) -> None:
    await upsert(
        profiles,
        project,
        custom("u1"),
        add_addresses=[
            address(EMAIL, "Ann@Example.COM"),
            address(PHONE, "+33 6 12 34 56 78"),
            address(APNS, TOKEN.upper()),
            address(FCM, "fcm:token-1"),
            web_push("https://push.example/sub/1"),
        ],
    )
    view = await get_view(profiles, project, custom("u1"))
    assert {(a.kind, a.value) for a in view.addresses} == {
        (EMAIL, "Ann@example.com"),
        (PHONE, "+33612345678"),
        (APNS, TOKEN),
        (FCM, "fcm:token-1"),
        ("web_push", "https://push.example/sub/1"),
    }
    push = next(a for a in view.addresses if a.kind == "web_push")
    assert dict(push.details) == {"p256dh": P256DH, "auth": AUTH}

    # Adding an address again is no duplicate; removal takes any spelling of it.
    await upsert(
        profiles,
        project,
        custom("u1"),
        add_addresses=[address(EMAIL, "Ann@example.com")],
        remove_addresses=[
            address(PHONE, "+33612345678"),
            address("web_push", "https://push.example/sub/1"),
        ],
    )
    kinds = await db.fetch(
        "SELECT kind FROM profile_addresses WHERE project_id = $1 ORDER BY kind", project.project_id
    )
    assert [r["kind"] for r in kinds] == ["apns_token", "email", "fcm_token"]


async def test_push_tokens_move_but_emails_are_shared(profiles, project: ProjectKey, db) -> None:
    endpoint = "https://push.example/sub/9"
    shared = [address(EMAIL, "family@example.com"), address(APNS, TOKEN), web_push(endpoint)]
    first = await upsert(profiles, project, custom("parent"), add_addresses=shared)
    second = await upsert(profiles, project, custom("child"), add_addresses=shared)
    rows = await db.fetch(
        "SELECT kind, profile_id FROM profile_addresses WHERE project_id = $1", project.project_id
    )
    holders: dict[str, set[str]] = {}
    for row in rows:
        holders.setdefault(row["kind"], set()).add(str(row["profile_id"]))
    assert holders == {
        "email": {first.profile_id, second.profile_id},
        "apns_token": {second.profile_id},
        "web_push": {second.profile_id},
    }


async def test_subscriptions_are_set_and_updated(profiles, project: ProjectKey) -> None:
    await upsert(
        profiles,
        project,
        custom("u1"),
        subscriptions=[
            subscription("email", IN),
            subscription("email", IN, topic="newsletter_weekly"),
            subscription("sms", OUT, common_pb2.PURPOSE_TRANSACTIONAL),
        ],
    )
    await upsert(profiles, project, custom("u1"), subscriptions=[subscription("email", OUT)])
    view = await get_view(profiles, project, custom("u1"))
    states = {(s.channel, s.purpose, s.topic): s.status for s in view.subscriptions}
    assert states == {
        ("email", common_pb2.PURPOSE_MARKETING, ""): OUT,
        ("email", common_pb2.PURPOSE_MARKETING, "newsletter_weekly"): IN,
        ("sms", common_pb2.PURPOSE_TRANSACTIONAL, ""): OUT,
    }
    assert all(s.HasField("updated_at") for s in view.subscriptions)


def _bad(**changes: object) -> dict[str, object]:
    """A request that is valid except for one part: it also carries changes that must not be stored."""
    return {
        "attributes": {"plan": text("pro")},
        "add_addresses": [address(EMAIL, "ok@example.com")],
        "subscriptions": [subscription("push", IN)],
    } | changes


WEB_PUSH_NO_KEYS = common_pb2.Address(kind="web_push", value="https://push.example/1")


MAIL = "email"
NO_CHANNEL = ""
NO_PURPOSE = common_pb2.PURPOSE_UNSPECIFIED
NO_STATUS = common_pb2.SUBSCRIPTION_STATUS_UNSPECIFIED
NO_KIND = ""
# 0x04 and 64 bytes, but not a point of the curve: encryption to it could only fail at send time.
NOT_ON_THE_CURVE = common_pb2.Address(
    kind="web_push",
    value="https://push.example/1",
    details={
        "p256dh": base64.urlsafe_b64encode(b"\x04" + bytes(range(1, 65))).rstrip(b"=").decode(),
        "auth": AUTH,
    },
)
OUT_OF_RANGE_NANOS = common_pb2.AttributeValue(datetime_value=Timestamp(seconds=0, nanos=1_000_000_000))
TWO_GOOD_ONE_BAD = [address(EMAIL, "a@example.com"), address(PHONE, "+33612345678"), address(EMAIL, "nope")]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (_bad(attributes={"1st": text("x")}), 'attributes["1st"]'),
        (_bad(attributes={"age": number(float("nan"))}), 'attributes["age"]'),
        (_bad(attributes={"bio": text("x" * 3000)}), 'attributes["bio"]'),
        (_bad(attributes={"bio": text("nul\x00")}), 'attributes["bio"]'),
        (_bad(attributes={"empty": common_pb2.AttributeValue()}), 'attributes["empty"]'),
        (_bad(remove_attributes=["bad key"]), "remove_attributes[0]"),
        (_bad(remove_attributes=["plan"]), "remove_attributes[0]"),
        (_bad(add_addresses=TWO_GOOD_ONE_BAD), "add_addresses[2].value"),
        (_bad(add_addresses=[address(NO_KIND, "a@example.com")]), "add_addresses[0].kind"),
        (_bad(add_addresses=[address("telex", "a@example.com")]), "add_addresses[0].kind"),
        (
            _bad(add_addresses=[common_pb2.Address(kind=PHONE, value="+33612345678", details={"auth": "x"})]),
            'add_addresses[0].details["auth"]',
        ),
        (_bad(add_addresses=[address(PHONE, "+1 555")]), "add_addresses[0].value"),
        (_bad(add_addresses=[address(APNS, "xyz")]), "add_addresses[0].value"),
        (_bad(add_addresses=[address(FCM, "has space")]), "add_addresses[0].value"),
        (_bad(add_addresses=[web_push("http://push.example/1")]), "add_addresses[0].value"),
        (_bad(add_addresses=[WEB_PUSH_NO_KEYS]), 'add_addresses[0].details["p256dh"]'),
        (
            _bad(add_addresses=[address(EMAIL, "A@x.com"), address(EMAIL, "A@X.COM")]),
            "add_addresses[1].value",
        ),
        (_bad(remove_addresses=[address(EMAIL, "ok@EXAMPLE.com")]), "remove_addresses[0].value"),
        (_bad(subscriptions=[subscription(MAIL, IN, topic="bad topic")]), "subscriptions[0].topic"),
        (_bad(subscriptions=[subscription(NO_CHANNEL, IN)]), "subscriptions[0].channel"),
        (_bad(subscriptions=[subscription("carrier_pigeon", IN)]), "subscriptions[0].channel"),
        (_bad(subscriptions=[subscription(MAIL, IN, NO_PURPOSE)]), "subscriptions[0].purpose"),
        (_bad(subscriptions=[subscription(MAIL, NO_STATUS)]), "subscriptions[0].status"),
        (_bad(subscriptions=[subscription(MAIL, IN), subscription(MAIL, OUT)]), "subscriptions[1]"),
        (_bad(add_addresses=[address(PHONE, "+3361234abcd")]), "add_addresses[0].value"),
        (_bad(add_addresses=[NOT_ON_THE_CURVE]), 'add_addresses[0].details["p256dh"]'),
        (_bad(attributes={"born": OUT_OF_RANGE_NANOS}), 'attributes["born"]'),
    ],
)
async def test_invalid_upserts_name_the_field_and_store_nothing(
    profiles, project: ProjectKey, db, changes: dict[str, object], field: str
) -> None:
    error = await rpc_error(upsert(profiles, project, custom("u1"), **changes))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith(f"{field}: ")
    assert dict(error.trailing_metadata())["herald-field"] == field
    assert [violation[0] for violation in field_violations(error)] == [field]
    assert set((await row_counts(db, project.project_id)).values()) == {0}


async def test_an_observed_at_with_nanos_out_of_range_is_refused(profiles, project: ProjectKey, db) -> None:
    request = profiles_pb2.UpsertProfileRequest(
        profile=custom("u1"), observed_at=Timestamp(seconds=1_700_000_000, nanos=2_000_000_000), **_bad()
    )
    error = await rpc_error(profiles.UpsertProfile(request, metadata=project.auth))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [violation[0] for violation in field_violations(error)] == ["observed_at"]
    assert set((await row_counts(db, project.project_id)).values()) == {0}


@pytest.mark.parametrize("key", ["âge", "a\nb", "nul\x00", "\x7f"])
async def test_a_key_metadata_cannot_carry_is_named_in_the_error_details(
    profiles, project: ProjectKey, db, key: str
) -> None:
    """The field path (with the key as sent) goes in google.rpc.BadRequest; the message stays ASCII."""
    error = await rpc_error(upsert(profiles, project, custom("u1"), **_bad(attributes={key: text("x")})))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    field = f'attributes["{key}"]'
    assert field_violations(error) == [(field, "key must be a letter followed by letters, digits or '_'")]
    assert error.details().startswith(f"{field.encode('unicode_escape').decode()}: ")
    assert "herald-field" not in dict(error.trailing_metadata())
    assert set((await row_counts(db, project.project_id)).values()) == {0}


@pytest.mark.parametrize(
    ("profile", "field"),
    [
        (common_pb2.ProfileRef(), "profile"),
        (custom(""), "profile.custom_id"),
        (anonymous("x" * 257), "profile.anonymous_id"),
        (by_id("not-a-uuid"), "profile.profile_id"),
    ],
)
async def test_invalid_references_are_refused(profiles, project: ProjectKey, db, profile, field: str) -> None:
    error = await rpc_error(upsert(profiles, project, profile, **_bad()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith(f"{field}: ")
    error = await rpc_error(get_view(profiles, project, profile))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set((await row_counts(db, project.project_id)).values()) == {0}


async def test_observed_at_may_not_be_in_the_future(profiles, project: ProjectKey, db) -> None:
    future = datetime.now(UTC) + timedelta(minutes=5)
    error = await rpc_error(upsert(profiles, project, custom("u1"), observed_at=future, **_bad()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("observed_at: ")
    assert set((await row_counts(db, project.project_id)).values()) == {0}


async def test_limits_checked_against_the_stored_profile_roll_back_the_call(
    profiles, project: ProjectKey, db
) -> None:
    await upsert(profiles, project, custom("u1"), attributes={f"a{i}": number(i) for i in range(200)})
    before = await db.fetchrow(
        "SELECT attributes, updated_at FROM profiles WHERE project_id = $1", project.project_id
    )
    error = await rpc_error(
        upsert(
            profiles,
            project,
            custom("u1"),
            attributes={f"b{i}": number(i) for i in range(100)},
            add_addresses=[address(EMAIL, "kept-out@example.com")],
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("attributes: ")
    after = await db.fetchrow(
        "SELECT attributes, updated_at FROM profiles WHERE project_id = $1", project.project_id
    )
    assert after == before
    assert (await row_counts(db, project.project_id))["profile_addresses"] == 0


async def test_too_many_addresses_of_one_kind(profiles, project: ProjectKey, db, settings) -> None:
    limit = settings.max_addresses
    emails = [address(EMAIL, f"u{i}@example.com") for i in range(limit)]
    await upsert(profiles, project, custom("u1"), add_addresses=emails)
    error = await rpc_error(
        upsert(
            profiles,
            project,
            custom("u1"),
            add_addresses=[address(PHONE, "+33612345678"), address(EMAIL, "one-more@example.com")],
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("add_addresses[1]: ")
    counts = await row_counts(db, project.project_id)
    assert counts["profile_addresses"] == limit
    # Replacing within the same call stays within the limit.
    await upsert(
        profiles,
        project,
        custom("u1"),
        remove_addresses=[address(EMAIL, "u0@example.com")],
        add_addresses=[address(EMAIL, "one-more@example.com")],
    )
    assert (await row_counts(db, project.project_id))["profile_addresses"] == limit


async def test_suppressed_addresses_and_ids_are_refused(profiles, project: ProjectKey, db) -> None:
    await upsert(profiles, project, custom("erased-user"), add_addresses=[address(EMAIL, "gone@example.com")])
    await erase_and_suppress(profiles, project, custom("erased-user"))
    error = await rpc_error(
        upsert(
            profiles,
            project,
            custom("u1"),
            add_addresses=[address(EMAIL, "ok@example.com"), address(EMAIL, "gone@EXAMPLE.com")],
        )
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details().startswith("add_addresses[1].value: ")
    error = await rpc_error(upsert(profiles, project, custom("erased-user"), attributes={"a": text("x")}))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details().startswith("profile: ")
    assert set((await row_counts(db, project.project_id)).values()) == {0}


async def test_get_profile_shows_recent_events_newest_first(profiles, project: ProjectKey, db) -> None:
    created = await upsert(profiles, project, custom("u1"))
    base = datetime(2025, 1, 1, tzinfo=UTC)
    await insert_events(
        db,
        project.project_id,
        created.profile_id,
        [(f"e{i}", base + timedelta(seconds=i)) for i in range(30)],
    )
    view = await get_view(profiles, project, custom("u1"))
    assert [e.name for e in view.recent_events] == [f"e{i}" for i in range(29, 9, -1)]
    assert to_datetime(view.last_seen_at) == base + timedelta(seconds=29)
    older = await profiles.ListProfileEvents(
        profiles_pb2.ListProfileEventsRequest(profile=custom("u1"), page_token=view.next_events_page_token),
        metadata=project.auth,
    )
    assert [e.name for e in older.events] == [f"e{i}" for i in range(9, -1, -1)]
    assert older.next_page_token == ""
    everything = await get_view(profiles, project, custom("u1"), recent_events=100)
    assert len(everything.recent_events) == 30
    assert everything.next_events_page_token == ""


async def test_event_pages_cover_every_event_once_even_at_equal_times(
    profiles, project: ProjectKey, db
) -> None:
    created = await upsert(profiles, project, anonymous("d1"))
    moment = datetime(2025, 3, 1, 12, tzinfo=UTC)
    await insert_events(
        db,
        project.project_id,
        created.profile_id,
        [("same", moment)] * 5 + [("later", moment + timedelta(microseconds=1))],
    )
    await db.execute(
        """INSERT INTO events (project_id, profile_id, occurred_at, name, attributes, client_event_id)
           VALUES ($1, $2, $3, 'buy', $4, 'evt-1')""",
        project.project_id,
        uuid.UUID(created.profile_id),
        moment + timedelta(seconds=1),
        {"sku": {"t": "s", "v": "A-1"}, "qty": {"t": "n", "v": 2}},
    )
    seen: list[profiles_pb2.ProfileEvent] = []
    token = ""
    while True:
        page = await profiles.ListProfileEvents(
            profiles_pb2.ListProfileEventsRequest(profile=anonymous("d1"), page_size=2, page_token=token),
            metadata=project.auth,
        )
        assert len(page.events) <= 2
        seen.extend(page.events)
        token = page.next_page_token
        if not token:
            break
    assert [e.name for e in seen] == ["buy", "later"] + ["same"] * 5
    assert seen[0].event_id == "evt-1"
    assert seen[0].attributes["sku"].string_value == "A-1"
    assert seen[0].attributes["qty"].number_value == 2
    assert seen[0].HasField("received_at")
    rows = await db.fetchval("SELECT count(*) FROM events WHERE project_id = $1", project.project_id)
    assert len(seen) == rows == 7


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (profiles_pb2.ListProfileEventsRequest(profile=custom("u1"), page_token="garbage!"), "page_token"),
        (profiles_pb2.ListProfileEventsRequest(profile=custom("u1"), page_token="WzIsMiwzXQ"), "page_token"),
        (profiles_pb2.ListProfileEventsRequest(profile=custom("u1"), page_size=1001), "page_size"),
        (profiles_pb2.ListProfileEventsRequest(profile=custom("u1"), page_size=-1), "page_size"),
        (profiles_pb2.ListProfileEventsRequest(), "profile"),
    ],
    ids=["junk-token", "forged-token", "page-too-big", "negative-page", "no-profile"],
)
async def test_list_events_validation(profiles, project: ProjectKey, request_, field: str) -> None:
    await upsert(profiles, project, custom("u1"))
    error = await rpc_error(profiles.ListProfileEvents(request_, metadata=project.auth))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith(f"{field}: ")


@pytest.mark.parametrize("recent_events", [101, -1])
async def test_recent_events_is_bounded(profiles, project: ProjectKey, recent_events: int) -> None:
    await upsert(profiles, project, custom("u1"))
    error = await rpc_error(get_view(profiles, project, custom("u1"), recent_events=recent_events))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("recent_events: ")


@pytest.mark.parametrize(
    "ref", [custom("nobody"), anonymous("nowhere"), by_id(uuid.uuid4())], ids=["custom", "anonymous", "id"]
)
async def test_unknown_profiles_are_not_found_and_not_created(profiles, project: ProjectKey, db, ref) -> None:
    error = await rpc_error(get_view(profiles, project, ref))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    error = await rpc_error(
        profiles.ListProfileEvents(profiles_pb2.ListProfileEventsRequest(profile=ref), metadata=project.auth)
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert set((await row_counts(db, project.project_id)).values()) == {0}


async def test_a_project_key_never_reaches_another_projects_profiles(
    profiles, project: ProjectKey, other_project: ProjectKey, db
) -> None:
    mine = await upsert(
        profiles,
        project,
        custom("u1"),
        attributes={"secret": text("A")},
        add_addresses=[address(APNS, TOKEN)],
    )
    await insert_events(db, project.project_id, mine.profile_id, [("login", ago(5))])
    for ref in (custom("u1"), by_id(mine.profile_id)):
        error = await rpc_error(get_view(profiles, other_project, ref))
        assert error.code() == grpc.StatusCode.NOT_FOUND
        error = await rpc_error(
            profiles.ListProfileEvents(
                profiles_pb2.ListProfileEventsRequest(profile=ref), metadata=other_project.auth
            )
        )
        assert error.code() == grpc.StatusCode.NOT_FOUND
    error = await rpc_error(
        upsert(profiles, other_project, by_id(mine.profile_id), attributes={"secret": text("B")})
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    # The same custom id and device token in project B are B's own, separate data.
    theirs = await upsert(
        profiles,
        other_project,
        custom("u1"),
        attributes={"secret": text("B")},
        add_addresses=[address(APNS, TOKEN)],
    )
    assert theirs.created and theirs.profile_id != mine.profile_id
    view = await get_view(profiles, project, custom("u1"))
    assert view.attributes["secret"].string_value == "A"
    assert [a.value for a in view.addresses] == [TOKEN]
    assert len(view.recent_events) == 1
    assert (await row_counts(db, other_project.project_id))["events"] == 0


@given(
    moment=st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
    seq=st.integers(min_value=1, max_value=2**63 - 1),
)
def test_page_tokens_round_trip_exactly(moment: datetime, seq: int) -> None:
    assert decode_token(encode_token(Position(moment, seq))) == Position(moment, seq)


@given(token=st.one_of(st.text(max_size=80), st.binary(max_size=60).map(lambda b: b.hex())))
def test_junk_page_tokens_are_invalid_arguments(token: str) -> None:
    try:
        decode_token(token)
    except InvalidArgument as error:
        assert error.field == "page_token"
