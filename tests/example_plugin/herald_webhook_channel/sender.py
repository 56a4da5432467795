"""Delivers each message as one JSON POST; the gateway answers per message."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import aiohttp

from kernel.channels import FailureReason, OutboundMessage, Outcome, SendResult

_PERMANENT = {
    401: FailureReason.AUTHENTICATION,
    403: FailureReason.AUTHENTICATION,
    404: FailureReason.INVALID_ADDRESS,
}


class WebhookSender:
    def __init__(self, url: str, token: str, max_payload_bytes: int) -> None:
        self._max_payload_bytes = max_payload_bytes
        self._url = url
        self._headers = {"Authorization": f"Bearer {token}"}
        self._session: aiohttp.ClientSession | None = None

    async def send_batch(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return list(await asyncio.gather(*(self._send(self._session, m) for m in messages)))

    async def _send(self, session: aiohttp.ClientSession, message: OutboundMessage) -> SendResult:
        if len(message.content.text.encode()) > self._max_payload_bytes:
            return SendResult(message.message_id, Outcome.FAILED, reason=FailureReason.PAYLOAD_TOO_LARGE)
        body = {"message_id": message.message_id, "to": message.address, "text": message.content.text}
        try:
            async with session.post(self._url, json=body, headers=self._headers) as response:
                if response.status in (200, 201, 202):
                    return SendResult(
                        message.message_id, Outcome.ACCEPTED, provider_id=(await response.json())["id"]
                    )
                detail = await response.text()
                if response.status == 429 or response.status >= 500:
                    retry_after = response.headers.get("Retry-After")
                    return SendResult(
                        message.message_id,
                        Outcome.RETRY,
                        retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
                        detail=detail,
                    )
                reason = _PERMANENT.get(response.status, FailureReason.REJECTED)
                return SendResult(message.message_id, Outcome.FAILED, reason=reason, detail=detail)
        except (aiohttp.ClientError, TimeoutError) as error:
            return SendResult(message.message_id, Outcome.RETRY, detail=f"transport: {error!r}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
