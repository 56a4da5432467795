"""Conversions between protobuf Timestamps and aware datetimes (always UTC inside Herald)."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp


def to_datetime(ts: Timestamp) -> datetime:
    return datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9, tz=UTC)


def from_datetime(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def optional_datetime(message: object, field: str) -> datetime | None:
    """The Timestamp field ``field`` of ``message`` as a datetime, or None when it is not set."""
    if not message.HasField(field):  # type: ignore[attr-defined]
        return None
    return to_datetime(getattr(message, field))
