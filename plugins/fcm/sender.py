"""Deliver batches through FCM HTTP v1: one ``messages:send`` request per message, all concurrent on one
keep-alive session (the legacy batch endpoint is gone).

Errors carry a canonical ``status`` and, in ``details``, an ``FcmError`` with FCM's ``errorCode``.
A 401 without ``THIRD_PARTY_AUTH_ERROR`` means our access token was refused: mint a new one and try
once more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
import orjson

from kernel.channels import FailureReason, OutboundMessage, Outcome, SendResult
from plugins._http import TRANSPORT_ERRORS, client_session, fail, read_json, retry, retry_after, retry_all
from plugins.fcm.config import ServiceAccount
from plugins.fcm.message import MAX_PAYLOAD_BYTES, fcm_message, payload_size
from plugins.fcm.token import AccessTokens, TokenError

FCM_BASE_URL = "https://fcm.googleapis.com"
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
CONNECTIONS = 100
#: The errorCode that says the token will never work again: the app was uninstalled or the token expired.
_DEAD_TOKEN = "UNREGISTERED"
#: The token belongs to another sender: a stray token, or this project configured with the wrong
#: Firebase project's service account, which would make every token look foreign.
_OTHER_SENDER = "SENDER_ID_MISMATCH"


def fcm_error(body: Mapping[str, Any]) -> tuple[str, str, str]:
    """(canonical status, message, FcmError errorCode) of a Google API error body."""
    error = body.get("error")
    error = error if isinstance(error, Mapping) else {}
    details = error.get("details")
    details = details if isinstance(details, list) else []
    code = next(
        (
            str(d.get("errorCode", ""))
            for d in details
            if isinstance(d, Mapping) and d.get("@type") == FCM_ERROR_TYPE
        ),
        "",
    )
    return str(error.get("status", "")), str(error.get("message", "")), code


def about_token(body: Mapping[str, Any], message: str) -> bool:
    """An INVALID_ARGUMENT about the registration token (rather than about the payload)."""
    if "registration token" in message.lower():
        return True
    error = body.get("error")
    details = error.get("details", []) if isinstance(error, Mapping) else []
    return any(
        violation.get("field") == "message.token"
        for detail in details
        if isinstance(detail, Mapping) and detail.get("@type") == BAD_REQUEST_TYPE
        for violation in detail.get("fieldViolations", [])
        if isinstance(violation, Mapping)
    )


def map_response(
    message: OutboundMessage, status: int, body: Mapping[str, Any], headers: Mapping[str, str]
) -> SendResult:
    if status == 200:
        return SendResult(message.message_id, Outcome.ACCEPTED, provider_id=str(body.get("name", "")))
    canonical, text, code = fcm_error(body)
    detail = f"{status} {canonical} {code}: {text}".replace("  ", " ")
    # Only FCM's own verdict prunes a token: a bare 404 may as well mean a wrong project id.
    if code == _DEAD_TOKEN or (status == 400 and about_token(body, text)):
        return fail(message, FailureReason.UNREGISTERED, detail)
    if code == _OTHER_SENDER:
        return fail(message, FailureReason.CONFIG_SUSPECT, detail)
    if status in (401, 403):
        return fail(message, FailureReason.AUTHENTICATION, detail)
    if status == 429 or status >= 500:
        return retry(message, after=retry_after(headers.get("Retry-After")), detail=detail)
    return fail(message, FailureReason.REJECTED, detail)


def token_failure(message: OutboundMessage, error: TokenError) -> SendResult:
    if error.permanent:
        return fail(message, FailureReason.AUTHENTICATION, str(error))
    return retry(message, after=error.retry_after, detail=str(error))


class FcmSender:
    def __init__(self, account: ServiceAccount, *, base_url: str, token_uri: str) -> None:
        self._url = f"{base_url.rstrip('/')}/v1/projects/{account.project_id}/messages:send"
        self.tokens = AccessTokens(account, token_uri)
        self._session: aiohttp.ClientSession | None = None

    async def send_batch(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        if self._session is None:
            self._session = client_session(connections=CONNECTIONS)
        try:
            # One token for the whole batch, minted before the concurrent sends need it.
            await self.tokens.get(self._session)
        except TokenError as exc:
            return [token_failure(message, exc) for message in messages]
        except TRANSPORT_ERRORS as exc:
            return retry_all(messages, detail=f"token endpoint: {exc!r}")
        return list(await asyncio.gather(*(self._send(self._session, message) for message in messages)))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _send(self, session: aiohttp.ClientSession, message: OutboundMessage) -> SendResult:
        body = fcm_message(message)
        size = payload_size(body)
        if size > MAX_PAYLOAD_BYTES:
            detail = f"notification and data take {size} bytes; FCM accepts {MAX_PAYLOAD_BYTES}"
            return fail(message, FailureReason.PAYLOAD_TOO_LARGE, detail)
        data = orjson.dumps({"message": body})
        try:
            token = await self.tokens.get(session)
            status, answer, headers = await self._post(session, data, token)
            if status == 401 and fcm_error(answer)[2] != "THIRD_PARTY_AUTH_ERROR":
                self.tokens.invalidate(token)
                token = await self.tokens.get(session)
                status, answer, headers = await self._post(session, data, token)
        except TokenError as exc:
            return token_failure(message, exc)
        except TRANSPORT_ERRORS as exc:
            return retry(message, detail=repr(exc))
        return map_response(message, status, answer, headers)

    async def _post(
        self, session: aiohttp.ClientSession, data: bytes, token: str
    ) -> tuple[int, Mapping[str, Any], Mapping[str, str]]:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        async with session.post(self._url, data=data, headers=headers) as response:
            return response.status, await read_json(response), response.headers
