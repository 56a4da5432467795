"""The rows ``herald import`` reads: one JSONL line or CSV row → one UpsertProfileRequest.

Parsing is local and checks the row's *shape* (JSON syntax, known keys, value types, column count); what
depends on the project (attribute limits, address syntax, suppression) is judged by the server, which
reports the profile it rejects. Every problem found here is a :class:`RowError` whose message starts with
the field path, named the file's way: a JSONL key path (``emails[0]``, ``attributes["age"]``) or a CSV
column as its header reads (``age:number``). The server names the fields of the request it got
(``add_addresses[0].value``); parsing a row again with an :class:`Origins` records where each part of
the request came from, so that :meth:`Origins.name` turns the server's path into the file's.

JSONL: one object per line, blank lines skipped. Exactly one of ``custom_id``, ``anonymous_id`` or
``profile_id``; every other key is optional::

    {"custom_id": "u1",
     "attributes": {"age": 31, "vip": true, "name": "Ada", "tags": ["a", "b"],
                    "signup": {"datetime": "2024-01-01T00:00:00Z"}, "old_key": null},
     "emails": ["ada@example.com"], "phones": ["+33612345678"],
     "apns_tokens": ["<hex>"], "fcm_tokens": ["<token>"],
     "web_push": [{"endpoint": "https://...", "p256dh": "<base64url>", "auth": "<base64url>"}],
     "addresses": [{"kind": "slack_user", "value": "U024BE7LH", "details": {}}],
     "subscriptions": [{"channel": "email", "purpose": "marketing", "topic": "", "status": "opted_in"}],
     "observed_at": "2024-05-01T12:00:00Z"}

Attribute values: a string, a number, true/false, a list of strings, ``{"datetime": "<ISO 8601>"}``, or
``null`` to remove the attribute. Datetimes without an offset are UTC. ``addresses`` takes addresses of
any kind a loaded channel reaches (``details`` optional); the other address keys are shorthands.

CSV: a header row, then one profile per row. Columns ``custom_id``, ``anonymous_id``, ``profile_id`` (one
of them non-empty per row), ``email``, ``phone``, ``apns_token``, ``fcm_token`` (several addresses in one
cell separated by ``|``), or a column of any address kind a loaded channel reaches, typed ``address``
(``slack_user:address``); every other column is an attribute, a string unless its header names a type:
``age:number``, ``vip:bool`` (true/false, yes/no, 1/0), ``signup:datetime`` (ISO 8601), ``tags:list``
(items separated by ``|``) or ``nickname:string``. A typed header also turns a reserved name into an
attribute (``email:string``). An empty cell leaves that field untouched.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from google.protobuf.timestamp_pb2 import Timestamp

from herald.v1 import common_pb2, profiles_pb2
from kernel.api.timestamps import set_timestamp

SEPARATOR = "|"
ID_KEYS = ("custom_id", "anonymous_id", "profile_id")
# Same rule as the server's (kernel.profiles.attributes.KEY_PATTERN), checked here on CSV headers so
# that a misnamed column fails the import at once instead of every row.
_ATTRIBUTE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

#: The file formats' shorthands for the built-in channels' address kinds (any kind, ``addresses``).
JSON_ADDRESS_KEYS = {
    "emails": "email",
    "phones": "phone",
    "apns_tokens": "apns_token",
    "fcm_tokens": "fcm_token",
}
CSV_ADDRESS_COLUMNS = {
    "email": "email",
    "phone": "phone",
    "apns_token": "apns_token",
    "fcm_token": "fcm_token",
}
#: The CSV header type of a column of addresses of the kind it names (``slack_user:address``).
CSV_ADDRESS_TYPE = "address"
JSON_KEYS = frozenset(
    {*ID_KEYS, *JSON_ADDRESS_KEYS, "addresses", "attributes", "web_push", "subscriptions", "observed_at"}
)
# A subscription's purpose and status as the file writes them (``marketing``, ``opted_in``), the
# unspecified value first.
ENUM_NUMBERS = {
    name: {key.removeprefix(prefix).lower(): number for key, number in enum.items()}
    for name, enum, prefix in (
        ("purpose", common_pb2.Purpose, "PURPOSE_"),
        ("status", common_pb2.SubscriptionStatus, "SUBSCRIPTION_STATUS_"),
    )
}
SUBSCRIPTION_KEYS = frozenset({"channel", "purpose", "topic", "status"})
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


class RowError(ValueError):
    """A row that cannot become a profile; the message starts with the field at fault."""

    def __init__(self, reason: str, field: str = "") -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


class HeaderError(ValueError):
    """A CSV header no row can be read with: the whole import stops."""


# How the fields under one ``add_addresses[i]`` are named in the file: the shorthands (``emails[0]``, an
# ``email`` cell) hold the value alone, a ``web_push`` entry names its parts, ``addresses`` as the request.
_WHOLE, _WEB_PUSH, _SAME = "whole", "web_push", "same"
_SERVER_PATH = re.compile(r"(?P<head>[a-z_]+)(?:\[(?P<index>\d+)\])?(?P<rest>.*)", re.DOTALL)
_DETAILS_KEY = re.compile(r'\.details\["(?P<key>[^"]*)"\]')


@dataclass(slots=True)
class Origins:
    """Where the parts of one request came from in the file (see the module documentation)."""

    # The key or column of the profile reference.
    profile: str = ""
    # For each add_addresses entry: its name in the file and how the fields under it are named.
    addresses: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    # For each remove_attributes entry, its name in the file.
    removed: list[str] = dataclasses.field(default_factory=list)
    # Attribute key -> its column (CSV); JSONL keeps the request's naming.
    columns: dict[str, str] = dataclasses.field(default_factory=dict)

    def name(self, server_field: str) -> str:
        """The file's name for a field of the request (the server's path), or the path itself when the
        file has no better one."""
        match = _SERVER_PATH.fullmatch(server_field)
        if match is None:
            return server_field
        head, index, rest = match["head"], match["index"], match["rest"]
        position = int(index) if index is not None else -1
        if head == "profile" and self.profile:
            return self.profile
        if head == "add_addresses" and 0 <= position < len(self.addresses):
            return _address_field(*self.addresses[position], rest)
        if head == "remove_attributes" and 0 <= position < len(self.removed):
            return self.removed[position]
        if head == "attributes" and rest.startswith('["'):
            key, _, after = rest[2:].partition('"]')
            if key in self.columns:
                return self.columns[key] + after
        return server_field


def _address_field(name: str, naming: str, rest: str) -> str:
    if naming == _WHOLE or (naming == _WEB_PUSH and rest == ".kind"):
        return name
    if naming == _WEB_PUSH:
        if rest == ".value":
            return f"{name}.endpoint"
        details = _DETAILS_KEY.match(rest)
        if details:
            return f"{name}.{details['key']}{rest[details.end() :]}"
    return name + rest


# -- shared pieces -------------------------------------------------------------------------------------


def parse_datetime(text: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except (ValueError, TypeError):
        raise RowError("not an ISO 8601 date-time (e.g. 2024-01-31T09:30:00Z)", field) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _set_timestamp(target: Timestamp, moment: datetime, field: str) -> None:
    try:
        set_timestamp(target, moment)
    except OverflowError:
        raise RowError("date-time out of range", field) from None


def _string(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise RowError("must be a string", field)
    return value


def _strings(value: object, field: str) -> list[str]:
    if not isinstance(value, list):
        raise RowError("must be a list of strings", field)
    return [_string(item, f"{field}[{index}]") for index, item in enumerate(value)]


def _set_ref(
    request: profiles_pb2.UpsertProfileRequest, ids: Mapping[str, str], origins: Origins | None
) -> None:
    given = {key: value for key, value in ids.items() if value}
    if len(given) != 1:
        raise RowError("give exactly one of custom_id, anonymous_id or profile_id")
    ((key, value),) = given.items()
    setattr(request.profile, key, value)
    if origins is not None:
        origins.profile = key


def _add_addresses(
    request: profiles_pb2.UpsertProfileRequest,
    kind: str,
    values: Sequence[str],
    origins: Origins | None,
    name: str,
    indexed: bool,
) -> None:
    """Append the addresses; their file name is ``name``, with each one's index when ``indexed``."""
    for value in values:
        request.add_addresses.add(kind=kind, value=value)
    if origins is not None:
        origins.addresses.extend(
            (f"{name}[{index}]" if indexed else name, _WHOLE) for index in range(len(values))
        )


