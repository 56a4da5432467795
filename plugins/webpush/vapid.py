"""VAPID (RFC 8292): the application server identifies itself with a signed JWT per push service.

``Authorization: vapid t=<JWT>, k=<public key>``: an ES256 JWT whose ``aud`` is the origin of the
push resource, ``exp`` at most 24 hours ahead and ``sub`` a ``mailto:`` or ``https:`` contact, and
``k`` the base64url uncompressed public key that verifies it. One token per origin is signed and
reused for 12 hours (renewed an hour before it expires), so signing is not per message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from plugins.webpush.keys import b64url_encode, public_key_bytes

TOKEN_LIFETIME_SECONDS = 12 * 3600
RENEW_BEFORE_EXPIRY_SECONDS = 3600
MAX_LIFETIME_SECONDS = 24 * 3600


def origin(url: str) -> str:
    """The RFC 6454 origin of a URL: scheme, host and a non-default port."""
    parts = urlsplit(url)
    default_port = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port and parts.port != default_port else ""
    return f"{parts.scheme}://{host}{port}"


class Vapid:
    def __init__(
        self, key: ec.EllipticCurvePrivateKey, subject: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._key = key
        self._subject = subject
        self._clock = clock
        self.public_key = b64url_encode(public_key_bytes(key.public_key()))
        self._headers: dict[str, tuple[str, float]] = {}  # origin -> (header, renew at)

    def authorization(self, audience: str) -> str:
        """The Authorization header value for push resources of origin ``audience``."""
        now = self._clock()
        cached = self._headers.get(audience)
        if cached is not None and now < cached[1]:
            return cached[0]
        expires = int(now) + TOKEN_LIFETIME_SECONDS
        claims = {"aud": audience, "exp": expires, "sub": self._subject}
        token = jwt.encode(claims, self._key, algorithm="ES256", headers={"typ": "JWT"})
        header = f"vapid t={token}, k={self.public_key}"
        self._headers[audience] = (header, expires - RENEW_BEFORE_EXPIRY_SECONDS)
        return header
