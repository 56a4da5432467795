"""API-key authentication. Keys are random 256-bit secrets stored only as SHA-256 hashes.

A slow password hash would add nothing: the secrets are random, not chosen by people, so a fast hash
cannot be brute-forced, and verification stays cheap on the hot ingestion path. Verified keys are cached
for ``auth_cache_seconds``; a revocation on this kernel drops its cache entry at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from kernel.errors import Unauthenticated

KEY_PREFIX = "hrk_"
_SHOWN_CHARS = 12


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the operator (admin key) or one project."""

    project_id: uuid.UUID | None
    is_admin: bool = False

    @property
    def project(self) -> uuid.UUID:
        """The caller's project; only meaningful for project keys (the API layer guarantees it)."""
        assert self.project_id is not None
        return self.project_id


ADMIN = Caller(project_id=None, is_admin=True)


def new_secret() -> tuple[str, str, bytes]:
    """A fresh API key: (secret shown once, prefix kept for display, hash kept for lookup)."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    return secret, secret[:_SHOWN_CHARS], hash_secret(secret)


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def bearer_token(metadata: Sequence[tuple[str, str | bytes]] | None) -> str:
    for key, value in metadata or ():
        if key == "authorization":
            text = value.decode() if isinstance(value, bytes) else value
            scheme, _, token = text.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("authorization metadata must be 'Bearer <API key>'")
            return token.strip()
    raise Unauthenticated("missing 'authorization: Bearer <API key>' metadata")


class Authenticator:
    """Maps a bearer token to a :class:`Caller`, with a short-lived cache of verified project keys."""

    def __init__(self, pool: asyncpg.Pool, admin_key: str, cache_seconds: float) -> None:
        self._pool = pool
        self._admin_key = admin_key.encode()
        self._cache_seconds = cache_seconds
        self._cache: dict[bytes, tuple[Caller, float]] = {}

    async def authenticate(self, metadata: Sequence[tuple[str, str | bytes]] | None) -> Caller:
        token = bearer_token(metadata)
        if self._admin_key and hmac.compare_digest(token.encode(), self._admin_key):
            return ADMIN
        digest = hash_secret(token)
        cached = self._cache.get(digest)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        project_id = await self._pool.fetchval(
            "SELECT project_id FROM api_keys WHERE secret_sha256 = $1 AND revoked_at IS NULL", digest
        )
        if project_id is None:
            self._cache.pop(digest, None)
            raise Unauthenticated("unknown or revoked API key")
        caller = Caller(project_id=project_id)
        if self._cache_seconds > 0:
            self._cache[digest] = (caller, now + self._cache_seconds)
        return caller

    def forget_project_keys(self, project_id: uuid.UUID) -> None:
        """Drop cached keys of a project (after a revocation), so the change applies here at once."""
        for digest in [d for d, (c, _) in self._cache.items() if c.project_id == project_id]:
            del self._cache[digest]
