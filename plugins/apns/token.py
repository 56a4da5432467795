"""The provider authentication token (an ES256 JWT) that APNs checks on every request.

Apple rejects a token whose ``iat`` is more than an hour old (403 ExpiredProviderToken) and answers
429 TooManyProviderTokenUpdates to a provider that re-signs more often than every 20 minutes, so one
token is signed and then reused, as the same header bytes, for 50 minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

REFRESH_AFTER_SECONDS = 50 * 60


class ProviderToken:
    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        key_id: str,
        team_id: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``clock`` gives the wall time written into ``iat``; the token's age is measured on the
        monotonic clock, so a wall-clock jump cannot keep a stale token alive."""
        self._key = key
        self._key_id = key_id
        self._team_id = team_id
        self._clock = clock
        self._signed_at = 0.0
        #: The ``authorization`` header value, ``bearer <jwt>``.
        self.header = b""
        #: Bumped by every refresh, so a request can tell whether it went out with an older token.
        self.generation = 0

    def current(self) -> bytes:
        """The header value to send now, re-signed first if the token is getting old."""
        if not self.header or time.monotonic() - self._signed_at >= REFRESH_AFTER_SECONDS:
            self.refresh()
        return self.header

    def refresh(self) -> None:
        claims = {"iss": self._team_id, "iat": int(self._clock())}
        token = jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self._key_id})
        self.header = b"bearer " + token.encode()
        self._signed_at = time.monotonic()
        self.generation += 1
