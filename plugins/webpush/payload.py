"""What a web push message carries, and the RFC 8030 headers that go with it.

The encrypted payload is UTF-8 JSON for the site's service worker to read and show::

    {"id": "<Herald message id>", "title": "...", "body": "...", "url": "<click target>",
     "data": {"key": "value", ...}}

Keys with an empty value are left out. ``id`` lets the service worker report clicks against the
message.

Headers: ``TTL`` (required by RFC 8030: the content's ttl_seconds, 28 days when unset), ``Urgency``
(very-low, low, normal or high, from the content's priority) and ``Topic`` (from the collapse key:
a later message with the same topic replaces an undelivered earlier one).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson

from kernel.channels import OutboundMessage
from plugins.webpush.keys import b64url_encode

DEFAULT_TTL_SECONDS = 28 * 24 * 3600
URGENCIES = ("very-low", "low", "normal", "high")
#: RFC 8030 section 5.4: at most 32 characters of the URL- and filename-safe base64 alphabet.
TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")


def plaintext(message: OutboundMessage) -> bytes:
    content = message.content
    fields: dict[str, Any] = {
        "id": message.message_id,
        "title": content.title,
        "body": content.body,
        "url": content.url,
        "data": dict(content.data),
    }
    return orjson.dumps({key: value for key, value in fields.items() if value})


def urgency(priority: str) -> str:
    return priority if priority in URGENCIES else "normal"


def topic(collapse_key: str) -> str:
    """RFC 8030 allows at most 32 base64url characters; a longer or other key is hashed into one,
    so equal keys still give equal topics."""
    if TOPIC.fullmatch(collapse_key):
        return collapse_key
    return b64url_encode(hashlib.sha256(collapse_key.encode()).digest())[:32]


def ttl(ttl_seconds: int | None) -> int:
    return DEFAULT_TTL_SECONDS if ttl_seconds is None else max(0, ttl_seconds)
