"""The direct path of an import line (see :mod:`kernel.profiles.import_lines`): from the line's JSON to
its changes, for the lines an import is made of (profile ids, typed attributes, the address shorthands,
subscriptions, ``observed_at``), through the checks and normalisers UpsertProfile's validation uses.

Plain Python, and also the source of the compiled build (``_line_direct_c.pyx`` includes this file):
keep it to what Cython compiles as Python does (no typing of variables for Cython's sake). No ``from
__future__ import annotations``: Cython accepts it only at the top of the .pyx, and every annotation
here can be evaluated.
"""

import functools
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from kernel.api.timestamps import TIMESTAMP_SECONDS
from kernel.channels.kinds import LoadedKinds
from kernel.errors import HeraldError
from kernel.import_rows import (
    ENUM_NUMBERS,
    ID_KEYS,
    JSON_ADDRESS_KEYS,
    JSON_KEYS,
    SUBSCRIPTION_KEYS,
    RowError,
    parse_datetime,
)
from kernel.profiles.addresses import ParsedAddress, parse_address_parts
from kernel.profiles.attributes import FOUR_DIGIT_YEAR_SECONDS, AttributeLimits, StoredValue, check_key
from kernel.profiles.changes import MAX_FUTURE, ProfileChanges, epoch_ms
from kernel.profiles.conventions import check_conventions
from kernel.profiles.refs import Ref, ref_of
from kernel.profiles.subscriptions import SubscriptionChange, subscription_change

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
# A string of at most this many characters is within any byte limit four times as large (UTF-8 takes at
# most four bytes a character): no need to encode it to know.
_UTF8_MAX = 4


class _General(Exception):
    """The line leaves the direct path: the general path decides it."""


def direct_changes(
    line: bytes, limits: AttributeLimits, kinds: LoadedKinds, now: datetime
) -> ProfileChanges | None:
    """The changes of ``line``, or None when the general path must decide it (another kind of line, or
    one that some check refuses: the general path names the reason)."""
    try:
        return _direct(line, limits, kinds, now)
    except (_General, HeraldError):
        return None


def _direct(line: bytes, limits: AttributeLimits, kinds: LoadedKinds, now: datetime) -> ProfileChanges:
    try:
        row = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise _General from None
    if type(row) is not dict or not JSON_KEYS.issuperset(row):
        raise _General
    observed_at = _observed_at(row["observed_at"], now) if "observed_at" in row else now
    attributes, removed = _attributes(row.get("attributes", {}), limits, epoch_ms(observed_at))
    return ProfileChanges(
        ref=_ref(row),
        observed_at=observed_at,
        attributes=attributes,
        remove_attributes=removed,
        add_addresses=_addresses(row, kinds),
        remove_addresses=[],
        subscriptions=_subscriptions(row.get("subscriptions", []), kinds.scopes),
    )


def _ref(row: Mapping[str, Any]) -> Ref:
    ids = [(key, row.get(key, "")) for key in ID_KEYS]
    given = [(key, value) for key, value in ids if value]
    if len(given) != 1 or any(type(value) is not str for _, value in ids):
        raise _General
    return ref_of(*given[0])


def _since_epoch(text: object, seconds_range: range) -> timedelta:
    """The date-time ``text`` (as the file writes it) since the epoch, within ``seconds_range``."""
    if type(text) is not str:
        raise _General
    try:
        since = parse_datetime(text, "") - _EPOCH
    except RowError:
        raise _General from None
    if since.days * 86_400 + since.seconds not in seconds_range:
        raise _General
    return since


def _observed_at(text: object, now: datetime) -> datetime:
    observed_at = _EPOCH + _since_epoch(text, TIMESTAMP_SECONDS)
    if observed_at > now + MAX_FUTURE:
        raise _General
    return observed_at


