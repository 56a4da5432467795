"""A loopback FCM: Google's OAuth2 token endpoint (``/token``) and FCM HTTP v1 (``/v1/projects/{id}/
messages:send``), checked and answered with Google's real shapes.

The token endpoint verifies the RS256 assertion against the public key of the service account it was
given (``iss``, ``aud`` = this token URL, ``scope``, ``iat``/``exp`` at most an hour apart) and issues
opaque bearer tokens; the send endpoint accepts only those, for the account's project. Given no
service account (sandbox mode), it checks the assertion's claims but not its signature, and answers
the sandbox's share of registration tokens (``report_feedback``) as ``UNREGISTERED``, like invalidated ones.
"""

from __future__ import annotations

import argparse
import itertools
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import orjson
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from plugins._http import Failure, HttpEmulator, run_standalone
from plugins.fcm.config import ServiceAccount
from plugins.fcm.message import MAX_PAYLOAD_BYTES, MAX_TTL_SECONDS, is_reserved_data_key, payload_size
from plugins.fcm.sender import BAD_REQUEST_TYPE, FCM_ERROR_TYPE
from plugins.fcm.token import ASSERTION_LIFETIME, GRANT_TYPE, SCOPE

TOKEN_LIFETIME = 3599
#: Registration tokens are long URL-safe strings (commonly "<instance id>:APA91b...").
_REGISTRATION_TOKEN = re.compile(r"[A-Za-z0-9_:\-]{32,4096}")
_TTL = re.compile(r"\d+(\.\d{1,9})?s")
_ACCEPTED_SCOPES = frozenset({SCOPE, "https://www.googleapis.com/auth/cloud-platform"})
#: fail_next(status): (canonical status, FcmError errorCode, message) as FCM answers them.
_FAILURES = {
    400: ("INVALID_ARGUMENT", "INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: (
        "UNAUTHENTICATED",
        "",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
        "other valid authentication credential.",
    ),
    403: ("PERMISSION_DENIED", "SENDER_ID_MISMATCH", "SenderId mismatch"),
    404: ("NOT_FOUND", "UNREGISTERED", "Requested entity was not found."),
    429: ("RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "Quota exceeded for quota metric 'Send messages'."),
    500: ("INTERNAL", "INTERNAL", "Internal error encountered."),
    503: ("UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable."),
}


def google_error(
    status: int, canonical: str, message: str, error_code: str = "", *, field: str = ""
) -> web.Response:
    """``{"error": {"code", "message", "status", "details": [FcmError?, BadRequest?]}}``."""
    details: list[dict[str, Any]] = []
    if error_code:
        details.append({"@type": FCM_ERROR_TYPE, "errorCode": error_code})
    if field:
        violation = {"field": field, "description": message}
        details.append({"@type": BAD_REQUEST_TYPE, "fieldViolations": [violation]})
    error: dict[str, Any] = {"code": status, "message": message, "status": canonical}
    if details:
        error["details"] = details
    return web.json_response({"error": error}, status=status)


def invalid_argument(message: str, *, field: str = "", error_code: str = "INVALID_ARGUMENT") -> web.Response:
    return google_error(400, "INVALID_ARGUMENT", message, error_code, field=field)


def oauth_error(error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=400)


@dataclass(frozen=True, slots=True)
class _Grant:
    client_email: str
    project_id: str | None  # None: any project (sandbox mode)
    expires_at: float


class FcmEmulator(HttpEmulator):
    def __init__(self, service_account: Mapping[str, Any] | None = None, *, port: int = 0) -> None:
        super().__init__(port=port)
        self._account = (
            ServiceAccount.parse({"service_account_json": service_account}) if service_account else None
        )
        self._grants: dict[str, _Grant] = {}
        self._ids = itertools.count(1_700_000_000_000_001)
        self._other_senders: set[str] = set()
        #: Assertions (signed JWTs) the token endpoint accepted.
        self.assertions: list[str] = []

    def enter_sandbox(self) -> Mapping[str, Any]:
        """Accept any service account (claims checked, not the signature); see the Emulator protocol.
        Returns a configuration with a freshly generated service account."""
        self._account = None
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        account = {
            "type": "service_account",
            "project_id": "herald-sandbox",
            "private_key_id": secrets.token_hex(20),
            "private_key": pem,
            "client_email": "herald@herald-sandbox.iam.gserviceaccount.com",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
        return {"service_account_json": orjson.dumps(account).decode()}

    def from_other_sender(self, token: str) -> None:
        """From now on, answer for ``token`` as FCM does for a token another Firebase project (sender)
        registered: 403 PERMISSION_DENIED with errorCode SENDER_ID_MISMATCH."""
        self._other_senders.add(token)

    @property
    def token_url(self) -> str:
        return f"{self.endpoint}/token"

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/token", self._token),
            web.post("/v1/projects/{project}/messages:send", self._send),
        ]

    def failure_response(self, failure: Failure) -> web.Response:
        canonical, code, message = _FAILURES.get(failure.status, ("UNKNOWN", "UNSPECIFIED_ERROR", "Error"))
        return google_error(failure.status, canonical, message, failure.error or code)

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") != GRANT_TYPE:
            return oauth_error("unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type', '')}")
        assertion = str(form.get("assertion", ""))
        try:
            claims = self._verify(assertion)
        except jwt.InvalidSignatureError:
            return oauth_error("invalid_grant", "Invalid JWT Signature.")
        except jwt.PyJWTError as exc:
            return oauth_error("invalid_grant", f"Invalid JWT: {exc}")
        if not isinstance(claims["iat"], int) or claims["exp"] - claims["iat"] > ASSERTION_LIFETIME:
            return oauth_error(
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.",
            )
        if not _ACCEPTED_SCOPES & set(str(claims["scope"]).split()):
            return oauth_error(
                "invalid_scope", f"Scope {claims['scope']!r} does not allow sending FCM messages"
            )
        self.assertions.append(assertion)
        token = f"ya29.{secrets.token_urlsafe(48)}"
        project = self._account.project_id if self._account else None
        self._grants[token] = _Grant(str(claims["iss"]), project, time.time() + TOKEN_LIFETIME)
        return web.json_response(
            {"access_token": token, "expires_in": TOKEN_LIFETIME, "token_type": "Bearer"}
        )

    def _verify(self, assertion: str) -> dict[str, Any]:
        required = {"require": ["iss", "scope", "aud", "iat", "exp"]}
        if self._account is None:
            options = {"verify_signature": False, "verify_aud": True, "verify_exp": True, **required}
            return jwt.decode(assertion, options=options, audience=self.token_url)
        if jwt.get_unverified_header(assertion).get("alg") != "RS256":
            raise jwt.InvalidAlgorithmError("the assertion must be signed with RS256")
        claims = jwt.decode(
            assertion,
            self._account.private_key.public_key(),
            algorithms=["RS256"],
            audience=self.token_url,
            issuer=self._account.client_email,
            options=required,
        )
        return claims

    async def _send(self, request: web.Request) -> web.Response:
        project = request.match_info["project"]
        header = request.headers.get("Authorization", "")
        grant = self._grants.get(header.removeprefix("Bearer ")) if header.startswith("Bearer ") else None
        if grant is None or grant.expires_at < time.time():
            return self.failure_response(Failure(401, None, ""))
        if grant.project_id not in (None, project):
            message = f"Permission 'cloudmessaging.messages.create' denied on resource 'projects/{project}'"
            return google_error(403, "PERMISSION_DENIED", message)
        if (injected := await self.injected()) is not None:
            return injected
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError as exc:
            return invalid_argument(f"Invalid JSON payload received. {exc}", error_code="")
        message = body.get("message") if isinstance(body, dict) else None
        if not isinstance(message, dict):
            return invalid_argument("Recipient of the message is not set.", field="message")
        if (problem := self._check(message)) is not None:
            return problem
        if message["token"] in self.invalid or self.drawn_unregistered(message["token"]):
            return self.failure_response(Failure(404, None, ""))
        if message["token"] in self._other_senders:
            return self.failure_response(Failure(403, None, ""))
        name = f"projects/{project}/messages/{next(self._ids)}"
        self.accepted.append(
            {"name": name, "token": message["token"], "client_email": grant.client_email, "message": message}
        )
        return web.json_response({"name": name})

    @staticmethod
    def _check(message: Mapping[str, Any]) -> web.Response | None:
        targets = [key for key in ("token", "topic", "condition") if key in message]
        if len(targets) != 1:
            return invalid_argument("Recipient of the message is not set.", field="message")
        token = message.get("token")
        if not isinstance(token, str) or not _REGISTRATION_TOKEN.fullmatch(token):
            return invalid_argument(
                "The registration token is not a valid FCM registration token", field="message.token"
            )
        data = message.get("data", {})
        if not isinstance(data, dict):
            return invalid_argument("Invalid value at 'message.data'", field="message.data")
        for index, (key, value) in enumerate(data.items()):
            if not isinstance(value, str):
                text = f"Invalid value at 'message.data[{index}].value' (TYPE_STRING), {value}"
                return invalid_argument(text, field=f"message.data[{index}].value", error_code="")
            if is_reserved_data_key(key):
                return invalid_argument(
                    f"Invalid data payload key: {key}", field=f"message.data[{index}].key"
                )
        android = message.get("android", {})
        ttl = android.get("ttl") if isinstance(android, dict) else None
        if ttl is not None and (not _TTL.fullmatch(str(ttl)) or float(str(ttl)[:-1]) > MAX_TTL_SECONDS):
            return invalid_argument(
                f"Invalid value at 'message.android.ttl' ({ttl})", field="message.android.ttl"
            )
        if isinstance(android, dict) and android.get("priority", "HIGH") not in ("NORMAL", "HIGH"):
            text = f"Invalid value at 'message.android.priority' ({android['priority']})"
            return invalid_argument(text, field="message.android.priority")
        if payload_size(dict(message)) > MAX_PAYLOAD_BYTES:
            return invalid_argument("Message is too big", field="message")
        return None


def main(argv: Sequence[str] | None = None) -> None:
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--service-account", type=Path, help="key file whose signatures to require")

    def build(args: argparse.Namespace) -> FcmEmulator:
        account = orjson.loads(args.service_account.read_bytes()) if args.service_account else None
        return FcmEmulator(account, port=args.port)

    run_standalone("FCM emulator", build, add_arguments, argv)


if __name__ == "__main__":
    main()
