"""Bulk import: the ImportProfiles stream (a bad profile is rejected alone) and ``herald import`` end to end
against the test server, plus property tests of the JSONL and CSV row parsers."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import fcntl
import io
import os
import pty
import struct
import sys
import termios
import threading
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from pathlib import Path

import grpc
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from herald.v1 import common_pb2, profiles_pb2
from kernel.api.timestamps import from_datetime
from kernel.import_rows import RowError, parse_csv_header, parse_csv_row, parse_json_line
from kernel.importer import csv_rows, jsonl_rows, run_import
from tests.conftest import ProjectKey, bearer, rpc_error

EMAIL = "email"


def upsert(custom_id: str, **attributes: common_pb2.AttributeValue) -> profiles_pb2.UpsertProfileRequest:
    return profiles_pb2.UpsertProfileRequest(
        profile=common_pb2.ProfileRef(custom_id=custom_id), attributes=attributes
    )


def text(value: str) -> common_pb2.AttributeValue:
    return common_pb2.AttributeValue(string_value=value)


def number(value: float) -> common_pb2.AttributeValue:
    return common_pb2.AttributeValue(number_value=value)


async def stream(
    *messages: list[profiles_pb2.UpsertProfileRequest],
) -> AsyncIterator[profiles_pb2.ImportProfilesRequest]:
    for profiles in messages:
        yield profiles_pb2.ImportProfilesRequest(profiles=profiles)


async def stored_custom_ids(db, project: ProjectKey) -> set[str]:
    rows = await db.fetch("SELECT custom_id FROM profiles WHERE project_id = $1", project.project_id)
    return {row["custom_id"] for row in rows}


async def view(profiles, project: ProjectKey, custom_id: str) -> profiles_pb2.ProfileView:
    return await profiles.GetProfile(
        profiles_pb2.GetProfileRequest(profile=common_pb2.ProfileRef(custom_id=custom_id)),
        metadata=project.auth,
    )


# -- the RPC -------------------------------------------------------------------------------------------


async def test_import_stores_every_profile_and_counts_creations(profiles, project: ProjectKey) -> None:
    first = [upsert(f"u{i}", age=number(20 + i)) for i in range(3)]
    second = [upsert("u3", name=text("Ada")), upsert("u0", name=text("Zed"))]

    reply = await profiles.ImportProfiles(stream(first, second), metadata=project.auth)

    assert reply == profiles_pb2.ImportProfilesResponse(imported=5, created=4, rejected=0)
    stored = await view(profiles, project, "u0")
    assert stored.attributes["age"].number_value == 20
    assert stored.attributes["name"].string_value == "Zed"
    again = await profiles.ImportProfiles(stream(first), metadata=project.auth)
    assert (again.imported, again.created) == (3, 0)


async def test_a_bad_profile_is_rejected_alone(profiles, project: ProjectKey, db) -> None:
    bad_email = upsert("bad-email")
    bad_email.add_addresses.append(common_pb2.Address(kind=EMAIL, value="not-an-email"))
    good_email = upsert("good-email")
    good_email.add_addresses.append(common_pb2.Address(kind=EMAIL, value="ok@Example.COM"))
    first = [upsert("a"), upsert("b")]
    second = [
        upsert("c"),
        upsert("bad-key", **{"1x": text("v")}),
        bad_email,
        good_email,
        profiles_pb2.UpsertProfileRequest(profile=common_pb2.ProfileRef(profile_id=str(uuid.uuid4()))),
        profiles_pb2.UpsertProfileRequest(),
    ]

    reply = await profiles.ImportProfiles(stream(first, second), metadata=project.auth)

    assert (reply.imported, reply.created, reply.rejected) == (4, 4, 4)
    assert [(r.index, r.field) for r in reply.rejections] == [
        (3, 'attributes["1x"]'),
        (4, "add_addresses[0].value"),
        (6, "profile"),
        (7, "profile"),
    ]
    assert all(r.reason for r in reply.rejections)
    assert await stored_custom_ids(db, project) == {"a", "b", "c", "good-email"}
    assert (await view(profiles, project, "good-email")).addresses[0].value == "ok@example.com"


async def test_rejections_list_the_first_thousand(profiles, project: ProjectKey) -> None:
    bad = [upsert("x", **{"_bad": text("v")})] * 600

    reply = await profiles.ImportProfiles(stream(bad, bad), metadata=project.auth)

    assert (reply.imported, reply.rejected, len(reply.rejections)) == (0, 1200, 1000)
    assert reply.rejections[-1].index == 999


async def test_a_message_over_the_limit_ends_the_stream(profiles, project: ProjectKey, db) -> None:
    too_many = [upsert(f"n{i}") for i in range(1001)]

    error = await rpc_error(
        profiles.ImportProfiles(stream([upsert("kept")], too_many), metadata=project.auth)
    )

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("messages[1].profiles:")
    assert await stored_custom_ids(db, project) == {"kept"}


async def test_import_stays_in_its_project(
    profiles, project: ProjectKey, other_project: ProjectKey, db
) -> None:
    theirs = await profiles.UpsertProfile(upsert("shared", age=number(50)), metadata=other_project.auth)
    mine = [
        upsert("shared", age=number(1)),
        profiles_pb2.UpsertProfileRequest(
            profile=common_pb2.ProfileRef(profile_id=theirs.profile_id), attributes={"age": number(2)}
        ),
    ]

    reply = await profiles.ImportProfiles(stream(mine), metadata=project.auth)

    assert (reply.imported, reply.created, reply.rejected) == (1, 1, 1)
    assert reply.rejections[0].field == "profile"
    assert (await view(profiles, other_project, "shared")).attributes["age"].number_value == 50
    assert (await view(profiles, project, "shared")).profile_id != theirs.profile_id


async def test_an_erased_and_suppressed_person_cannot_be_imported(profiles, project: ProjectKey, db) -> None:
    person = upsert("gone")
    person.add_addresses.append(common_pb2.Address(kind=EMAIL, value="gone@example.com"))
    await profiles.UpsertProfile(person, metadata=project.auth)
    await profiles.EraseProfile(
        profiles_pb2.EraseProfileRequest(profile=common_pb2.ProfileRef(custom_id="gone"), suppress=True),
        metadata=project.auth,
    )
    by_address = upsert("new-id")
    by_address.add_addresses.append(common_pb2.Address(kind=EMAIL, value="gone@example.com"))

    reply = await profiles.ImportProfiles(stream([upsert("gone"), by_address]), metadata=project.auth)

    assert reply.rejected == 2
    assert [(r.index, r.field) for r in reply.rejections] == [(0, "profile"), (1, "add_addresses[0].value")]
    assert await stored_custom_ids(db, project) == set()


async def test_import_needs_a_project_key(profiles, project: ProjectKey) -> None:
    error = await rpc_error(profiles.ImportProfiles(stream([upsert("a")]), metadata=bearer("hrk_wrong")))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


# -- herald import, end to end -------------------------------------------------------------------------


def write(tmp_path: Path, name: str, lines: Iterable[str]) -> Path:
    path = tmp_path / name
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


async def test_jsonl_file_with_bad_lines(server, profiles, project: ProjectKey, db, tmp_path, capsys) -> None:
    path = write(
        tmp_path,
        "people.jsonl",
        [
            orjson.dumps(
                {
                    "custom_id": "ada",
                    "attributes": {
                        "age": 36,
                        "vip": True,
                        "tags": ["math", "poetry"],
                        "born": {"datetime": "1815-12-10T00:00:00Z"},
                    },
                    "emails": ["ada@example.com"],
                    "phones": ["+33 6 12 34 56 78"],
                    "subscriptions": [
                        {"channel": "email", "purpose": "marketing", "topic": "news", "status": "opted_in"}
                    ],
                }
            ).decode(),
            "",
            "{not json",
            '{"custom_id": "bob", "emails": ["bob-at-example"]}',
            '{"custom_id": "carl", "colour": "red"}',
            '{"anonymous_id": "device-1", "attributes": {"seen": 3}}',
        ],
    )

    status = await run_import(path, project.key, server.address, None)

    out = capsys.readouterr().out
    assert status == 1
    assert "imported: 2 (created: 2, updated: 0)" in out
    assert "rejected: 3" in out
    assert "line 3: invalid JSON at column 2: " in out
    # The server's rejection, mapped back from its position in the batch to the line and the file's key.
    assert "line 4: emails[0]: " in out
    assert "line 5: unknown key 'colour'" in out
    assert await stored_custom_ids(db, project) == {"ada", None}
    ada = await view(profiles, project, "ada")
    assert ada.attributes["tags"].string_list_value.values == ["math", "poetry"]
    assert ada.attributes["vip"].bool_value is True
    assert ada.attributes["born"].datetime_value == from_datetime(datetime(1815, 12, 10, tzinfo=UTC))
    assert {a.value for a in ada.addresses} == {"ada@example.com", "+33612345678"}
    assert ada.subscriptions[0].topic == "news"


async def test_csv_file_with_typed_columns(
    server, profiles, project: ProjectKey, db, tmp_path, capsys
) -> None:
    path = write(
        tmp_path,
        "people.csv",
        [
            "\ufeffcustom_id,email,age:number,vip:bool,signup:datetime,tags:list,city",
            'u1,u1@example.com,31,yes,2024-01-01T10:00:00+02:00,a|b,"Paris, France"',
            "u2,,not-a-number,no,,,",
            "u3,u3@example.com|u3@work.example,40,0,,,Lyon",
            "u4,,1,maybe,,,",
            "u5,,,,,,",
            'u6,,2,true,,,"multi',
            'line"',
            "u7,,3,1,,,",
            ",,,,,,",
            "u8,only-two-cells",
        ],
    )

    status = await run_import(path, project.key, server.address, None)

    out = capsys.readouterr().out
    assert status == 1
    assert "imported: 5 (created: 5, updated: 0)" in out
    assert "line 3: age:number: 'not-a-number' is not a number" in out
    assert "line 5: vip:bool: 'maybe' is not true/false" in out
    assert "line 11: expected 7 columns, found 2" in out
    assert await stored_custom_ids(db, project) == {"u1", "u3", "u5", "u6", "u7"}
    u1 = await view(profiles, project, "u1")
    assert u1.attributes["age"].number_value == 31
    assert u1.attributes["vip"].bool_value is True
    assert u1.attributes["signup"].datetime_value == from_datetime(datetime(2024, 1, 1, 8, tzinfo=UTC))
    assert u1.attributes["tags"].string_list_value.values == ["a", "b"]
    assert u1.attributes["city"].string_value == "Paris, France"
    assert len((await view(profiles, project, "u3")).addresses) == 2
    assert (await view(profiles, project, "u6")).attributes["city"].string_value == "multi\nline"


async def test_addresses_of_any_loaded_kind_import_and_unknown_kinds_are_rejected(
    server, profiles, project: ProjectKey, db, tmp_path, capsys
) -> None:
    lines = [
        '{"custom_id": "ann", "addresses": [{"kind": "phone", "value": "+33 6 98 76 54 32"}]}',
        '{"custom_id": "bob", "addresses": [{"kind": "telex", "value": "BOB 1234"}]}',
        '{"custom_id": "cyd", "addresses": [{"kind": "email", "value": "c@example.com", "details": []}]}',
    ]
    status = await run_import(write(tmp_path, "people.jsonl", lines), project.key, server.address, None)
    out = capsys.readouterr().out
    assert status == 1
    assert "line 2: addresses[0].kind: unknown address kind 'telex'" in out
    assert "line 3: addresses[0].details: must be an object" in out
    [ann] = (await view(profiles, project, "ann")).addresses
    assert (ann.kind, ann.value) == ("phone", "+33698765432")

    rows = ["custom_id,phone:address,telex:address", "dee,+33612345678,", "eve,,EVE 1"]
    status = await run_import(write(tmp_path, "people.csv", rows), project.key, server.address, None)
    assert "line 3: telex:address: unknown address kind 'telex'" in capsys.readouterr().out
    [dee] = (await view(profiles, project, "dee")).addresses
    assert (dee.kind, dee.value) == ("phone", "+33612345678")


async def test_line_numbers_survive_batching(server, project: ProjectKey, db, tmp_path, capsys) -> None:
    lines = [orjson.dumps({"custom_id": f"p{i}"}).decode() for i in range(1203)]
    lines[700] = '{"custom_id": "bad", "attributes": {"9": 1}}'
    lines[1202] = '{"custom_id": "bad2", "attributes": {"_": 1}}'
    path = write(tmp_path, "many.ndjson", lines)

    status = await run_import(path, project.key, server.address, None)

    out = capsys.readouterr().out
    assert status == 1
    assert "imported: 1201" in out
    assert 'line 701: attributes["9"]:' in out
    assert 'line 1203: attributes["_"]:' in out
    assert len(await stored_custom_ids(db, project)) == 1201


async def test_rejections_name_the_jsonl_keys(server, project: ProjectKey, db, tmp_path, capsys) -> None:
    """The server names the request's fields; the summary names the line's keys."""
    lines = [
        '{"custom_id": "a", "emails": ["a@example.com"], "phones": ["+33612345678", "12"]}',
        '{"custom_id": "b", "attributes": {"keep": 1, "_bad": null}}',
        '{"profile_id": "not-a-uuid"}',
        '{"custom_id": "c", "web_push": [{"endpoint": "https://push.example/", "p256dh": "A", "auth": "x"}]}',
        orjson.dumps(
            {
                "custom_id": "d",
                "subscriptions": [{"channel": "telex", "purpose": "marketing", "status": "opted_in"}],
            }
        ).decode(),
        '{"custom_id": "e", "attributes": {"tags": ["ok", "' + "x" * 3000 + '"]}}',
        '{"custom_id": "f"}',
    ]

    status = await run_import(write(tmp_path, "people.jsonl", lines), project.key, server.address, None)

    out = capsys.readouterr().out
    assert status == 1
    assert "imported: 1 " in out
    assert "line 1: phones[1]: " in out
    assert 'line 2: attributes["_bad"]: ' in out
    assert "line 3: profile_id: must be a UUID" in out
    assert "line 4: web_push[0].p256dh: " in out
    assert "line 5: subscriptions[0].channel: " in out
    assert 'line 6: attributes["tags"][1]: string longer than 2048 bytes' in out
    assert "add_addresses" not in out and "remove_attributes" not in out
    assert await stored_custom_ids(db, project) == {"f"}


async def test_rejections_name_the_csv_columns(server, project: ProjectKey, db, tmp_path, capsys) -> None:
    rows = [
        "custom_id,email,phone,tags:list,slack_user:address",
        "u1,not-an-email,,,",
        "u2,,+33612345678|12,,",
        "u3,,,ok|" + "x" * 3000 + ",",
        "u4,u4@example.com,,,",
        "u5,,,,U024BE7LH",
    ]

    status = await run_import(write(tmp_path, "people.csv", rows), project.key, server.address, None)

    out = capsys.readouterr().out
    assert status == 1
    assert "line 2: email: not an email address" in out
    assert "line 3: phone[1]: " in out
    assert "line 4: tags:list[1]: string longer than 2048 bytes" in out
    assert "line 6: slack_user:address: unknown address kind 'slack_user'" in out
    assert "add_addresses" not in out and "attributes[" not in out
    assert await stored_custom_ids(db, project) == {"u4"}


async def test_json_syntax_errors_name_the_files_line_and_column(
    server, project: ProjectKey, tmp_path, capsys
) -> None:
    """orjson counts lines within the line it parses: an unterminated object is its "line 2"."""
    lines = ['{"custom_id": "a"}', '{"custom_id": "b",', '{"custom_id": "c" "x"}', '{"custom_id": "d"}}']

    status = await run_import(write(tmp_path, "people.jsonl", lines), project.key, server.address, None)

    out = capsys.readouterr().out
    assert status == 1
    assert "line 2: invalid JSON at the end of the line (column 19): unexpected end of data" in out
    assert "line 3: invalid JSON at column 19: " in out
    assert "line 4: invalid JSON at column 19: unexpected content after document" in out
    assert "line 2 column" not in out and "(char" not in out


def _drain(terminal: int, shown: bytearray) -> None:
    """Read what is written to a pseudo-terminal until its other side closes."""
    with contextlib.suppress(OSError):
        while chunk := os.read(terminal, 65536):
            shown.extend(chunk)


async def test_the_progress_bar_counts_profiles_stored(
    server, project: ProjectKey, tmp_path, monkeypatch
) -> None:
    """On a terminal, the bar counts the profiles the server stored (not bytes or lines read) and the
    rejections, batch by batch, and ends at 100 %."""
    lines = [orjson.dumps({"custom_id": f"bar{i}"}).decode() for i in range(1203)]
    lines[5] = "{broken"
    lines[700] = '{"custom_id": "bad", "attributes": {"9": 1}}'
    path = write(tmp_path, "people.jsonl", lines)
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # rows, columns
    shown = bytearray()
    reader = threading.Thread(target=_drain, args=(controller, shown))
    reader.start()
    try:
        with os.fdopen(terminal, "w") as stderr:
            monkeypatch.setattr(sys, "stderr", stderr)
            status = await run_import(path, project.key, server.address, None)
            monkeypatch.undo()
        reader.join()
    finally:
        os.close(controller)

    assert status == 1
    final = shown.decode().replace("\r\n", "\r").split("\r")
    final = [state for state in final if state.strip()][-1]
    assert "people.jsonl: 100%" in final
    assert "1,201 profiles stored" in final
    assert "profiles/s" in final
    assert "2 rejected" in final


async def test_a_profile_named_on_several_lines_ends_as_its_last_line_says(
    server, profiles, project: ProjectKey, tmp_path, capsys
) -> None:
    """Batches are stored several at once, but one naming a profile that a batch being stored names
    waits for it."""
    lines = [orjson.dumps({"custom_id": f"p{i}", "attributes": {"n": i}}).decode() for i in range(3000)]
    for number in range(0, 3000, 250):
        lines[number] = orjson.dumps({"custom_id": "again", "attributes": {"n": number}}).decode()

    status = await run_import(write(tmp_path, "people.jsonl", lines), project.key, server.address, None)

    assert status == 0, capsys.readouterr()
    assert (await view(profiles, project, "again")).attributes["n"].number_value == 2750


async def test_a_line_too_large_for_a_message_is_rejected_alone(
    server, project: ProjectKey, db, tmp_path, capsys
) -> None:
    """A 50 MB line between valid ones (over the server's message limit) is rejected with its line number;
    the lines after it are imported. Written in pieces, never held whole."""
    path = tmp_path / "huge.jsonl"
    with path.open("wb") as file:
        file.writelines(orjson.dumps({"custom_id": f"before{i}"}) + b"\n" for i in range(1000))
        file.write(b'{"custom_id": "huge", "attributes": {"blob": "')
        for _ in range(50):
            file.write(b"x" * (1 << 20))
        file.write(b'"}}\n')
        file.writelines(orjson.dumps({"custom_id": f"after{i}"}) + b"\n" for i in range(1999))

    status = await run_import(path, project.key, server.address, None)

    out = capsys.readouterr().out
    assert status == 1
    assert "imported: 2999" in out
    assert "rejected: 1" in out
    assert "line 1001: the line takes 52428850 bytes; lines over 16777216 are not read" in out
    assert len(await stored_custom_ids(db, project)) == 2999


async def test_messages_are_cut_to_the_size_limit(server, project: ProjectKey, db, tmp_path, capsys) -> None:
    """Profiles as large as the attribute limits allow (half a megabyte each) are streamed in messages
    that stay under the server's limit, however few of them fill one."""
    attributes = {f"a{i}": "v" * 2000 for i in range(256)}
    lines = [orjson.dumps({"custom_id": f"big{i}", "attributes": attributes}).decode() for i in range(40)]
    path = write(tmp_path, "big.jsonl", lines)

    status = await run_import(path, project.key, server.address, None)

    assert status == 0, capsys.readouterr()
    assert "imported: 40" in capsys.readouterr().out
    assert len(await stored_custom_ids(db, project)) == 40


async def test_a_csv_row_too_large_for_a_message_is_rejected_alone(
    server, project: ProjectKey, db, tmp_path, capsys
) -> None:
    """A row of 200 cells of 100 kB (each under the CSV reader's cell limit, 20 MB together)."""
    columns = [f"c{i}" for i in range(200)]
    path = write(
        tmp_path,
        "wide.csv",
        [
            ",".join(["custom_id", *columns]),
            ",".join(["wide", *["x" * 100_000] * 200]),
            "narrow," + "," * 199,
        ],
    )

    status = await run_import(path, project.key, server.address, None)

    out = capsys.readouterr().out
    assert status == 1
    assert "line 2: the profile takes 20" in out
    assert "imported: 1" in out
    assert await stored_custom_ids(db, project) == {"narrow"}


async def test_a_clean_file_exits_zero(server, project: ProjectKey, tmp_path, capsys) -> None:
    path = write(tmp_path, "export.txt", ['{"custom_id": "z"}'])
    assert await run_import(path, project.key, server.address, "jsonl") == 0
    assert "rejected: 0" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "content", "fmt", "message"),
    [
        ("people.csv", "custom_id,age:int\nu1,3\n", None, "unknown type 'int'"),
        ("people.csv", "email,age\na@b.example,3\n", None, "needs a custom_id, anonymous_id or profile_id"),
        ("people.csv", "custom_id,first name\nu1,Ada\n", None, "an attribute name is a letter"),
        ("people.csv", "custom_id,age,age\nu1,1,2\n", None, "'age' appears more than once"),
        ("people.csv", "", None, "the CSV file is empty"),
        ("people.xlsx", "", None, "use --format jsonl or --format csv"),
    ],
)
async def test_fatal_problems_exit_two_and_store_nothing(
    server, project: ProjectKey, db, tmp_path, capsys, name, content, fmt, message
) -> None:
    path = tmp_path / name
    path.write_text(content)
    assert await run_import(path, project.key, server.address, fmt) == 2
    assert message in capsys.readouterr().err
    assert await stored_custom_ids(db, project) == set()


