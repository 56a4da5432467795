"""Encryption at rest for channel credentials (AES-256-GCM).

A database dump or a read replica then holds no usable provider key. The key comes from the
``credentials_key`` setting — every kernel of a deployment must share it — or, for a single local
install, from ``<data_dir>/credentials_key``, generated on first use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12


def decode_key(text: str) -> bytes:
    key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    if len(key) != 32:
        raise ValueError("credentials_key must be 32 bytes, base64url encoded")
    return key


def load_or_create_key(configured: str, data_dir: Path) -> bytes:
    if configured:
        return decode_key(configured)
    path = data_dir / "credentials_key"
    if path.exists():
        return decode_key(path.read_text())
    data_dir.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode().rstrip("=") + "\n")
    return decode_key(path.read_text())


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)
        self._key = key

    def derive(self, context: bytes) -> str:
        """A secret for ``context`` that every kernel sharing the key computes alike and need not store
        (base64url HMAC-SHA256 under a label of its own, never usable as a sealing key)."""
        digest = hmac.new(self._key, b"herald derived secret/" + context, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        """Encrypt; ``context`` (e.g. project and channel) is authenticated, so a sealed value copied to
        another project's row does not open there."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        return self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], context)
