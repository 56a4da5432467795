"""A loopback web push service (RFC 8030) that also plays the browsers holding the subscriptions.

:meth:`WebPushEmulator.new_subscription` creates a subscription the way a browser would (its own
P-256 key pair and auth secret) with an endpoint on this service. A push to it is checked as push
services do: VAPID (RFC 8292: ES256 signature by ``k``, ``aud`` equal to this origin, ``exp`` within
24 hours, a ``sub`` contact; 403 when the subscription was bound to another application server key),
the TTL header (required), ``Content-Encoding: aes128gcm``, Urgency and Topic syntax, and the
4096-byte body limit. Then it decrypts the message with the subscription's private key, as the
browser would (RFC 8291), and records it in :attr:`WebPushEmulator.accepted`; it answers
``201 Created`` with the push message's ``Location``. Unknown subscriptions get 404, invalidated
ones 410 Gone, and so does the sandbox's share of subscriptions (``report_feedback``, drawn from the
endpoint's path). Errors are JSON ``{"code", "error", "message"}`` in the style of Mozilla's autopush.

Standalone: ``python -m plugins.webpush.emulator --port 8082``; ``POST /subscriptions`` then hands out
a new subscription (its PushSubscription JSON) to any process.
"""

from __future__ import annotations

import argparse
import re
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import jwt
import orjson
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec

from plugins._http import Failure, HttpEmulator, run_standalone
from plugins.webpush.crypto import MAX_BODY_BYTES, decrypt
from plugins.webpush.keys import (
    AUTH_SECRET_BYTES,
    b64url_decode,
    b64url_encode,
    load_public_key,
    private_key_text,
    public_key_bytes,
)
from plugins.webpush.payload import TOPIC, URGENCIES
from plugins.webpush.vapid import MAX_LIFETIME_SECONDS