async def test_missing_file_and_bad_key_exit_two(server, project: ProjectKey, tmp_path, capsys) -> None:
    assert await run_import(tmp_path / "absent.jsonl", project.key, server.address, None) == 2
    assert "cannot read" in capsys.readouterr().err
    path = write(tmp_path, "a.jsonl", ['{"custom_id": "z"}'])
    assert await run_import(path, "hrk_not-a-key", server.address, None) == 2
    assert "UNAUTHENTICATED" in capsys.readouterr().err


async def test_the_herald_command(server, project: ProjectKey, db, tmp_path) -> None:
    path = write(tmp_path, "people.jsonl", ['{"custom_id": "cli-1"}', '{"custom_id": ""}'])
    process = await asyncio.create_subprocess_exec(
        Path(sys.executable).parent / "herald",
        "import",
        str(path),
        "--address",
        server.address,
        env={**os.environ, "HERALD_API_KEY": project.key},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    assert process.returncode == 1
    assert "line 2: give exactly one of custom_id, anonymous_id or profile_id" in out.decode()
    assert await stored_custom_ids(db, project) == {"cli-1"}


# -- the row parsers (property tests) ------------------------------------------------------------------

# Strings a UTF-8 file can hold.
texts = st.text(st.characters(blacklist_categories=("Cs",)))
ids = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1)
keys = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,20}", fullmatch=True)
moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))
numbers = st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**53), 2**53)


