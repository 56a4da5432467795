"""Deliver batches through a Twilio-compatible Messages API: one form-encoded
``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` per message, all concurrent, Basic auth.

Numbers that are not E.164 and texts longer than the configured segment budget are refused here,
without a request. The status callback URL carries Herald's message id as a query parameter, so
Twilio's delivery reports find their message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp

from kernel.channels import FailureReason, OutboundMessage, Outcome, SendResult
from plugins._http import TRANSPORT_ERRORS, client_session, fail, read_json, retry, retry_after
from plugins.sms.config import TwilioConfig, is_e164
from plugins.sms.segments import count_segments

#: Twilio: "The text of the message you want to send. Can be up to 1,600 characters in length."
MAX_BODY_CHARACTERS = 1600
#: Twilio limits concurrent API requests per account; past it, 429 with code 20429.
CONNECTIONS = 50
MESSAGE_ID_PARAMETER = "herald_message_id"
_INVALID_ADDRESS_CODES = frozenset({21211, 21614})
_UNSUBSCRIBED_CODES = frozenset({21610})
_TOO_LONG_CODES = frozenset({21617})


def with_message_id(url: str, message_id: str) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), (MESSAGE_ID_PARAMETER, message_id)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def map_response(
    message: OutboundMessage, status: int, body: Mapping[str, Any], headers: Mapping[str, str]
) -> SendResult:
    if status in (200, 201):
        return SendResult(message.message_id, Outcome.ACCEPTED, provider_id=str(body.get("sid", "")))
    code = body.get("code")
    detail = f"{status} {code}: {body.get('message', '')}"
    if status == 401 or code == 20003:
        return fail(message, FailureReason.AUTHENTICATION, detail)
    if status == 429 or code == 20429 or status >= 500:
        return retry(message, after=retry_after(headers.get("Retry-After")), detail=detail)
    if code in _INVALID_ADDRESS_CODES:
        return fail(message, FailureReason.INVALID_ADDRESS, detail)
    if code in _UNSUBSCRIBED_CODES:
        return fail(message, FailureReason.UNSUBSCRIBED, detail)
    if code in _TOO_LONG_CODES:
        return fail(message, FailureReason.PAYLOAD_TOO_LARGE, detail)
    return fail(message, FailureReason.REJECTED, detail)


class TwilioSender:
    def __init__(self, config: TwilioConfig, base_url: str) -> None:
        self._config = config
        self._url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{config.account_sid}/Messages.json"
        self._headers = {"Authorization": aiohttp.encode_basic_auth(config.account_sid, config.auth_token)}
        self._session: aiohttp.ClientSession | None = None

    async def send_batch(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        if self._session is None:
            self._session = client_session(connections=CONNECTIONS)
        return list(await asyncio.gather(*(self._send(self._session, message) for message in messages)))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _form(self, message: OutboundMessage) -> dict[str, str] | SendResult:
        """The request's fields, or the refusal a request would only have confirmed."""
        if not is_e164(message.address):
            return fail(message, FailureReason.INVALID_ADDRESS, f"{message.address!r} is not an E.164 number")
        text = message.content.text or message.content.body
        if not text:
            return fail(message, FailureReason.REJECTED, "the message has no text")
        count = count_segments(text)
        if count.segments > self._config.max_segments or len(text) > MAX_BODY_CHARACTERS:
            detail = (
                f"{len(text)} characters, {count.segments} {count.encoding} segments; "
                f"at most {self._config.max_segments} segments and {MAX_BODY_CHARACTERS} characters"
            )
            return fail(message, FailureReason.PAYLOAD_TOO_LARGE, detail)
        form = {"To": message.address, "Body": text}
        if message.content.from_address or not self._config.messaging_service_sid:
            form["From"] = message.content.from_address or self._config.from_number
        else:
            form["MessagingServiceSid"] = self._config.messaging_service_sid
        if self._config.status_callback:
            form["StatusCallback"] = with_message_id(self._config.status_callback, message.message_id)
        return form

    async def _send(self, session: aiohttp.ClientSession, message: OutboundMessage) -> SendResult:
        form = self._form(message)
        if isinstance(form, SendResult):
            return form
        try:
            async with session.post(self._url, data=form, headers=self._headers) as response:
                return map_response(message, response.status, await read_json(response), response.headers)
        except TRANSPORT_ERRORS as exc:
            return retry(message, detail=repr(exc))
