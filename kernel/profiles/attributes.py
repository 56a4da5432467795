"""Typed attributes: validation against the limits, and the stored form shared by profiles and events.

Stored form (jsonb): ``{"key": {"t": type, "v": value}}`` with type ``s`` string, ``n`` number, ``b`` bool,
``d`` datetime (ISO 8601 UTC with microseconds, so that text order is time order), ``l`` list of strings.
Profile attributes add ``"at"`` (epoch milliseconds of the write) so a merge can keep the latest value.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from herald.v1 import common_pb2
from kernel.api.timestamps import from_datetime, to_datetime
from kernel.errors import InvalidArgument
from kernel.settings import Settings

KEY_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_EPOCH = datetime(1970, 1, 1)
# Timestamps of the years 1000 to 9999, which isoformat writes as strftime does (not the years before,
# which it pads with zeros and strftime does not on Linux).
FOUR_DIGIT_YEAR_SECONDS = range(int((datetime(1000, 1, 1) - _EPOCH).total_seconds()), 253402300800)
_NANOS_PER_SECOND = 1_000_000_000

StoredValue = dict[str, Any]


@dataclass(frozen=True, slots=True)
class AttributeLimits:
    max_attributes: int
    max_key_length: int
    max_string_bytes: int
    max_list_items: int

    @classmethod
    def from_settings(cls, settings: Settings) -> AttributeLimits:
        return cls(
            settings.max_attributes,
            settings.max_attribute_key_length,
            settings.max_string_bytes,
            settings.max_list_items,
        )


def check_key(key: str, limits: AttributeLimits, field: str) -> None:
    try:
        _check_key(key, limits.max_key_length)
    except InvalidArgument as error:
        raise InvalidArgument(error.reason, field) from None


@functools.lru_cache(maxsize=4096)
def _check_key(key: str, max_length: int) -> None:
    """Attribute keys are few and repeat across events: each valid one is checked once."""
    if not KEY_PATTERN.fullmatch(key):
        raise InvalidArgument("key must be a letter followed by letters, digits or '_'")
    if len(key) > max_length:
        raise InvalidArgument(f"key longer than {max_length} characters")


def _check_string(text: str, limits: AttributeLimits, field: str) -> str:
    if len(text.encode()) > limits.max_string_bytes:
        raise InvalidArgument(f"string longer than {limits.max_string_bytes} bytes", field)
    if "\x00" in text:  # PostgreSQL's jsonb cannot hold U+0000
        raise InvalidArgument("string contains a NUL character", field)
    return text


def format_datetime(value: datetime) -> str:
    return value.astimezone(UTC).strftime(_DATETIME_FORMAT)


def stored_datetime(timestamp: Timestamp) -> str:
    """``format_datetime(to_datetime(timestamp))``, in half the time for the timestamps of the years 1000
    to 9999 (tests/test_profiles.py checks both agree); ValueError when out of range, as ``to_datetime``."""
    seconds, nanos = timestamp.seconds, timestamp.nanos
    if seconds in FOUR_DIGIT_YEAR_SECONDS and 0 <= nanos < _NANOS_PER_SECOND:
        moment = _EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)
        return moment.isoformat(timespec="microseconds") + "Z"
    return format_datetime(to_datetime(timestamp))


def to_stored(value: common_pb2.AttributeValue, limits: AttributeLimits, field: str) -> StoredValue:
    """Validate one protobuf value and return its stored form (without ``at``)."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return {"t": "s", "v": _check_string(value.string_value, limits, field)}
    if kind == "number_value":
        if not math.isfinite(value.number_value):
            raise InvalidArgument("number must be finite", field)
        return {"t": "n", "v": value.number_value}
    if kind == "bool_value":
        return {"t": "b", "v": value.bool_value}
    if kind == "datetime_value":
        try:
            return {"t": "d", "v": stored_datetime(value.datetime_value)}
        except (ValueError, OverflowError, OSError):
            raise InvalidArgument("datetime out of range", field) from None
    if kind == "string_list_value":
        items = list(value.string_list_value.values)
        if len(items) > limits.max_list_items:
            raise InvalidArgument(f"list longer than {limits.max_list_items} items", field)
        for index, item in enumerate(items):
            _check_string(item, limits, f"{field}[{index}]")
        return {"t": "l", "v": items}
    raise InvalidArgument("no value set (string, number, bool, datetime or string list)", field)


def validate_attributes(
    attributes: Mapping[str, common_pb2.AttributeValue], limits: AttributeLimits, field: str = "attributes"
) -> dict[str, StoredValue]:
    """Validate a protobuf attribute map; the error names the first bad entry, e.g. ``attributes["age"]``."""
    if len(attributes) > limits.max_attributes:
        raise InvalidArgument(f"more than {limits.max_attributes} attributes", field)
    stored = {}
    # Keys, then lookups: iterating a protobuf map's items() goes through Python-level ABC code.
    for key in attributes:
        try:
            _check_key(key, limits.max_key_length)
            stored[key] = to_stored(attributes[key], limits, "")
        except InvalidArgument as error:
            raise error.within(f'{field}["{key}"]') from None
    return stored


def to_message(stored: StoredValue) -> common_pb2.AttributeValue:
    kind, value = stored["t"], stored["v"]
    if kind == "s":
        return common_pb2.AttributeValue(string_value=value)
    if kind == "n":
        return common_pb2.AttributeValue(number_value=value)
    if kind == "b":
        return common_pb2.AttributeValue(bool_value=value)
    if kind == "d":
        parsed = datetime.strptime(value, _DATETIME_FORMAT).replace(tzinfo=UTC)
        return common_pb2.AttributeValue(datetime_value=from_datetime(parsed))
    return common_pb2.AttributeValue(string_list_value=common_pb2.StringList(values=value))


def to_messages(stored: Mapping[str, StoredValue]) -> dict[str, common_pb2.AttributeValue]:
    return {key: to_message(value) for key, value in stored.items()}


def to_plain(stored: Mapping[str, StoredValue]) -> dict[str, Any]:
    """Attribute values without their type tags, for exports and templates."""
    return {key: value["v"] for key, value in stored.items()}