def expected_value(value: object) -> common_pb2.AttributeValue:
    if isinstance(value, bool):
        return common_pb2.AttributeValue(bool_value=value)
    if isinstance(value, int | float):
        return common_pb2.AttributeValue(number_value=float(value))
    if isinstance(value, str):
        return common_pb2.AttributeValue(string_value=value)
    if isinstance(value, datetime):
        return common_pb2.AttributeValue(datetime_value=from_datetime(value))
    return common_pb2.AttributeValue(string_list_value=common_pb2.StringList(values=value))


def as_json(value: object) -> object:
    return {"datetime": value.isoformat()} if isinstance(value, datetime) else value


@given(
    custom_id=ids,
    attributes=st.dictionaries(
        keys, texts | numbers | st.booleans() | st.lists(texts, max_size=4) | moments | st.none(), max_size=6
    ),
    emails=st.lists(texts, max_size=3),
)
def test_json_lines_round_trip(custom_id: str, attributes: dict[str, object], emails: list[str]) -> None:
    line = orjson.dumps(
        {
            "custom_id": custom_id,
            "attributes": {k: as_json(v) for k, v in attributes.items()},
            "emails": emails,
        }
    )

    request = parse_json_line(line)

    assert request.profile.custom_id == custom_id
    assert sorted(request.remove_attributes) == sorted(k for k, v in attributes.items() if v is None)
    assert dict(request.attributes) == {k: expected_value(v) for k, v in attributes.items() if v is not None}
    assert [(a.kind, a.value) for a in request.add_addresses] == [(EMAIL, e) for e in emails]


