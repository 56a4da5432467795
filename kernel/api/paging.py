"""Pagination as AIP-158 asks, the same for every List method.

A page token is opaque to clients: base64url of a JSON list holding a version, a digest of the request's
other fields (a token only continues the listing it came from: other filters are INVALID_ARGUMENT) and
the position of the last item returned, from which the next page starts (a keyset, not an offset, so
pages stay stable while items are added).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
from google.protobuf.message import Message

from kernel.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
_TOKEN_VERSION = 1
T = TypeVar("T")
Item = TypeVar("Item")
#: A List method's request message: it has ``page_size`` and ``page_token`` fields.
ListRequest = Any


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """What one List call asks for: ``size`` items after ``after`` (None: from the start)."""

    size: int
    after: T | None


def bounded_size(value: int, default: int, maximum: int, field: str) -> int:
    """A requested number of items, where 0 (unset in proto3) means the default."""
    if value < 0:
        raise InvalidArgument("must not be negative", field)
    if value > maximum:
        raise InvalidArgument(f"at most {maximum}", field)
    return value or default


def read_page(request: ListRequest, parse: Callable[[list[str]], T]) -> Page[T]:
    """The request's page size and position; ``parse`` turns a token's position back into a key (and
    raises ValueError, TypeError or KeyError for one this API would not have written)."""
    size = bounded_size(request.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, "page_size")
    if not request.page_token:
        return Page(size, None)
    try:
        payload = base64.urlsafe_b64decode(request.page_token + "=" * (-len(request.page_token) % 4))
        version, digest, *position = orjson.loads(payload)
        if version != _TOKEN_VERSION or not all(isinstance(value, str) for value in position):
            raise ValueError(request.page_token)
        after = parse(position)
    except (binascii.Error, ValueError, TypeError, KeyError, orjson.JSONDecodeError):
        raise InvalidArgument("not a page token returned by this API", "page_token") from None
    if digest != _filters_digest(request):
        raise InvalidArgument("was returned for other filters than this request's", "page_token")
    return Page(size, after)


def page_of(
    request: ListRequest, items: Sequence[Item], size: int, position: Callable[[Item], Sequence[str]]
) -> tuple[Sequence[Item], str]:
    """The page out of ``items`` (fetched with one more than ``size``, to learn whether more follow) and
    the token of the next page, empty on the last one."""
    if len(items) <= size:
        return items, ""
    page = items[:size]
    payload = orjson.dumps([_TOKEN_VERSION, _filters_digest(request), *position(page[-1])])
    return page, base64.urlsafe_b64encode(payload).rstrip(b"=").decode("ascii")


def time_position(at: datetime, identifier: uuid.UUID) -> list[str]:
    """The position of an item listed in (creation time, id) order."""
    return [at.isoformat(), str(identifier)]


def parse_time_position(position: list[str]) -> tuple[datetime, uuid.UUID]:
    at, identifier = position
    parsed = datetime.fromisoformat(at)
    if parsed.tzinfo is None:
        raise ValueError(at)
    return parsed, uuid.UUID(identifier)


def _filters_digest(request: ListRequest) -> str:
    """What identifies a listing: every field of the request but the page size and token."""
    filters: Message = type(request)()
    filters.CopyFrom(request)
    filters.ClearField("page_size")
    filters.ClearField("page_token")
    return hashlib.sha256(filters.SerializeToString(deterministic=True)).hexdigest()[:16]
