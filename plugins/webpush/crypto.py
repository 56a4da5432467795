"""Message encryption for web push (RFC 8291) in the aes128gcm content coding (RFC 8188).

One record per message, as RFC 8291 requires: an 86-byte header (salt, record size 4096, the
sender's ephemeral public key as key id), then AES-128-GCM over the plaintext followed by the
last-record delimiter 0x02. Push services must accept 4096 bytes of body, so the plaintext may be
at most 4096 - 86 - 16 (GCM tag) - 1 (delimiter) = 3993 bytes.

HKDF (RFC 5869) is spelt out with HMAC-SHA-256: every output here fits in one HMAC block, so each
expansion is a single ``HMAC(prk, info || 0x01)``.
"""

from __future__ import annotations

import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from plugins.webpush.keys import PUBLIC_KEY_BYTES, load_public_key, public_key_bytes

RECORD_SIZE = 4096
SALT_BYTES = 16
HEADER_BYTES = SALT_BYTES + 4 + 1 + PUBLIC_KEY_BYTES
TAG_BYTES = 16
MAX_BODY_BYTES = 4096
MAX_PLAINTEXT_BYTES = MAX_BODY_BYTES - HEADER_BYTES - TAG_BYTES - 1
_LAST_RECORD = b"\x02"


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    prk = hmac.digest(salt, ikm, "sha256")
    return hmac.digest(prk, info + b"\x01", "sha256")[:length]


def _content_keys(
    ecdh_secret: bytes, auth_secret: bytes, salt: bytes, ua_public: bytes, as_public: bytes
) -> tuple[bytes, bytes]:
    """RFC 8291 section 3.3/3.4: the input keying material from the shared secret, then RFC 8188's
    content-encryption key and nonce."""
    ikm = _hkdf(auth_secret, ecdh_secret, b"WebPush: info\x00" + ua_public + as_public, 32)
    prk = hmac.digest(salt, ikm, "sha256")
    cek = hmac.digest(prk, b"Content-Encoding: aes128gcm\x00\x01", "sha256")[:16]
    nonce = hmac.digest(prk, b"Content-Encoding: nonce\x00\x01", "sha256")[:12]
    return cek, nonce


def encrypt(
    plaintext: bytes,
    ua_public: bytes,
    auth_secret: bytes,
    *,
    sender_key: ec.EllipticCurvePrivateKey | None = None,
    salt: bytes | None = None,
) -> bytes:
    """Encrypt for the subscription (``p256dh``, ``auth``). A fresh ephemeral key and salt are used
    unless given (only known-answer tests give them)."""
    if len(plaintext) > MAX_PLAINTEXT_BYTES:
        raise ValueError(f"plaintext is {len(plaintext)} bytes, at most {MAX_PLAINTEXT_BYTES} fit one record")
    sender_key = sender_key or ec.generate_private_key(ec.SECP256R1())
    salt = salt or os.urandom(SALT_BYTES)
    as_public = public_key_bytes(sender_key.public_key())
    ecdh_secret = sender_key.exchange(ec.ECDH(), load_public_key(ua_public))
    cek, nonce = _content_keys(ecdh_secret, auth_secret, salt, ua_public, as_public)
    header = salt + RECORD_SIZE.to_bytes(4, "big") + bytes([len(as_public)]) + as_public
    return header + AESGCM(cek).encrypt(nonce, plaintext + _LAST_RECORD, None)


def decrypt(body: bytes, ua_key: ec.EllipticCurvePrivateKey, auth_secret: bytes) -> bytes:
    """What the user agent does with a push message: parse the header, derive, decrypt, unpad.
    Raises ValueError for anything that is not one well-formed aes128gcm record for this key."""
    if len(body) < HEADER_BYTES + TAG_BYTES + 1:
        raise ValueError("too short for an aes128gcm header and one record")
    salt, record_size, key_id_length = body[:SALT_BYTES], int.from_bytes(body[16:20], "big"), body[20]
    if key_id_length != PUBLIC_KEY_BYTES:
        raise ValueError(f"key id must be the sender's {PUBLIC_KEY_BYTES}-byte public key")
    as_public, ciphertext = body[21:HEADER_BYTES], body[HEADER_BYTES:]
    if len(ciphertext) > record_size:
        raise ValueError("more than one record (RFC 8291 allows one)")
    ecdh_secret = ua_key.exchange(ec.ECDH(), load_public_key(as_public))
    ua_public = public_key_bytes(ua_key.public_key())
    cek, nonce = _content_keys(ecdh_secret, auth_secret, salt, ua_public, as_public)
    try:
        record = AESGCM(cek).decrypt(nonce, ciphertext, None)
    except InvalidTag:
        raise ValueError("authentication tag mismatch (wrong keys or corrupted body)") from None
    unpadded = record.rstrip(b"\x00")
    if not unpadded.endswith(_LAST_RECORD):
        raise ValueError("the record does not end with the last-record delimiter 0x02")
    return unpadded[:-1]