@given(st.binary(max_size=200) | texts.map(str.encode))
def test_any_line_parses_or_is_rejected_with_a_reason(line: bytes) -> None:
    try:
        request = parse_json_line(line)
    except RowError as error:
        assert str(error)
    else:
        assert request.profile.WhichOneof("ref") is not None


@given(
    st.dictionaries(
        st.sampled_from(["custom_id", "anonymous_id", "attributes", "emails", "subscriptions", "web_push"]),
        st.none() | st.booleans() | numbers | texts | st.lists(texts | st.dictionaries(texts, texts)),
    )
)
def test_any_json_object_parses_or_is_rejected_with_a_reason(row: dict[str, object]) -> None:
    try:
        parse_json_line(orjson.dumps(row))
    except RowError as error:
        assert str(error)


CSV_TYPES = {
    "string": texts.filter(bool),
    "number": st.floats(allow_nan=False, allow_infinity=False),
    "bool": st.booleans(),
    "datetime": moments,
    "list": st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="|"))).filter(
        lambda items: "|".join(items) != ""
    ),
}


def csv_cell(type_name: str, value: object) -> str:
    if type_name == "bool":
        return "true" if value else "false"
    if type_name == "number":
        return repr(value)
    if type_name == "datetime":
        return value.isoformat()  # type: ignore[attr-defined]
    if type_name == "list":
        return "|".join(value)  # type: ignore[arg-type]
    return str(value)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, dict[str, tuple[str, object]]]]]:
    columns = draw(st.dictionaries(keys, st.sampled_from(sorted(CSV_TYPES)), max_size=5))
    rows = []
    for _ in range(draw(st.integers(1, 4))):
        values = {
            name: (kind, draw(CSV_TYPES[kind])) for name, kind in columns.items() if draw(st.booleans())
        }
        rows.append((draw(ids), values))
    return [f"{name}:{kind}" for name, kind in columns.items()], rows