def _number(value: float, field: str) -> common_pb2.AttributeValue:
    if not math.isfinite(value):
        raise RowError("number must be finite", field)
    return common_pb2.AttributeValue(number_value=value)


# -- JSONL ---------------------------------------------------------------------------------------------


def _json_attribute(value: object, key: str, target: common_pb2.AttributeValue) -> None:
    """Set ``target`` (the request's own entry, so that nothing is copied) to the value of ``key``."""
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int | float):
        if not math.isfinite(value):
            raise RowError("number must be finite", f'attributes["{key}"]')
        target.number_value = value
    elif isinstance(value, str):
        target.string_value = value
    elif isinstance(value, list):
        target.string_list_value.values.extend(_strings(value, f'attributes["{key}"]'))
    elif isinstance(value, dict) and list(value) == ["datetime"]:
        field = f'attributes["{key}"].datetime'
        moment = parse_datetime(_string(value["datetime"], field), field)
        _set_timestamp(target.datetime_value, moment, field)
    else:
        raise RowError(
            'must be a string, number, true/false, list of strings, {"datetime": "..."} or null',
            f'attributes["{key}"]',
        )


def _json_attributes(
    request: profiles_pb2.UpsertProfileRequest, attributes: object, origins: Origins | None
) -> None:
    if not isinstance(attributes, dict):
        raise RowError("must be an object", "attributes")
    for key, value in attributes.items():
        if value is None:
            request.remove_attributes.append(key)
            if origins is not None:
                origins.removed.append(f'attributes["{key}"]')
        else:
            _json_attribute(value, key, request.attributes[key])


