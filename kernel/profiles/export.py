"""The right of access: everything stored about a profile, as one JSON document produced piecewise.

The document (UTF-8, keys in this order)::

    {"profile": {"profile_id", "custom_id", "created_at", "updated_at", "last_seen_at", "last_activity_at"},
     "attributes": {"<key>": {"type": "string|number|bool|datetime|string_list", "value": ...,
                              "written_at": "<ISO 8601>"}},
     "identities": [{"kind": "custom|anonymous", "value", "created_at"}],
     "addresses": [{"kind", "value", "details", "created_at", "updated_at"}],
     "subscriptions": [{"channel", "purpose", "topic", "status", "updated_at"}],
     "merges": [{"merge_id", "source_profile_id", "source_identities", "reason", "merged_at"}],
     "events": [{"name", "occurred_at", "received_at", "event_id", "attributes": {typed as above}}],
     "messages": [{"message_id", "send_id", "channel", "address", "status", "attempts", "provider_id",
                   "failure_reason", "detail", "last_feedback", "created_at", "updated_at"}],
     "bulk_messages": [{"message_id", "send_id", "channel", "address", "outcome", "reason", "attempts",
                        "provider_id", "logged_at"}],
     "waiting_messages": [{"message_id", "send_id", "channel", "address", "attempts", "first_attempt_at",
                           "due_at", "detail"}],
     "transactional_requests": [{"request_id", "created_at"}]}

``messages`` (transactional) and ``transactional_requests`` (SendTransactional idempotency records) are
those sent to the profile or to a profile merged into it, and those sent to one of its addresses (in any
case) without a profile; ``bulk_messages`` are the attempts of bulk sends the message log still keeps
(``HERALD_MESSAGE_LOG_DAYS``) and ``waiting_messages`` those waiting for a retry, to the profile or to a
profile merged into it: the same rows erasure deletes (:mod:`kernel.profiles.delivered`).

Events (oldest first), messages and idempotency records are read in keyset pages of :data:`PAGE_ROWS`
rows, each page on a short-lived connection, so neither a profile with millions of events nor a slow
reader holds memory or a transaction open; the bytes are cut into chunks of at most :data:`CHUNK_BYTES`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from kernel.profiles.attributes import StoredValue
from kernel.profiles.delivered import bulk_rows_sql, transactional_messages_sql, transactional_requests_sql
from kernel.profiles.refs import Ref, resolve_one
from kernel.profiles.timeline import LAST_SEEN

CHUNK_BYTES = 64 * 1024
PAGE_ROWS = 1000

TYPE_NAMES = {"s": "string", "n": "number", "b": "bool", "d": "datetime", "l": "string_list"}

_SECTIONS = {
    "identities": """SELECT kind, value, created_at FROM profile_identities
                     WHERE project_id = $1 AND profile_id = $2 ORDER BY kind, value""",
    "addresses": """SELECT kind, value, details, created_at, updated_at FROM profile_addresses
                    WHERE project_id = $1 AND profile_id = $2 ORDER BY kind, value""",
    "subscriptions": """SELECT channel, purpose, topic, status, updated_at FROM profile_subscriptions
                        WHERE project_id = $1 AND profile_id = $2 ORDER BY channel, purpose, topic""",
    "merges": """SELECT merge_id, source_profile_id, source_identities, reason, merged_at FROM profile_merges
                 WHERE project_id = $1 AND target_profile_id = $2 ORDER BY merged_at, merge_id""",
}


@dataclass(frozen=True, slots=True)
class _Listing:
    """A section too long to read at once. ``query`` takes ($1 project, $2 profile, $3 and $4 the last
    position, $5 the page size) and returns the position as its first two columns, ``_at`` and ``_tie``
    (a time and what tells two rows of that time apart, as a rule)."""

    name: str
    query: str
    start: tuple[Any, Any]
    shape: Callable[[dict[str, Any]], dict[str, Any]] = lambda row: row


def _dumps(value: Any) -> bytes:
    # asyncpg's UUID type is not the stdlib's, which orjson would serialise natively.
    return orjson.dumps(value, default=str)


def typed_attributes(stored: Mapping[str, StoredValue]) -> dict[str, dict[str, Any]]:
    """Stored attributes with readable type names (and the write time of profile attributes)."""
    typed = {}
    for key, value in stored.items():
        entry: dict[str, Any] = {"type": TYPE_NAMES[value["t"]], "value": value["v"]}
        if "at" in value:
            entry["written_at"] = datetime.fromtimestamp(value["at"] / 1000, tz=UTC)
        typed[key] = entry
    return typed


_PROFILE = "ARRAY[$2::uuid]"
_LISTINGS = (
    _Listing(
        "events",
        """SELECT occurred_at AS _at, event_seq AS _tie,
                  name, occurred_at, received_at, client_event_id AS event_id, attributes
           FROM events
           WHERE project_id = $1 AND profile_id = $2 AND (occurred_at, event_seq) > ($3, $4)
           ORDER BY occurred_at, event_seq
           LIMIT $5""",
        (datetime.min.replace(tzinfo=UTC), 0),
        lambda event: {**event, "attributes": typed_attributes(event["attributes"])},
    ),
    _Listing(
        "messages",
        f"""SELECT created_at AS _at, message_id AS _tie,
                  message_id, send_id, channel, address, status, attempts, provider_id, failure_reason,
                  detail, last_feedback, created_at, updated_at
           FROM messages
           WHERE project_id = $1 AND (created_at, message_id) > ($3, $4)
             AND {transactional_messages_sql(_PROFILE)}
           ORDER BY created_at, message_id
           LIMIT $5""",
        (datetime.min.replace(tzinfo=UTC), uuid.UUID(int=0)),
    ),
    _Listing(
        "bulk_messages",
        f"""SELECT logged_at AS _at, message_id AS _tie,
                  message_id, send_id, channel, address, outcome, reason, attempts, provider_id, logged_at
           FROM message_log
           WHERE project_id = $1 AND (logged_at, message_id) > ($3, $4) AND {bulk_rows_sql(_PROFILE)}
           ORDER BY logged_at, message_id
           LIMIT $5""",
        (datetime.min.replace(tzinfo=UTC), uuid.UUID(int=0)),
    ),
    # In key order: their due time moves while they wait.
    _Listing(
        "waiting_messages",
        f"""SELECT send_id AS _at, message_id AS _tie,
                  message_id, send_id, channel, address, attempts, first_attempt_at, due_at, detail
           FROM message_retries
           WHERE project_id = $1 AND (send_id, message_id) > ($3, $4) AND {bulk_rows_sql(_PROFILE)}
           ORDER BY send_id, message_id
           LIMIT $5""",
        (uuid.UUID(int=0), uuid.UUID(int=0)),
    ),
    _Listing(
        "transactional_requests",
        f"""SELECT created_at AS _at, idempotency_key AS _tie, idempotency_key AS request_id, created_at
            FROM transactional_requests
            WHERE project_id = $1 AND (created_at, idempotency_key) > ($3, $4)
              AND ({transactional_requests_sql(_PROFILE)})
            ORDER BY created_at, idempotency_key
            LIMIT $5""",
        (datetime.min.replace(tzinfo=UTC), ""),
    ),
)


async def _head(conn: asyncpg.Connection, project_id: uuid.UUID, profile_id: uuid.UUID) -> dict[str, Any]:
    row = await conn.fetchrow(
        f"""SELECT profile_id, custom_id, created_at, updated_at, {LAST_SEEN}, last_activity_at, attributes
            FROM profiles p WHERE project_id = $1 AND profile_id = $2""",
        project_id,
        profile_id,
    )
    profile = dict(row)
    attributes = typed_attributes(profile.pop("attributes"))
    head: dict[str, Any] = {"profile": profile, "attributes": attributes}
    for section, query in _SECTIONS.items():
        head[section] = [dict(r) for r in await conn.fetch(query, project_id, profile_id)]
    return head


async def _listed(
    pool: asyncpg.Pool, listing: _Listing, project_id: uuid.UUID, profile_id: uuid.UUID
) -> AsyncIterator[bytes]:
    """Each row of ``listing`` serialised, fetched page by page."""
    after = listing.start
    while True:
        rows = await pool.fetch(listing.query, project_id, profile_id, *after, PAGE_ROWS)
        for row in rows:
            item = dict(row)
            del item["_at"], item["_tie"]
            yield _dumps(listing.shape(item))
        if len(rows) < PAGE_ROWS:
            return
        after = (rows[-1]["_at"], rows[-1]["_tie"])


class Chunker:
    """Gathers serialised pieces and hands them back as chunks of exactly ``size`` bytes (the last one
    shorter): pieces may be larger than a chunk, and a chunk may end inside a UTF-8 character, which
    concatenation on the reader's side repairs."""

    def __init__(self, size: int = CHUNK_BYTES) -> None:
        self._size = size
        self._buffer = bytearray()

    def add(self, *pieces: bytes) -> list[bytes]:
        for piece in pieces:
            self._buffer += piece
        chunks = []
        while len(self._buffer) >= self._size:
            chunks.append(bytes(self._buffer[: self._size]))
            del self._buffer[: self._size]
        return chunks

    def rest(self) -> list[bytes]:
        rest = [bytes(self._buffer)] if self._buffer else []
        self._buffer.clear()
        return rest


async def export_profile(pool: asyncpg.Pool, project_id: uuid.UUID, ref: Ref) -> AsyncIterator[bytes]:
    """The profile's JSON document in chunks of at most :data:`CHUNK_BYTES`. NOT_FOUND before any byte."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        profile_id, _ = await resolve_one(conn, project_id, ref, create=False)
        head = await _head(conn, project_id, profile_id)
    chunker = Chunker()
    # The head object without its closing brace, then each listing written as an array piece by piece.
    for chunk in chunker.add(_dumps(head)[:-1]):
        yield chunk
    for listing in _LISTINGS:
        separator = b""
        for chunk in chunker.add(b',"%s":[' % listing.name.encode()):
            yield chunk
        async for item in _listed(pool, listing, project_id, profile_id):
            for chunk in chunker.add(separator, item):
                yield chunk
            separator = b","
        for chunk in chunker.add(b"]"):
            yield chunk
    for chunk in [*chunker.add(b"}"), *chunker.rest()]:
        yield chunk