@given(csv_files())
def test_csv_rows_round_trip(file: tuple[list[str], list[tuple[str, dict[str, tuple[str, object]]]]]) -> None:
    headers, rows = file
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["custom_id", *headers])
    names = [header.partition(":")[0] for header in headers]
    for custom_id, values in rows:
        writer.writerow([custom_id, *(csv_cell(*values[n]) if n in values else "" for n in names)])

    parsed = list(csv_rows(io.BytesIO(buffer.getvalue().encode())))

    assert len(parsed) == len(rows)
    for (_, request, _, _), (custom_id, values) in zip(parsed, rows, strict=True):
        assert not isinstance(request, RowError), request
        assert request.profile.custom_id == custom_id
        assert dict(request.attributes) == {
            name: expected_value(value) for name, (_, value) in values.items()
        }


@given(st.lists(st.text(max_size=10), max_size=8))
def test_any_csv_row_parses_or_is_rejected_with_a_reason(cells: list[str]) -> None:
    columns = parse_csv_header(["custom_id", "email", "n:number", "b:bool", "d:datetime", "l:list", "s"])
    try:
        request = parse_csv_row(columns, cells)
    except RowError as error:
        assert str(error)
    else:
        assert request.profile.custom_id == cells[0]


def test_jsonl_rows_are_numbered_by_file_line() -> None:
    rows = list(jsonl_rows([b'{"custom_id": "a"}\n', b"\n", b"  \n", b"[1]\n", b'{"custom_id": "b"}\n']))
    numbered = [(line, isinstance(row, RowError)) for line, row, _, _ in rows]
    assert numbered == [(1, False), (4, True), (5, False)]


def test_the_readme_examples_parse() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## Importing profiles", 1)[1].split("\n## ", 1)[0]
    json_example = section.split("```json\n", 1)[1].split("```", 1)[0]
    csv_example = section.split("```csv\n", 1)[1].split("```", 1)[0]

    request = parse_json_line(json_example)
    rows = list(csv_rows(io.BytesIO(csv_example.encode())))

    assert request.profile.custom_id == "u1"
    assert request.remove_attributes == ["old_key"]
    assert len(request.subscriptions) == 1
    assert [(line, row.profile.custom_id) for line, row, _, _ in rows] == [(2, "u1")]  # type: ignore[union-attr]
    assert rows[0][1].attributes["tags"].string_list_value.values == ["a", "b"]  # type: ignore[union-attr]
