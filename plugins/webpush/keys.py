"""Web push keys as they travel: unpadded base64url (RFC 7515 section 2) of raw P-256 values.

A subscription carries the user agent's public key (``p256dh``, a 65-byte uncompressed point) and a
16-byte ``auth`` secret; a VAPID key pair is a raw 32-byte private scalar and the same 65-byte
public point form.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")
AUTH_SECRET_BYTES = 16
PUBLIC_KEY_BYTES = 65


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; refuse the standard alphabet and stray characters."""
    if not _BASE64URL.fullmatch(text):
        raise ValueError("not base64url (A-Z a-z 0-9 - _)")
    unpadded = text.rstrip("=")
    if len(unpadded) % 4 == 1:
        raise ValueError("not base64url: impossible length")
    try:
        return base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
    except binascii.Error as exc:
        raise ValueError(f"not base64url ({exc})") from None


def public_key_bytes(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def load_public_key(raw: bytes) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from its 65-byte uncompressed point (checked to lie on the curve)."""
    if len(raw) != PUBLIC_KEY_BYTES or raw[0] != 4:
        raise ValueError(f"must be a {PUBLIC_KEY_BYTES}-byte uncompressed P-256 point")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)


def load_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key from PEM (PKCS#8 or SEC1) or from base64url of its raw 32-byte scalar."""
    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(stripped.encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"not a readable unencrypted PEM private key ({exc})") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("must be an EC P-256 (prime256v1) private key")
        return key
    raw = b64url_decode(stripped)
    if len(raw) != 32:
        raise ValueError("must be PEM, or base64url of the raw 32-byte private key")
    try:
        return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    except ValueError:
        raise ValueError("not a valid P-256 private key (out of range)") from None


def private_key_text(key: ec.EllipticCurvePrivateKey) -> str:
    """The base64url raw form, as web-push tools print VAPID keys."""
    return b64url_encode(key.private_numbers().private_value.to_bytes(32, "big"))


def subscription_keys(details: Mapping[str, str]) -> tuple[bytes, bytes]:
    """The subscription's (p256dh, auth) from the address details, checked."""
    try:
        p256dh = b64url_decode(details.get("p256dh", ""))
        auth = b64url_decode(details.get("auth", ""))
    except ValueError as exc:
        raise ValueError(f"subscription keys: {exc}") from None
    load_public_key(p256dh)
    if len(auth) != AUTH_SECRET_BYTES:
        raise ValueError(f"subscription auth secret must be {AUTH_SECRET_BYTES} bytes, not {len(auth)}")
    return p256dh, auth
