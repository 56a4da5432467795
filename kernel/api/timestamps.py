"""Conversions between protobuf Timestamps and aware datetimes (always UTC inside Herald)."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp


def to_datetime(ts: Timestamp) -> datetime:
    """Raises ValueError for a Timestamp out of its documented range (nanos outside 0 to 999,999,999,
    seconds outside years 1 to 9999), rather than silently carrying extra nanos into the seconds."""
    return ts.ToDatetime(tzinfo=UTC)


def from_datetime(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: The seconds of a Timestamp (years 1 to 9999).
TIMESTAMP_SECONDS = range(-62_135_596_800, 253_402_300_800)


def set_timestamp(target: Timestamp, value: datetime) -> None:
    """``target.CopyFrom(from_datetime(value))`` for an aware ``value``, without the intermediate
    Timestamp and UTC datetime (the import reads one per line). OverflowError when ``value`` in UTC falls
    outside the years 1 to 9999, as from_datetime's conversion to UTC does; nothing is set then."""
    since_epoch = value - _EPOCH
    seconds = since_epoch.days * 86_400 + since_epoch.seconds
    if seconds not in TIMESTAMP_SECONDS:
        raise OverflowError("date value out of range")
    target.seconds = seconds
    target.nanos = since_epoch.microseconds * 1000
