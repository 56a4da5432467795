"""A loopback APNs: HTTP/2 over TLS (ALPN h2 only), token authentication, Apple's answers.

It checks each ``POST /3/device/<token>`` the way APNs does and answers with Apple's statuses and
``{"reason": ...}`` bodies: the provider token (ES256 signature by a trusted key, ``kid``, ``iss``,
``iat`` at most an hour old), the apns-* headers (topic, push type, priority, expiration, collapse
id, apns-id), the device token, and the payload (JSON, 4096 bytes at most; a background push must
carry ``content-available: 1`` and nothing to show). Tests can make it fail requests, slow down,
forget device tokens (410 Unregistered), hold tokens of the other environment (400 BadDeviceToken)
and send GOAWAY. In sandbox mode it also answers a share of device tokens (``report_feedback``) 410
Unregistered.

It trusts the keys given to :meth:`ApnsEmulator.trust` (or :meth:`ApnsEmulator.trust_config`, a
project's channel configuration); a new emulator also issues one account of its own, whose channel
configuration is :attr:`ApnsEmulator.credentials`.

Standalone: ``python -m plugins.apns.emulator --port 8443`` serves; it prints its endpoint on stdout
and the configuration of its own account on stderr (or trusts ``--team-id --key-id --public-key``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import secrets
import string
import sys
import time
import uuid
import weakref
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kernel.channels import FeedbackRates
from plugins._http import run_standalone
from plugins._tls import self_signed_tls
from plugins.apns.config import ApnsConfig
from plugins.apns.h2server import H2ServerConnection, Header
from plugins.apns.payload import CANONICAL_UUID, MAX_COLLAPSE_ID_BYTES, MAX_PAYLOAD_BYTES

TOKEN_MAX_AGE_SECONDS = 3600
PUSH_TYPES = frozenset(
    {
        "alert",
        "background",
        "location",
        "voip",
        "complication",
        "fileprovider",
        "mdm",
        "liveactivity",
        "pushtotalk",
    }
)
_DEVICE_TOKEN = re.compile(r"[0-9a-fA-F]{64}")
_PATH = re.compile(r"/3/device/(.*)")
_DEFAULT_REASONS = {
    400: "BadDeviceToken",
    403: "InvalidProviderToken",
    404: "BadPath",
    405: "MethodNotAllowed",
    410: "Unregistered",
    413: "PayloadTooLarge",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _TrustedKey:
    team_id: str
    public_key: ec.EllipticCurvePublicKey
    topics: frozenset[str]


@dataclass(slots=True)
class _Failure:
    status: int
    reason: str
    retry_after: float | None


@dataclass(slots=True)
class _Answer:
    status: int
    reason: str = ""
    apns_id: str = ""
    retry_after: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class ApnsEmulator:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, max_concurrent_streams: int = 1000) -> None:
        self._host = host
        self._port = port
        self._max_concurrent_streams = max_concurrent_streams
        self._trusted: dict[str, _TrustedKey] = {}
        self._sandbox = False
        # authorization header -> (kid, iat, provider token) once the signature is checked
        self._verified: dict[bytes, tuple[str, int, str]] = {}
        self._failures: deque[_Failure] = deque()
        self._latency = 0.0
        self._invalidated: dict[str, int] = {}  # device token -> when (ms), as Apple's timestamp
        #: Sandbox mode: the share of tokens answered as unregistered (None: only invalidated ones).
        self._rates: FeedbackRates | None = None
        self._other_environment: set[str] = set()
        self._goaway_countdown: int | None = None
        self._server: asyncio.Server | None = None
        self._connections: weakref.WeakSet[H2ServerConnection] = weakref.WeakSet()
        self.endpoint = ""
        #: Every accepted push: token, apns_id, headers (topic, push_type, priority, expiration,
        #: collapse_id), the decoded payload, the provider token and its iat.
        self.accepted: list[Mapping[str, Any]] = []
        #: Every refused request: token, status, reason.
        self.rejected: list[Mapping[str, Any]] = []
        #: The channel configuration of the account this emulator issued (a fresh key it trusts).
        self.credentials = self._issue_account()

    # -- configuration ----------------------------------------------------------------------------

    def trust(
        self,
        team_id: str,
        key_id: str,
        public_key: ec.EllipticCurvePublicKey,
        topics: frozenset[str] = frozenset(),
    ) -> None:
        """Accept provider tokens signed by ``public_key`` with this kid and iss, for these topics
        (empty: any topic)."""
        self._trusted[key_id] = _TrustedKey(team_id, public_key, topics)

    def enter_sandbox(self) -> Mapping[str, Any]:
        """Accept provider tokens of any key, checking claims, not signatures; see the Emulator protocol."""
        self._sandbox = True
        return self.credentials

    def trust_config(self, config: Mapping[str, Any]) -> None:
        """Trust the key of a project's push.apns configuration (sandbox mode: every project's sender
        is pointed at one emulator, each with its own key)."""
        parsed = ApnsConfig.parse(config)
        self.trust(parsed.team_id, parsed.key_id, parsed.key.public_key(), frozenset({parsed.bundle_id}))

    def _issue_account(self) -> dict[str, str]:
        key = ec.generate_private_key(ec.SECP256R1())
        alphabet = string.ascii_uppercase + string.digits
        team_id, key_id = ("".join(secrets.choice(alphabet) for _ in range(10)) for _ in range(2))
        bundle_id = "dev.herald.sandbox"
        self.trust(team_id, key_id, key.public_key(), frozenset({bundle_id}))
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return {
            "team_id": team_id,
            "key_id": key_id,
            "key_p8": pem.decode(),
            "bundle_id": bundle_id,
            "environment": "sandbox",
        }

    # -- test controls (the Emulator protocol) ----------------------------------------------------

    def fail_next(
        self, count: int, status: int, *, retry_after: float | None = None, error: str = ""
    ) -> None:
        """The next ``count`` requests get ``status`` with ``{"reason": error}`` (Apple's reason for the
        status by default), and a Retry-After header when given."""
        reason = error or _DEFAULT_REASONS.get(status, "InternalServerError")
        self._failures.extend(_Failure(status, reason, retry_after) for _ in range(count))

    def set_latency(self, seconds: float) -> None:
        self._latency = seconds

    def invalidate(self, address: str) -> None:
        """The device token is no longer active: 410 Unregistered, with the time it became so."""
        self._invalidated[address.lower()] = int(time.time() * 1000)

    def report_feedback(self, rates: FeedbackRates) -> None:
        """Answer the sandbox's share of tokens as unregistered; see the FeedbackEmulator protocol."""
        self._rates = rates

    def from_other_environment(self, address: str) -> None:
        """The device token is valid, but was issued in the other APNs environment (a development build's
        token sent to production, or the reverse): 400 BadDeviceToken, as APNs answers it."""
        self._other_environment.add(address.lower())

    def goaway_after(self, count: int) -> None:
        """After answering ``count`` more requests, the connection that answered the last one sends
        GOAWAY and closes; requests it had not answered yet are left unprocessed."""
        self._goaway_countdown = count

    @property
    def refused_streams(self) -> int:
        """Streams a client opened beyond the advertised SETTINGS_MAX_CONCURRENT_STREAMS."""
        return sum(connection.refused_streams for connection in self._connections)

    # -- serving ----------------------------------------------------------------------------------

    async def __aenter__(self) -> ApnsEmulator:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._new_connection,
            self._host,
            self._port,
            ssl=self_signed_tls(["h2"])[0],
        )
        port = self._server.sockets[0].getsockname()[1]
        self.endpoint = f"https://{self._host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            for connection in list(self._connections):
                connection.close()
            await self._server.wait_closed()
            self._server = None

    def _new_connection(self) -> H2ServerConnection:
        connection = H2ServerConnection(self._on_request, self._max_concurrent_streams)
        self._connections.add(connection)
        return connection

    def _on_request(
        self, connection: H2ServerConnection, stream_id: int, headers: list[Header], body: bytes
    ) -> None:
        if not connection.open:
            return  # arrived after GOAWAY: never processed
        answer = self._answer(dict(headers), body)
        response: list[Header] = [(b"apns-id", answer.apns_id.encode())]
        payload = b""
        if answer.status != 200:
            if answer.retry_after is not None:
                response.append((b"retry-after", str(answer.retry_after).encode()))
            payload = orjson.dumps({"reason": answer.reason, **answer.extra})
            response.append((b"content-type", b"application/json"))
        if self._latency:
            asyncio.get_running_loop().call_later(
                self._latency, self._respond, connection, stream_id, answer.status, response, payload
            )
        else:
            self._respond(connection, stream_id, answer.status, response, payload)

    def _respond(
        self, connection: H2ServerConnection, stream_id: int, status: int, headers: list[Header], body: bytes
    ) -> None:
        connection.respond(stream_id, status, headers, body)
        if self._goaway_countdown is not None:
            self._goaway_countdown -= 1
            if self._goaway_countdown <= 0:
                self._goaway_countdown = None
                connection.go_away(orjson.dumps({"reason": "Shutdown"}))

    def _answer(self, headers: dict[bytes, bytes], body: bytes) -> _Answer:
        given = headers.get(b"apns-id", b"").decode()
        # The answer echoes the request's apns-id; APNs makes one up when there is none (or a bad one).
        apns_id = given if CANONICAL_UUID.fullmatch(given) else str(uuid.uuid4())
        path = headers.get(b":path", b"").decode()
        token = path.removeprefix("/3/device/")
        try:
            push = self._check(headers, body, apns_id)
        except _Refused as refused:
            extra = (
                {"timestamp": self._invalidated[token.lower()]} if refused.reason == "Unregistered" else {}
            )
            self.rejected.append({"token": token, "status": refused.status, "reason": refused.reason})
            return _Answer(refused.status, refused.reason, apns_id, extra=extra)
        if self._failures:
            failure = self._failures.popleft()
            self.rejected.append({"token": token, "status": failure.status, "reason": failure.reason})
            extra = {"timestamp": int(time.time() * 1000)} if failure.status == 410 else {}
            return _Answer(failure.status, failure.reason, apns_id, failure.retry_after, extra)
        self.accepted.append(push)
        return _Answer(200, apns_id=apns_id)

    def _check(self, headers: dict[bytes, bytes], body: bytes, apns_id: str) -> dict[str, Any]:
        """Apple's checks, in Apple's order of precedence as far as it shows; returns the push."""
        if headers.get(b":method") != b"POST":
            raise _Refused(405, "MethodNotAllowed")
        match = _PATH.fullmatch(headers.get(b":path", b"").decode())
        if match is None:
            raise _Refused(404, "BadPath")
        token = match.group(1)
        _, iat, provider_token = self._authenticate(
            headers.get(b"authorization", b""), headers.get(b"apns-topic")
        )
        push_type = _text(headers, b"apns-push-type") or "alert"
        priority, expiration = _text(headers, b"apns-priority"), _text(headers, b"apns-expiration")
        if push_type not in PUSH_TYPES:
            raise _Refused(400, "InvalidPushType")
        if priority not in ("", "1", "5", "10") or (push_type == "background" and priority == "10"):
            raise _Refused(400, "BadPriority")
        if expiration and not expiration.isdigit():
            raise _Refused(400, "BadExpirationDate")
        if b"apns-id" in headers and headers[b"apns-id"].decode() != apns_id:
            raise _Refused(400, "BadMessageId")
        collapse_id = headers.get(b"apns-collapse-id")
        if collapse_id is not None and len(collapse_id) > MAX_COLLAPSE_ID_BYTES:
            raise _Refused(400, "BadCollapseId")
        if not token:
            raise _Refused(400, "MissingDeviceToken")
        if not _DEVICE_TOKEN.fullmatch(token) or token.lower() in self._other_environment:
            raise _Refused(400, "BadDeviceToken")
        payload = _payload(body)
        if push_type == "background" and not _is_background(payload):
            raise _Refused(400, "InvalidPushType")
        if self._rates is not None and self._rates.unregistered_token(token.lower()):
            self._invalidated.setdefault(token.lower(), int(time.time() * 1000))
        if token.lower() in self._invalidated:
            raise _Refused(410, "Unregistered")
        return {
            "token": token,
            "apns_id": apns_id,
            "topic": _text(headers, b"apns-topic"),
            "push_type": push_type,
            "priority": int(priority or 10),
            "expiration": int(expiration) if expiration else None,
            "collapse_id": collapse_id.decode() if collapse_id is not None else None,
            "payload": payload,
            "iat": iat,
            "provider_token": provider_token,
        }

    def _authenticate(self, authorization: bytes, topic: bytes | None) -> tuple[str, int, str]:
        """Check the provider token; return its kid, iat and the token itself.

        The signature is checked once per distinct token, as providers reuse one for up to an hour
        (and APNs does not verify ES256 on every request either); the age is checked every time."""
        verified = self._verified.get(authorization)
        if verified is None:
            scheme, _, token = authorization.decode().partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise _Refused(403, "MissingProviderToken")
            verified = self._verify(token)
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[authorization] = verified
        kid, iat, _ = verified
        if time.time() - iat > TOKEN_MAX_AGE_SECONDS:
            raise _Refused(403, "ExpiredProviderToken")
        if not topic:
            raise _Refused(400, "MissingTopic")
        topics = self._trusted[kid].topics if kid in self._trusted else frozenset()
        if topics and topic.decode() not in topics:
            raise _Refused(400, "TopicDisallowed")
        return verified

    def _verify(self, token: str) -> tuple[str, int, str]:
        """The token's signature (a trusted key's, unless in sandbox mode) and claims: kid, iat, token."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            if not isinstance(kid, str):
                raise _Refused(403, "InvalidProviderToken")
            trusted = self._trusted.get(kid)
            if trusted is None and not self._sandbox:
                raise _Refused(403, "InvalidProviderToken")
            if trusted is None:
                claims = jwt.decode(token, options={"verify_signature": False, "require": ["iss", "iat"]})
            else:
                claims = jwt.decode(
                    token, trusted.public_key, algorithms=["ES256"], options={"require": ["iss", "iat"]}
                )
        except jwt.PyJWTError:
            raise _Refused(403, "InvalidProviderToken") from None
        team_id = trusted.team_id if trusted is not None else claims["iss"]
        if claims["iss"] != team_id or not isinstance(claims["iat"], int):
            raise _Refused(403, "InvalidProviderToken")
        return kid, claims["iat"], token


def _text(headers: dict[bytes, bytes], name: bytes) -> str:
    return headers.get(name, b"").decode()


def _payload(body: bytes) -> dict[str, Any]:
    if not body:
        raise _Refused(400, "PayloadEmpty")
    if len(body) > MAX_PAYLOAD_BYTES:
        raise _Refused(413, "PayloadTooLarge")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        payload = None
    if not isinstance(payload, dict) or not isinstance(payload.get("aps"), dict):
        # Apple documents no reason for this; the emulator is stricter so that Herald bugs show.
        raise _Refused(400, "BadPayload")
    return payload


def _is_background(payload: dict[str, Any]) -> bool:
    aps = payload["aps"]
    return aps.get("content-available") == 1 and not {"alert", "badge", "sound"} & aps.keys()


def main(argv: Sequence[str] | None = None) -> None:
    """Without --key-id/--team-id/--public-key, the emulator's own account is printed (JSON, stderr)."""

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--team-id", help="team ID of a key to trust")
        parser.add_argument("--key-id", help="key ID of a key to trust")
        parser.add_argument("--public-key", type=Path, help="PEM file of that key's public half")

    def build(args: argparse.Namespace) -> ApnsEmulator:
        emulator = ApnsEmulator(port=args.port)
        if args.public_key:
            public_key = serialization.load_pem_public_key(args.public_key.read_bytes())
            assert isinstance(public_key, ec.EllipticCurvePublicKey), "an EC P-256 public key"
            emulator.trust(args.team_id, args.key_id, public_key)
        else:
            print(json.dumps(emulator.credentials), file=sys.stderr, flush=True)
        return emulator

    run_standalone("APNs emulator", build, add_arguments, argv)


if __name__ == "__main__":
    main()
