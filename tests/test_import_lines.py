"""ImportProfiles' JSONL lines (``jsonl_lines``): the server's direct path from a line to its changes agrees
with the request ``herald import`` made of the line (parse_json_line + parse_upsert) on random lines, its
source as it is (``py-direct``) and compiled (``c-direct``, skipped when ``HERALD_NO_EXTENSIONS`` is set,
failed when not built), and the lines store exactly the rows one UpsertProfile call per line stores,
refusals named by the line's keys."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import orjson
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from herald.v1 import profiles_pb2
from kernel.errors import HeraldError
from kernel.import_rows import RowError, parse_json_line
from kernel.plugins import ChannelManager
from kernel.profiles import _line_direct
from kernel.profiles.attributes import AttributeLimits
from kernel.profiles.changes import ProfileChanges
from kernel.profiles.import_lines import DirectPath, general_line_changes, line_changes, line_field
from kernel.settings import Settings
from tests.compiled_modules import compiled_module
from tests.conftest import ProjectKey
from tests.test_batch_upsert import assert_import_agrees_with_single_upserts

KINDS = ChannelManager().address_kinds
# Small limits, so that random lines cross them.
LIMITS = AttributeLimits(max_attributes=4, max_key_length=8, max_string_bytes=12, max_list_items=3)
NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)

_dates = st.sampled_from(
    [
        "2024-01-31T09:30:00Z",
        "2024-01-31T09:30:00.123456+02:00",
        "2024-01-31",
        "2024-06-01T12:00:59Z",  # within observed_at's minute of tolerance
        "2024-06-01T12:05:00Z",  # beyond it
        "0999-12-31T23:00:00Z",  # before the years 1000 (stored by strftime, unpadded)
        "1000-01-01T00:30:00+01:00",
        "0001-01-01T00:30:00+01:00",  # before the years 1
        "9999-12-31T23:59:59-01:00",  # after the years 9999
        "31/01/2024",
    ]
)
_strings = st.sampled_from(["gold", "Ada", "", "é" * 4, "x" * 13, "a\x00b", "Europe/Paris", "fr", "pt-BR"])
_values = st.one_of(
    _strings,
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.lists(_strings | st.integers(0, 3), max_size=4),
    _dates.map(lambda text: {"datetime": text}),
    st.just({"datetime": 3}),
    st.just({"datetime": "2024-01-31", "extra": 1}),
    st.just({}),
)
_keys = st.sampled_from(["plan", "age", "city", "tags", "timezone", "language", "1bad", "a_long_key"])
_emails = st.sampled_from(
    ["ada@example.org", "Ada@Example.ORG", "ada@EXAMPLE.org", "bob@bücher.de", "bob-at-example", "", "a@1.2"]
)
_phones = st.sampled_from(["+33612345678", "+33 6 12 34 56 78", "+1", "0612345678", "+3361234abcd"])
_tokens = st.sampled_from(["a" * 64, "A" * 64, "short", "f" * 152])
_subscriptions = st.fixed_dictionaries(
    {},
    optional={
        "channel": st.sampled_from(["email", "sms", "push", "fax", ""]),
        "purpose": st.sampled_from(["marketing", "Transactional", "unspecified", "spam", ""]),
        "topic": st.sampled_from(["", "news", "bad topic!"]),
        "status": st.sampled_from(["opted_in", "OPTED_OUT", "unspecified", 1]),
        "colour": st.just("red"),
    },
)
_ids = st.sampled_from(["u1", "u2", "", "x" * 257, "tab\there", 5, None])
_rows = st.fixed_dictionaries(
    {},
    optional={
        "custom_id": _ids,
        "anonymous_id": _ids,
        "profile_id": st.sampled_from([str(uuid.UUID(int=7)), "not-a-uuid"]),
        "attributes": st.dictionaries(_keys, _values, max_size=5) | st.just([]),
        "emails": st.lists(_emails | st.just(3), max_size=3) | st.just("ada@example.org"),
        "phones": st.lists(_phones, max_size=2),
        "apns_tokens": st.lists(_tokens, max_size=2),
        "fcm_tokens": st.lists(_tokens, max_size=1),
        "subscriptions": st.lists(_subscriptions, max_size=3) | st.just({}),
        "observed_at": _dates | st.just(7),
        "web_push": st.just([{"endpoint": "https://push.example/1", "p256dh": "x", "auth": "y"}]),
        "colour": st.just("red"),
    },
)


IMPLEMENTATIONS = ["py-direct", "c-direct"]


def _direct_path(implementation: str) -> DirectPath:
    if implementation == "py-direct":
        return _line_direct.direct_changes
    return compiled_module("kernel.profiles._line_direct_c").direct_changes


def _outcome(line: bytes, direct: DirectPath | None) -> ProfileChanges | tuple[str, str, str]:
    """The line's changes, or its refusal; ``direct`` None: through the general path alone."""
    try:
        if direct is None:
            return general_line_changes(line, LIMITS, KINDS, NOW)
        return line_changes(line, LIMITS, KINDS, NOW, direct)
    except HeraldError as error:
        return type(error).__name__, error.field, error.reason


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(row=_rows)
def test_the_direct_path_agrees_with_the_request_herald_import_makes(
    implementation: str, row: dict[str, object]
) -> None:
    line = orjson.dumps(row) + b"\n"
    assert _outcome(line, _direct_path(implementation)) == _outcome(line, None)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@given(line=st.binary(max_size=60) | st.text(max_size=60).map(str.encode))
