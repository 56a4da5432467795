"""Delivers web push messages for one project: one encrypted POST per subscription (RFC 8030).

The messages of a batch go out concurrently over one aiohttp session (HTTP/1.1 keep-alive, which
every push service accepts). The address is the subscription's endpoint URL; with an ``endpoint``
override (the emulator) the request goes to that origin instead, keeping the endpoint's path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from kernel.channels import FailureReason, OutboundMessage, Outcome, SendResult
from plugins._config import LOOPBACK_HOSTS
from plugins._http import TRANSPORT_ERRORS, client_session, fail, retry, retry_after
from plugins.webpush import payload
from plugins.webpush.config import WebPushConfig
from plugins.webpush.crypto import MAX_PLAINTEXT_BYTES, encrypt
from plugins.webpush.keys import subscription_keys
from plugins.webpush.vapid import Vapid, origin

log = logging.getLogger(__name__)


class WebPushSender:
    def __init__(
        self,
        config: WebPushConfig,
        endpoint: str | None = None,
        *,
        connections: int = 100,
    ) -> None:
        self._override = urlsplit(endpoint) if endpoint else None
        self._vapid = Vapid(config.key, config.subject)
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def send_batch(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        if self._session is None:
            self._session = client_session(connections=self._connections)
        return list(await asyncio.gather(*(self._send(self._session, message) for message in messages)))

    async def _send(self, session: aiohttp.ClientSession, message: OutboundMessage) -> SendResult:
        try:
            url = self._target(message.address)
            ua_public, auth_secret = subscription_keys(message.address_details)
        except ValueError as exc:
            return fail(message, FailureReason.INVALID_ADDRESS, str(exc))
        body = payload.plaintext(message)
        if len(body) > MAX_PLAINTEXT_BYTES:
            detail = f"payload is {len(body)} bytes, one web push record holds {MAX_PLAINTEXT_BYTES}"
            return fail(message, FailureReason.PAYLOAD_TOO_LARGE, detail)
        content = message.content
        headers = {
            "Authorization": self._vapid.authorization(origin(url)),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(payload.ttl(content.ttl_seconds)),
            "Urgency": payload.urgency(content.priority),
        }
        if content.collapse_key:
            headers["Topic"] = payload.topic(content.collapse_key)
        try:
            async with session.post(
                url, data=encrypt(body, ua_public, auth_secret), headers=headers
            ) as response:
                text = (await response.content.read(2048)).decode(errors="replace")
                return _result(message, response.status, response.headers, text)
        except TRANSPORT_ERRORS as exc:
            log.info("web push to %s failed: %r", origin(url), exc)
            return retry(message, detail=f"push service unreachable: {exc!r}")

    def _target(self, endpoint: str) -> str:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("the subscription endpoint must be an https:// URL")
        # Plain http only to a loopback host (the emulator); https is always verified.
        if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
            raise ValueError("the subscription endpoint must be https:// (plain http only on loopback)")
        if self._override is None:
            return endpoint
        return urlunsplit(self._override[:2] + parts[2:])

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _result(message: OutboundMessage, status: int, headers: Mapping[str, str], text: str) -> SendResult:
    """RFC 8030 / RFC 8292 answers as Herald's outcomes."""
    if 200 <= status < 300:
        location = headers.get("Location", "")
        return SendResult(message.message_id, Outcome.ACCEPTED, provider_id=location)
    detail = f"{status} {text}".strip()
    if status in (404, 410):
        return fail(message, FailureReason.UNREGISTERED, detail)
    if status == 413:
        return fail(message, FailureReason.PAYLOAD_TOO_LARGE, detail)
    if status == 429 or status >= 500:
        after = retry_after(headers.get("Retry-After"))
        return retry(message, after=after, detail=detail)
    if status in (401, 403):
        return fail(message, FailureReason.AUTHENTICATION, f"VAPID refused: {detail}")
    return fail(message, FailureReason.REJECTED, detail)
