"""The ``web_push`` address kind: a browser's push subscription (its endpoint, with its keys as details)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from kernel.channels import AddressError, AddressKindSpec, Reach
from plugins.webpush.keys import AUTH_SECRET_BYTES, PUBLIC_KEY_BYTES, b64url_encode, load_public_key

MAX_ENDPOINT_LENGTH = 2048
#: The details a subscription carries (PushSubscription.getKey() in the browser).
KEYS = ("p256dh", "auth")

_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")
_BASE64 = re.compile(r"[A-Za-z0-9_\-+/]+={0,2}")


def normalise_endpoint(value: str) -> str:
    """A push service URL is kept verbatim (it is the subscription's identity), but must be https."""
    if len(value) > MAX_ENDPOINT_LENGTH:
        raise AddressError("value", f"longer than {MAX_ENDPOINT_LENGTH} characters")
    if not _VISIBLE_ASCII.fullmatch(value):
        raise AddressError("value", "an endpoint URL has no spaces or non-ASCII characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise AddressError("value", "not a valid URL") from None
    if parts.scheme != "https" or not parts.hostname:
        raise AddressError("value", "the endpoint must be an https:// URL")
    return value


def decode_key(value: str, size: int, field: str) -> bytes:
    """Browsers hand out base64url keys; padded or standard base64 is accepted too."""
    if not value or not _BASE64.fullmatch(value):
        raise AddressError(field, "must be base64url")
    unpadded = value.rstrip("=").replace("+", "-").replace("/", "_")
    try:
        raw = base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
    except (binascii.Error, ValueError):
        raise AddressError(field, "must be base64url") from None
    if len(raw) != size:
        raise AddressError(field, f"must decode to {size} bytes, not {len(raw)}")
    return raw


def normalise_keys(details: Mapping[str, str]) -> Mapping[str, str]:
    """Both keys are required (a message cannot be encrypted without them), each checked and stored in
    unpadded base64url."""
    for key in details:
        if key not in KEYS:
            raise AddressError(f'details["{key}"]', "a web-push subscription's details are p256dh and auth")
    for key in KEYS:
        if key not in details:
            raise AddressError(f'details["{key}"]', "a web-push subscription needs its p256dh and auth keys")
    p256dh_field = 'details["p256dh"]'
    p256dh = decode_key(details["p256dh"], PUBLIC_KEY_BYTES, p256dh_field)
    try:
        # Message encryption (RFC 8291) fails on anything but a point of the curve: a subscription with
        # another key would only fail at send time.
        load_public_key(p256dh)
    except ValueError:
        raise AddressError(p256dh_field, "must be an uncompressed P-256 public key (0x04...)") from None
    auth = decode_key(details["auth"], AUTH_SECRET_BYTES, 'details["auth"]')
    # Stored as the Web Push specs write keys: unpadded base64url.
    return {"p256dh": b64url_encode(p256dh), "auth": b64url_encode(auth)}


WEB_PUSH = AddressKindSpec(
    name="web_push",
    description="A browser's push subscription: the push service's https endpoint, its keys as details",
    normalise=normalise_endpoint,
    normalise_details=normalise_keys,
    reach=Reach.ALL,
    exclusive=True,
)