def test_any_line_is_decided_alike(implementation: str, line: bytes) -> None:
    assert _outcome(line, _direct_path(implementation)) == _outcome(line, None)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_the_common_lines_take_the_direct_path(implementation: str) -> None:
    line = orjson.dumps(
        {
            "custom_id": "u1",
            "attributes": {
                "plan": "gold",
                "age": 31,
                "vip": True,
                "tags": ["a"],
                "gone": None,
                "signup": {"datetime": "2024-01-31T09:30:00Z"},
            },
            "emails": ["Ada@Example.org"],
            "phones": ["+33612345678"],
            "subscriptions": [{"channel": "email", "purpose": "marketing", "status": "opted_in"}],
            "observed_at": "2024-05-01T12:00:00Z",
        }
    )
    limits = AttributeLimits.from_settings(Settings())

    changes = _direct_path(implementation)(line, limits, KINDS, NOW)

    assert changes is not None
    assert changes == general_line_changes(line, limits, KINDS, NOW)
    assert changes.attributes["signup"]["v"] == "2024-01-31T09:30:00.000000Z"
    assert [address.value for _, address in changes.add_addresses] == ["Ada@example.org", "+33612345678"]


# -- through the server: the same lines as one UpsertProfile call each ---------------------------------

EXAMPLES = 20


def _line_rows(example: int) -> st.SearchStrategy[dict[str, object]]:
    """Lines over a few people and addresses, so that lines of one message collide; now and then one the
    validation or the database refuses."""
    person = st.integers(0, 2)
    emails = st.sampled_from(
        [f"e{example}-{i}@example.org" for i in range(3)] + [f"E{example}-0@Example.org"]
    )
    return st.fixed_dictionaries(
        # A time on each line: without one, each side would store its own "now".
        {
            "custom_id": person.map(lambda n: f"c{example}-{n}"),
            "observed_at": st.integers(0, 5).map(
                lambda minutes: (datetime(2024, 3, 1, tzinfo=UTC) + timedelta(minutes=minutes)).isoformat()
            ),
        },
        optional={
            "attributes": st.dictionaries(
                st.sampled_from(["plan", "age", "city", "1bad"]),
                st.sampled_from(["gold", "silver", 3, 7.5, None, ["a", "b"]]),
                max_size=3,
            ),
            "emails": st.lists(emails, max_size=2),
            "apns_tokens": st.lists(
                st.sampled_from([f"{example:04x}{i:02x}".ljust(64, "a") for i in range(2)]), max_size=1
            ),
            "subscriptions": st.lists(
                st.fixed_dictionaries(
                    {
                        "channel": st.just("email"),
                        "purpose": st.sampled_from(["marketing", "transactional"]),
                        "status": st.sampled_from(["opted_in", "opted_out"]),
                    }
                ),
                max_size=1,
            ),
            "colour": st.just("red"),
        },
    )


def _examples() -> list[list[bytes]]:
    drawn: list[list[bytes]] = []

    @seed(29)
    @settings(max_examples=EXAMPLES, database=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def draw(data: st.DataObject) -> None:
        rows = data.draw(st.lists(_line_rows(len(drawn)), min_size=1, max_size=12))
        drawn.append([orjson.dumps(row) for row in rows])

    draw()
    return drawn


async def _lines(*messages: list[bytes]) -> AsyncIterator[profiles_pb2.ImportProfilesRequest]:
    for lines in messages:
        yield profiles_pb2.ImportProfilesRequest(jsonl_lines=lines)


async def _line_by_line(
    profiles, project: ProjectKey, lines: list[bytes]
) -> tuple[int, list[tuple[int, str, str]]]:
    """Each line as ``herald import`` sent it before: its request, one UpsertProfile call."""
    created = 0
    rejections = []
    for offset, line in enumerate(lines):
        try:
            request = parse_json_line(line)
        except RowError as error:
            rejections.append((offset, error.field, error.reason))
            continue
        try:
            reply = await profiles.UpsertProfile(request, metadata=project.auth)
        except grpc.aio.AioRpcError as error:
            field, _, reason = (error.details() or "").partition(": ")
            rejections.append((offset, line_field(line, field), reason))
            continue
        created += reply.created
    return created, rejections


async def test_lines_store_what_one_upsert_per_line_stores(
    profiles, project: ProjectKey, other_project: ProjectKey, db
) -> None:
    await assert_import_agrees_with_single_upserts(
        profiles, db, project, other_project, _examples(), _lines, _line_by_line
    )


async def test_a_message_of_profiles_and_lines_is_refused(profiles, project: ProjectKey, db) -> None:
    async def both() -> AsyncIterator[profiles_pb2.ImportProfilesRequest]:
        yield profiles_pb2.ImportProfilesRequest(jsonl_lines=[b'{"custom_id": "first"}'])
        yield profiles_pb2.ImportProfilesRequest(
            profiles=[profiles_pb2.UpsertProfileRequest()], jsonl_lines=[b'{"custom_id": "both"}']
        )

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await profiles.ImportProfiles(both(), metadata=project.auth)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details() == "messages[1].jsonl_lines: give profiles or jsonl_lines, not both"
    stored = await db.fetch("SELECT custom_id FROM profiles WHERE project_id = $1", project.project_id)
    assert [row["custom_id"] for row in stored] == ["first"]