_VAPID = re.compile(r"vapid\s+(?P<params>.+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Subscription:
    """What a browser hands to the application server, plus the private half it keeps."""

    endpoint: str
    p256dh: str
    auth: str
    private_key: ec.EllipticCurvePrivateKey
    #: The VAPID public key the subscription is bound to (applicationServerKey), if any.
    application_server_key: str | None = None

    @property
    def address_details(self) -> dict[str, str]:
        return {"p256dh": self.p256dh, "auth": self.auth}

    def as_json(self) -> dict[str, Any]:
        """The PushSubscription.toJSON() shape."""
        return {"endpoint": self.endpoint, "keys": self.address_details}


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> web.Response:
    """Autopush's error shape."""
    body = {"code": status, "error": HTTPStatus(status).phrase, "message": message}
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


class WebPushEmulator(HttpEmulator):
    #: A little above the 4096 bytes push services must take, so that the emulator's own 413 answers.
    max_request_bytes = 4 * MAX_BODY_BYTES

    def __init__(self, *, port: int = 0) -> None:
        super().__init__(port=port)
        self._subscriptions: dict[str, Subscription] = {}  # path -> subscription
        self._sandbox = False
        #: Every accepted message: endpoint, authorization (the VAPID header), payload (the decrypted
        #: JSON, or None), plaintext, body (as received, encrypted), ttl, urgency, topic, location.
        self.accepted: list[Mapping[str, Any]] = []
        #: Every refused request: endpoint, status, message.
        self.rejected: list[Mapping[str, Any]] = []

    def new_subscription(self, application_server_key: str | None = None) -> Subscription:
        """A fresh subscription, as ``PushManager.subscribe()`` would create it in a browser."""
        if not self.endpoint:
            raise RuntimeError("start the emulator first (async with)")
        key = ec.generate_private_key(ec.SECP256R1())
        path = f"/push/{secrets.token_urlsafe(24)}"
        subscription = Subscription(
            endpoint=f"{self.endpoint}{path}",
            p256dh=b64url_encode(public_key_bytes(key.public_key())),
            auth=b64url_encode(secrets.token_bytes(AUTH_SECRET_BYTES)),
            private_key=key,
            application_server_key=application_server_key,
        )
        self._subscriptions[path] = subscription
        return subscription

    def enter_sandbox(self) -> Mapping[str, Any]:
        """Accept pushes to subscriptions this emulator did not issue (real browsers' endpoints keep their
        path; their payload cannot be decrypted here and is recorded encrypted); see the Emulator protocol."""
        self._sandbox = True
        return {
            "vapid_private_key": private_key_text(ec.generate_private_key(ec.SECP256R1())),
            "subject": "mailto:sandbox@herald.test",
        }

    def routes(self) -> list[web.RouteDef]:
        # Any other path is a push to a subscription of another service (sandbox mode) or unknown (404).
        return [web.post("/subscriptions", self._subscribe), web.post("/{path:.+}", self._push)]

    def failure_response(self, failure: Failure) -> web.Response:
        return _error(failure.status, failure.error or HTTPStatus(failure.status).phrase)

    async def _subscribe(self, request: web.Request) -> web.Response:
        """For a standalone emulator: a new subscription, as its PushSubscription JSON."""
        return web.Response(
            body=orjson.dumps(self.new_subscription().as_json()), content_type="application/json"
        )

    async def _push(self, request: web.Request) -> web.Response:
        endpoint = f"{self.endpoint}{request.path}"
        body = await request.read()
        subscription = self._subscriptions.get(request.path)
        try:
            if subscription is None and not self._sandbox:
                raise _Refused(404, "no such subscription")
            # Drawn from the path: the emulator's port changes from run to run, a subscription does not.
            if endpoint in self.invalid or self.drawn_unregistered(request.path):
                raise _Refused(410, "subscription expired or unsubscribed")
            injected = await self.injected()
            if injected is not None:
                self.rejected.append({"endpoint": endpoint, "status": injected.status, "message": "injected"})
                return injected
            record = self._check(request, body, subscription)
        except _Refused as refused:
            self.rejected.append({"endpoint": endpoint, "status": refused.status, "message": refused.message})
            return _error(refused.status, refused.message)
        location = f"{self.endpoint}/m/{uuid.uuid4()}"
        self.accepted.append({**record, "endpoint": endpoint, "body": body, "location": location})
        return web.Response(status=201, headers={"Location": location, "TTL": str(record["ttl"])})

    def _check(self, request: web.Request, body: bytes, subscription: Subscription | None) -> dict[str, Any]:
        self._check_vapid(request.headers.get("Authorization", ""), subscription)
        ttl = request.headers.get("TTL", "")
        if not ttl.isdigit():
            raise _Refused(400, "TTL header missing or not a non-negative integer (RFC 8030 5.2)")
        if request.headers.get("Content-Encoding", "").lower() != "aes128gcm":
            raise _Refused(415, "Content-Encoding must be aes128gcm (RFC 8291)")
        urgency = request.headers.get("Urgency", "normal")
        if urgency not in URGENCIES:
            raise _Refused(400, "Urgency must be very-low, low, normal or high (RFC 8030 5.3)")
        topic = request.headers.get("Topic")
        if topic is not None and not TOPIC.fullmatch(topic):
            raise _Refused(400, "Topic must be at most 32 base64url characters (RFC 8030 5.4)")
        if len(body) > MAX_BODY_BYTES:
            raise _Refused(413, f"payload is {len(body)} bytes, at most {MAX_BODY_BYTES} accepted")
        if subscription is None:  # sandbox: another service's subscription, whose keys are the browser's
            plaintext = b""
        else:
            try:
                plaintext = decrypt(body, subscription.private_key, b64url_decode(subscription.auth))
            except ValueError as exc:
                raise _Refused(400, f"the browser could not decrypt the message: {exc}") from None
        try:
            payload = orjson.loads(plaintext)
        except orjson.JSONDecodeError:
            payload = None
        return {
            "authorization": request.headers["Authorization"],
            "payload": payload,
            "plaintext": plaintext,
            "ttl": int(ttl),
            "urgency": urgency,
            "topic": topic,
        }

    def _check_vapid(self, authorization: str, subscription: Subscription | None) -> None:
        match = _VAPID.fullmatch(authorization.strip())
        if match is None:
            raise _Refused(401, "Authorization must use the vapid scheme (RFC 8292)")
        params = dict(part.strip().split("=", 1) for part in match["params"].split(",") if "=" in part)
        token, key = params.get("t", ""), params.get("k", "")
        try:
            public_key = load_public_key(b64url_decode(key))
            claims = jwt.decode(
                token,
                public_key,
                algorithms=["ES256"],
                audience=self.endpoint,
                options={"require": ["aud", "exp", "sub"]},
            )
        except (ValueError, jwt.PyJWTError) as exc:
            raise _Refused(401, f"VAPID token refused: {exc}") from None
        if claims["exp"] > time.time() + MAX_LIFETIME_SECONDS:
            raise _Refused(401, "VAPID token expires more than 24 hours ahead (RFC 8292 2)")
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject.startswith(("mailto:", "https:")):
            raise _Refused(401, "VAPID sub must be a mailto: or https: contact")
        if subscription is not None and subscription.application_server_key not in (None, key):
            raise _Refused(403, "VAPID key does not match the subscription's applicationServerKey")


def main(argv: Sequence[str] | None = None) -> None:
    def build(args: argparse.Namespace) -> WebPushEmulator:
        return WebPushEmulator(port=args.port)

    run_standalone("Web push emulator", build, argv=argv)


if __name__ == "__main__":
    main()