def _string(text: str, limits: AttributeLimits) -> str:
    if len(text) * _UTF8_MAX > limits.max_string_bytes and len(text.encode()) > limits.max_string_bytes:
        raise _General
    if "\x00" in text:
        raise _General
    return text


def _stored(value: object, limits: AttributeLimits, at: int) -> StoredValue:
    kind = type(value)
    if kind is str:
        return {"t": "s", "v": _string(value, limits), "at": at}  # type: ignore[arg-type]
    if kind is bool:
        return {"t": "b", "v": value, "at": at}
    if kind is int or kind is float:
        # orjson reads no NaN or infinity; a number is stored as the double the request holds.
        return {"t": "n", "v": float(value), "at": at}  # type: ignore[arg-type]
    if kind is list:
        if len(value) > limits.max_list_items:  # type: ignore[arg-type]
            raise _General
        for item in value:  # type: ignore[attr-defined]
            if type(item) is not str:
                raise _General
            _string(item, limits)
        return {"t": "l", "v": value, "at": at}
    if kind is dict and len(value) == 1 and "datetime" in value:  # type: ignore[arg-type,operator]
        # Outside the years 1000 to 9999 the stored form is not isoformat's: the general path.
        since = _since_epoch(value["datetime"], FOUR_DIGIT_YEAR_SECONDS)  # type: ignore[index]
        return {"t": "d", "v": (_NAIVE_EPOCH + since).isoformat(timespec="microseconds") + "Z", "at": at}
    raise _General


def _attributes(given: object, limits: AttributeLimits, at: int) -> tuple[dict[str, StoredValue], list[str]]:
    if type(given) is not dict:
        raise _General
    attributes: dict[str, StoredValue] = {}
    removed: list[str] = []
    for key, value in given.items():
        check_key(key, limits, "")
        if value is None:
            removed.append(key)
        else:
            attributes[key] = _stored(value, limits, at)
    if len(attributes) > limits.max_attributes:
        raise _General
    check_conventions(attributes)
    return attributes, removed


def _addresses(row: Mapping[str, Any], kinds: LoadedKinds) -> list[tuple[int, ParsedAddress]]:
    if "web_push" in row or "addresses" in row:
        raise _General
    added: list[tuple[int, ParsedAddress]] = []
    for key, kind in JSON_ADDRESS_KEYS.items():
        if key not in row:
            continue
        values = row[key]
        if type(values) is not list:
            raise _General
        for value in values:
            if type(value) is not str:
                raise _General
            added.append((len(added), parse_address_parts(kind, value, {}, "", kinds)))
    if len({address.key for _, address in added}) != len(added):
        raise _General
    return added


def _subscriptions(entries: object, scopes: frozenset[str]) -> list[SubscriptionChange]:
    if type(entries) is not list:
        raise _General
    changes = [_subscription(entry, scopes) for entry in entries]
    if len({change.scope for change in changes}) != len(changes):
        raise _General
    return changes


def _subscription(entry: object, scopes: frozenset[str]) -> SubscriptionChange:
    if type(entry) is not dict or not SUBSCRIPTION_KEYS.issuperset(entry):
        raise _General
    channel, purpose, topic, status = (
        entry.get(key, "") for key in ("channel", "purpose", "topic", "status")
    )
    if not all(type(part) is str for part in (channel, purpose, topic, status)):
        raise _General
    return _subscription_of(channel, purpose, topic, status, scopes)


@functools.lru_cache(maxsize=1024)
def _subscription_of(
    channel: str, purpose: str, topic: str, status: str, scopes: frozenset[str]
) -> SubscriptionChange:
    """The change a subscription's parts make: a file's lines repeat a few of them, each checked once."""
    purpose_number = ENUM_NUMBERS["purpose"].get(purpose.lower())
    status_number = ENUM_NUMBERS["status"].get(status.lower())
    if purpose_number is None or status_number is None:
        raise _General
    return subscription_change(channel, purpose_number, topic, status_number, "", scopes)
