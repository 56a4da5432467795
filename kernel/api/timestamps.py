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
