"""From Herald's MessageContent to an APNs request body and its apns-* headers.

The body is each message's own; the headers depend on a few fields only (:func:`headers_key`), so that a
batch of personalised pushes computes them once per distinct set.

Alert push: ``{"aps": {"alert": {"title", "body"}, "badge", "sound"}, <data...>}``, apns-push-type
``alert``, priority 10 (or 5 when the content's priority is ``normal``).
Background (silent) push: ``{"aps": {"content-available": 1}, <data...>}``, apns-push-type
``background``, always priority 5 (Apple: priority 10 for a background push is an error), and no
alert, badge or sound. Custom data goes at the top level beside ``aps``; a data key named ``aps`` is
overridden.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from kernel.channels import FailureReason, MessageContent

MAX_PAYLOAD_BYTES = 4096
MAX_COLLAPSE_ID_BYTES = 64
#: The form apns-id must have: a UUID, lower-case and hyphenated (``str(uuid.UUID(...))``).
CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

Header = tuple[bytes, bytes]


class Refusal(Exception):
    """The message cannot be sent as it is; refused before any request is made."""

    def __init__(self, reason: FailureReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def payload(content: MessageContent) -> dict[str, Any]:
    aps: dict[str, Any]
    if content.silent:
        aps = {"content-available": 1}
    else:
        aps = {}
        title, text = content.title, content.body
        if title and text:
            aps["alert"] = {"title": title, "body": text}
        elif title or text:
            aps["alert"] = {"title": title} if title else {"body": text}
        if content.badge is not None:
            aps["badge"] = content.badge
        if content.sound:
            aps["sound"] = content.sound
    return {**content.data, "aps": aps}


def body_of(content: MessageContent) -> bytes:
    """The request body, or Refusal when it is larger than APNs accepts."""
    body = orjson.dumps(payload(content))
    if len(body) > MAX_PAYLOAD_BYTES:
        raise Refusal(
            FailureReason.PAYLOAD_TOO_LARGE, f"payload is {len(body)} bytes, APNs accepts {MAX_PAYLOAD_BYTES}"
        )
    return body


def headers_key(content: MessageContent) -> tuple[bool, str, int | None, str]:
    """What the apns-* headers depend on: contents with the same key share :func:`headers_of`'s answer."""
    return content.silent, content.priority, content.ttl_seconds, content.collapse_key


def headers_of(content: MessageContent, topic: bytes, now: int) -> tuple[Header, ...]:
    """The apns-* headers (but apns-id), or Refusal for a collapse id longer than APNs accepts."""
    if content.silent:
        headers: list[Header] = [(b"apns-push-type", b"background"), (b"apns-priority", b"5")]
    else:
        priority = b"5" if content.priority == "normal" else b"10"
        headers = [(b"apns-push-type", b"alert"), (b"apns-priority", priority)]
    headers.append((b"apns-topic", topic))
    if content.ttl_seconds is not None:
        expiration = now + content.ttl_seconds if content.ttl_seconds > 0 else 0
        headers.append((b"apns-expiration", str(expiration).encode()))
    if content.collapse_key:
        collapse_id = content.collapse_key.encode()
        if len(collapse_id) > MAX_COLLAPSE_ID_BYTES:
            raise Refusal(
                FailureReason.REJECTED,
                f"collapse_key is {len(collapse_id)} bytes, APNs accepts 64 (BadCollapseId)",
            )
        headers.append((b"apns-collapse-id", collapse_id))
    return tuple(headers)
