"""OAuth2 access tokens for FCM, minted from the service account (RFC 7523 JWT bearer grant).

The assertion is an RS256 JWT ``{iss: client_email, scope, aud: token_uri, iat, exp <= iat + 1 h}``
posted to the key file's ``token_uri``. The token is cached and shared by concurrent sends, and
refreshed five minutes before Google says it expires (or at once when FCM refuses it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import jwt

from plugins._http import read_json, retry_after
from plugins.fcm.config import ServiceAccount

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = 3600
REFRESH_MARGIN = 300


class TokenError(Exception):
    """The token endpoint refused the assertion (``permanent``) or could not answer now."""

    def __init__(self, status: int, body: Mapping[str, Any], retry_after: float | None) -> None:
        error = body.get("error", "")
        description = body.get("error_description", "")
        super().__init__(f"token endpoint answered {status}: {error} {description}".strip())
        self.permanent = 400 <= status < 500 and status != 429
        self.retry_after = retry_after


def assertion(account: ServiceAccount, token_uri: str, now: int) -> str:
    claims = {
        "iss": account.client_email,
        "scope": SCOPE,
        "aud": token_uri,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME,
    }
    headers = {"kid": account.private_key_id} if account.private_key_id else None
    return jwt.encode(claims, account.private_key, algorithm="RS256", headers=headers)


class AccessTokens:
    def __init__(self, account: ServiceAccount, token_uri: str) -> None:
        self._account = account
        self._token_uri = token_uri
        self._token = ""
        self._refresh_at = 0.0
        self._lock = asyncio.Lock()
        #: How many tokens were minted (for tests and metrics).
        self.minted = 0

    async def get(self, session: aiohttp.ClientSession) -> str:
        if self._token and time.monotonic() < self._refresh_at:
            return self._token
        async with self._lock:
            if not self._token or time.monotonic() >= self._refresh_at:
                await self._mint(session)
            return self._token

    def invalidate(self, token: str) -> None:
        """FCM refused ``token``: the next ``get`` mints a new one (once, however many sends saw it)."""
        if self._token == token:
            self._token = ""

    async def _mint(self, session: aiohttp.ClientSession) -> None:
        form = {
            "grant_type": GRANT_TYPE,
            "assertion": assertion(self._account, self._token_uri, int(time.time())),
        }
        async with session.post(self._token_uri, data=form) as response:
            body = await read_json(response)
            if response.status != 200 or not body.get("access_token"):
                raise TokenError(response.status, body, retry_after(response.headers.get("Retry-After")))
        self._token = str(body["access_token"])
        lifetime = float(body.get("expires_in", ASSERTION_LIFETIME))
        self._refresh_at = time.monotonic() + max(0.0, lifetime - REFRESH_MARGIN)
        self.minted += 1
