"""A profile's events, most recent first, in pages that stay stable while new events arrive.

The page token is the position of the last event returned, (occurred_at, event_seq) — the tail of the
events primary key — so each page is one index range scan, however deep the paging goes.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson

from herald.v1 import profiles_pb2
from kernel.api.timestamps import from_datetime
from kernel.errors import InvalidArgument
from kernel.profiles.attributes import to_messages

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_TOKEN_VERSION = 1


#: A profile's last-seen time (its newest event's) as a column of a query over ``profiles p``: one
#: backward step of the events primary key, so it is never stored, and never stale.
LAST_SEEN = (
    "(SELECT max(e.occurred_at) FROM events e"
    " WHERE e.project_id = p.project_id AND e.profile_id = p.profile_id) AS last_seen_at"
)

_COLUMNS = "SELECT occurred_at, event_seq, name, attributes, client_event_id, received_at FROM events"
_ORDER = "ORDER BY occurred_at DESC, event_seq DESC LIMIT $3"
# Two statements rather than one with an optional bound, so each keeps its own plan: an index range scan.
_NEWEST = f"{_COLUMNS} WHERE project_id = $1 AND profile_id = $2 {_ORDER}"
_OLDER = (
    f"{_COLUMNS} WHERE project_id = $1 AND profile_id = $2 AND (occurred_at, event_seq) < ($4, $5) {_ORDER}"
)


@dataclass(frozen=True, slots=True)
class Position:
    occurred_at: datetime
    event_seq: int


def encode_token(position: Position) -> str:
    micros = (position.occurred_at - _EPOCH) // _MICROSECOND
    payload = orjson.dumps([_TOKEN_VERSION, micros, position.event_seq])
    return base64.urlsafe_b64encode(payload).rstrip(b"=").decode("ascii")


def decode_token(token: str, field: str = "page_token") -> Position:
    try:
        payload = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        version, micros, seq = orjson.loads(payload)
        if version != _TOKEN_VERSION or not isinstance(micros, int) or not isinstance(seq, int):
            raise ValueError(token)
        return Position(_EPOCH + micros * _MICROSECOND, seq)
    except (binascii.Error, ValueError, TypeError, OverflowError, orjson.JSONDecodeError):
        raise InvalidArgument("not a page token returned by this API", field) from None


def event_message(row: asyncpg.Record) -> profiles_pb2.ProfileEvent:
    return profiles_pb2.ProfileEvent(
        name=row["name"],
        time=from_datetime(row["occurred_at"]),
        attributes=to_messages(row["attributes"]),
        event_id=row["client_event_id"] or "",
        received_at=from_datetime(row["received_at"]),
    )


async def event_page(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    profile_id: uuid.UUID,
    size: int,
    after: Position | None = None,
) -> tuple[list[profiles_pb2.ProfileEvent], str]:
    """Up to ``size`` events older than ``after`` (or the newest), and the token of the next page ("")."""
    if after is None:
        rows = await conn.fetch(_NEWEST, project_id, profile_id, size + 1)
    else:
        rows = await conn.fetch(_OLDER, project_id, profile_id, size + 1, after.occurred_at, after.event_seq)
    page = rows[:size]
    token = ""
    if len(rows) > size:
        last = page[-1]
        token = encode_token(Position(last["occurred_at"], last["event_seq"]))
    return [event_message(row) for row in page], token
