"""Signing a call as Stripe signs its webhooks: ``Herald-Signature: t=<unix>,v1=<hex>[,v1=<hex>]``.

``v1`` is the hex HMAC-SHA256, keyed with the endpoint's secret (its UTF-8 bytes, ``whsec_`` included), of
``<t>.<body>``. The timestamp is signed with the body, so a receiver that refuses a ``t`` far from its own
clock (the README's recipe: 5 minutes) cannot be fed an old call again; each event's ``id`` lets it drop a
retry it already handled. While a rotated secret overlaps its successor, each signs: one ``v1`` each.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

HEADER = "Herald-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    return ",".join([f"t={timestamp}", *(f"v1={signature(secret, timestamp, body)}" for secret in secrets)])