def _object(value: object, field: str, keys: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RowError("must be an object", field)
    if keys.issuperset(value):
        return value
    unknown = sorted(set(value) - keys)
    raise RowError(f"unknown key {unknown[0]!r} (expected {', '.join(sorted(keys))})", field)


def _objects(entries: object, name: str, keys: frozenset[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each object of the list under ``name``, with its field path."""
    if not isinstance(entries, list):
        raise RowError("must be a list", name)
    for index, entry in enumerate(entries):
        field = f"{name}[{index}]"
        yield field, _object(entry, field, keys)


def _json_web_push(
    request: profiles_pb2.UpsertProfileRequest, entries: object, origins: Origins | None
) -> None:
    for field, entry in _objects(entries, "web_push", frozenset({"endpoint", "p256dh", "auth"})):
        fields = {key: _string(value, f"{field}.{key}") for key, value in entry.items()}
        endpoint = fields.pop("endpoint", "")
        request.add_addresses.append(common_pb2.Address(kind="web_push", value=endpoint, details=fields))
        if origins is not None:
            origins.addresses.append((field, _WEB_PUSH))


def _json_addresses(
    request: profiles_pb2.UpsertProfileRequest, entries: object, origins: Origins | None
) -> None:
    for field, fields in _objects(entries, "addresses", frozenset({"kind", "value", "details"})):
        details = fields.get("details", {})
        if not isinstance(details, dict):
            raise RowError("must be an object", f"{field}.details")
        request.add_addresses.append(
            common_pb2.Address(
                kind=_string(fields.get("kind", ""), f"{field}.kind"),
                value=_string(fields.get("value", ""), f"{field}.value"),
                details={key: _string(value, f'{field}.details["{key}"]') for key, value in details.items()},
            )
        )
        if origins is not None:
            origins.addresses.append((field, _SAME))


def _enum_value(name: str, value: object, field: str) -> int:
    number = ENUM_NUMBERS[name].get(_string(value, field).lower())
    if number is None:
        choices = list(ENUM_NUMBERS[name])[1:]
        raise RowError(f"one of {', '.join(choices)}", field)
    return number


def _json_subscriptions(request: profiles_pb2.UpsertProfileRequest, entries: object) -> None:
    for field, fields in _objects(entries, "subscriptions", SUBSCRIPTION_KEYS):
        request.subscriptions.add(
            channel=_string(fields.get("channel", ""), f"{field}.channel"),
            purpose=_enum_value("purpose", fields.get("purpose", ""), f"{field}.purpose"),
            topic=_string(fields.get("topic", ""), f"{field}.topic"),
            status=_enum_value("status", fields.get("status", ""), f"{field}.status"),
        )


def _json_syntax_error(line: bytes | str, error: orjson.JSONDecodeError) -> RowError:
    """Where the line breaks JSON, by its column: the parser counts lines within the line it was given
    (its "line 2" is the end of this line, past its newline)."""
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    content = text.rstrip("\r\n")
    if error.lineno == 1 and error.colno <= len(content):
        return RowError(f"invalid JSON at column {error.colno}: {error.msg}")
    return RowError(f"invalid JSON at the end of the line (column {len(content) + 1}): {error.msg}")


def json_object(line: bytes | str) -> dict[str, Any]:
    """The JSON object of a JSONL line; RowError when the line is not JSON or not an object."""
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise _json_syntax_error(line, error) from None
    if not isinstance(document, dict):
        raise RowError("each line must be a JSON object")
    return document


def json_names(row: Mapping[str, object]) -> set[tuple[str, str]]:
    """The profile references and addresses a JSONL line's object names, as the request made of it names
    them (``("custom_id", "u1")``, ``("email", "ada@example.com")``): what ``herald import`` orders its
    batches by. A part of the wrong shape is left out: the server rejects the whole line for it."""
    names = {(key, value) for key in ID_KEYS if isinstance(value := row.get(key), str) and value}
    for key, kind in JSON_ADDRESS_KEYS.items():
        values = row.get(key)
        if isinstance(values, list):
            names.update((kind, value) for value in values if isinstance(value, str))
    for key, kind_key, value_key in (("web_push", "", "endpoint"), ("addresses", "kind", "value")):
        entries = row.get(key)
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, dict):
                kind = entry.get(kind_key, "") if kind_key else key
                value = entry.get(value_key, "")
                if isinstance(kind, str) and isinstance(value, str):
                    names.add((kind, value))
    return names


def parse_json_line(line: bytes | str, origins: Origins | None = None) -> profiles_pb2.UpsertProfileRequest:
    """One JSONL line (see the module documentation) → the request; RowError if it cannot be one.

    With ``origins``, also records where each part of the request came from."""
    row = _object(json_object(line), "", JSON_KEYS)
    request = profiles_pb2.UpsertProfileRequest()
    _set_ref(request, {key: _string(row.get(key, ""), key) for key in ID_KEYS}, origins)
    if "attributes" in row:
        _json_attributes(request, row["attributes"], origins)
    for key, kind in JSON_ADDRESS_KEYS.items():
        if key in row:
            _add_addresses(request, kind, _strings(row[key], key), origins, key, indexed=True)
    if "web_push" in row:
        _json_web_push(request, row["web_push"], origins)
    if "addresses" in row:
        _json_addresses(request, row["addresses"], origins)
    if "subscriptions" in row:
        _json_subscriptions(request, row["subscriptions"])
    if "observed_at" in row:
        moment = parse_datetime(_string(row["observed_at"], "observed_at"), "observed_at")
        _set_timestamp(request.observed_at, moment, "observed_at")
    return request


# -- CSV -----------------------------------------------------------------------------------------------


def _csv_number(text: str, field: str) -> common_pb2.AttributeValue:
    try:
        return _number(float(text), field)
    except ValueError:
        raise RowError(f"{text!r} is not a number", field) from None


def _csv_bool(text: str, field: str) -> common_pb2.AttributeValue:
    lowered = text.strip().lower()
    if lowered not in _TRUE | _FALSE:
        raise RowError(f"{text!r} is not true/false, yes/no or 1/0", field)
    return common_pb2.AttributeValue(bool_value=lowered in _TRUE)


def _csv_datetime(text: str, field: str) -> common_pb2.AttributeValue:
    value = common_pb2.AttributeValue()
    _set_timestamp(value.datetime_value, parse_datetime(text.strip(), field), field)
    return value


def _csv_string(text: str, field: str) -> common_pb2.AttributeValue:
    return common_pb2.AttributeValue(string_value=text)


def _csv_list(text: str, field: str) -> common_pb2.AttributeValue:
    return common_pb2.AttributeValue(string_list_value=common_pb2.StringList(values=text.split(SEPARATOR)))


CSV_TYPES: dict[str, Callable[[str, str], common_pb2.AttributeValue]] = {
    "string": _csv_string,
    "number": _csv_number,
    "bool": _csv_bool,
    "datetime": _csv_datetime,
    "list": _csv_list,
}


@dataclass(frozen=True, slots=True)
class Column:
    """One CSV column: a profile id, an address kind, or a typed attribute; rows name it by ``header``."""

    name: str
    header: str
    id_key: str = ""
    address_kind: str = ""
    parse: Callable[[str, str], common_pb2.AttributeValue] | None = None


def _column(header: str, position: int) -> Column:
    written = header.strip()
    name, colon, type_name = written.partition(":")
    if not colon:
        if name in ID_KEYS:
            return Column(name, written, id_key=name)
        if name in CSV_ADDRESS_COLUMNS:
            return Column(name, written, address_kind=CSV_ADDRESS_COLUMNS[name])
        type_name = "string"
    where = f"column {position + 1} ({header!r})"
    if type_name == CSV_ADDRESS_TYPE:
        return Column(name, written, address_kind=name)
    if type_name not in CSV_TYPES:
        raise HeaderError(f"{where}: unknown type {type_name!r} (one of {', '.join(CSV_TYPES)})")
    if not _ATTRIBUTE_KEY.fullmatch(name):
        raise HeaderError(f"{where}: an attribute name is a letter followed by letters, digits or '_'")
    return Column(name, written, parse=CSV_TYPES[type_name])


def parse_csv_header(cells: Sequence[str]) -> list[Column]:
    """The columns of a CSV header row; HeaderError if no row could be read with it."""
    if cells:
        cells = [cells[0].removeprefix("\ufeff"), *cells[1:]]  # a byte-order mark from spreadsheet exports
    columns = [_column(cell, position) for position, cell in enumerate(cells)]
    names = [column.name for column in columns]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise HeaderError(f"column {duplicates[0]!r} appears more than once")
    if not any(column.id_key for column in columns):
        raise HeaderError("the header needs a custom_id, anonymous_id or profile_id column")
    return columns


def parse_csv_row(
    columns: Sequence[Column], cells: Sequence[str], origins: Origins | None = None
) -> profiles_pb2.UpsertProfileRequest:
    """One CSV row (see the module documentation) → the request; RowError if it cannot be one.

    With ``origins``, also records which column each part of the request came from."""
    if len(cells) != len(columns):
        raise RowError(f"expected {len(columns)} columns, found {len(cells)}")
    for column, cell in zip(columns, cells, strict=True):
        try:
            cell.encode()
        except UnicodeEncodeError:
            # The file is read with surrogateescape, so that one bad row does not stop the import.
            raise RowError("not valid UTF-8", column.header) from None
    request = profiles_pb2.UpsertProfileRequest()
    ids = {}
    for column, cell in zip(columns, cells, strict=True):
        if column.id_key:
            ids[column.id_key] = cell
        elif not cell:
            continue
        elif column.address_kind:
            values = [v.strip() for v in cell.split(SEPARATOR)]
            _add_addresses(
                request, column.address_kind, values, origins, column.header, indexed=len(values) > 1
            )
        elif column.parse is not None:
            request.attributes[column.name].CopyFrom(column.parse(cell, column.header))
            if origins is not None:
                origins.columns[column.name] = column.header
    _set_ref(request, ids, origins)
    return request
