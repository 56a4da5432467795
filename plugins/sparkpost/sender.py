"""Deliver batches through SparkPost's Transmissions API (``POST /api/v1/transmissions``).

Messages of a batch that share one ``MessageContent`` object become one transmission whose recipients
carry their own ``substitution_data`` (SparkPost renders ``{{var}}`` itself); distinct contents become
separate transmissions, sent concurrently. Each recipient's metadata carries Herald's message id, which
SparkPost echoes in ``rcpt_meta`` of every webhook event.

Content Herald rendered itself (messages without substitution data: transactional messages; and the
sender name and reply-to of every message) is final text, but SparkPost reads every transmission as its
own template language and would blank a ``{{...}}`` that a profile value or a Liquid ``{% raw %}``
block put there. So a field holding such syntax travels as a substitution value of the transmission
(inserted, never interpreted) behind a triple-brace placeholder.

SparkPost answers a transmission with some invalid recipients by ``200``, its ``errors`` holding code
2000 and ``results.rcpt_to_errors`` naming each invalid address: those messages fail (invalid address),
the others are accepted. A transmission without one valid recipient is ``400`` code 5002.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
import orjson

from kernel.channels import FailureReason, MessageContent, OutboundMessage, Outcome, SendResult
from plugins._http import (
    TRANSPORT_ERRORS,
    client_session,
    fail,
    fail_all,
    read_json,
    retry_after,
    retry_all,
)
from plugins.sparkpost.config import SparkPostConfig

#: "The entirety of transmission content (text + html + attachments + inline images) is limited to 20 MBs".
CONTENT_LIMIT = 20 * 1024 * 1024
#: SparkPost advises at most 10 concurrent connections per account.
CONNECTIONS = 10
#: SparkPost's extended error code for "At least one valid recipient is required" (HTTP 400).
_NO_VALID_RECIPIENT = "5002"
#: The content fields Herald renders itself (``name``: the sender's), with and without substitution data
#: (``kernel.delivery.personalise.SUBSTITUTED_FIELDS`` are left to SparkPost).
_RENDERED = ("subject", "html", "text", "reply_to", "name")
_RENDERED_BESIDE_SUBSTITUTION = ("reply_to", "name")
#: How an entry of ``results.rcpt_to_errors`` names an invalid address.
_INVALID_RECIPIENT = re.compile(r"invalid recipient address\.email: *(?P<address>\S+)", re.IGNORECASE)
#: 420 "Exceed Sending Limit (hourly|daily|...)": no point retrying before the window turns.
_LIMIT_WINDOWS = {"hourly": 3600.0, "daily": 86400.0, "monthly": 86400.0}


def content_size(content: MessageContent) -> int:
    return sum(len(part.encode()) for part in (content.subject, content.html, content.text))


def error_text(body: Mapping[str, Any]) -> str:
    """SparkPost's ``{"errors": [{"message", "description"?, "code"?}]}`` as one line."""
    errors = body.get("errors")
    if not isinstance(errors, list):
        return ""
    parts = []
    for error in errors:
        if not isinstance(error, Mapping):
            continue
        text = str(error.get("message", ""))
        if error.get("code"):
            text += f" ({error['code']})"
        if error.get("description"):
            text += f": {error['description']}"
        parts.append(text)
    return "; ".join(parts)


def _codes(body: Mapping[str, Any]) -> set[str]:
    """The extended error codes of SparkPost's ``errors`` (strings in its documentation, numbers in
    some answers)."""
    errors = body.get("errors")
    if not isinstance(errors, list):
        return set()
    return {str(error.get("code")) for error in errors if isinstance(error, Mapping)}


def _invalid_recipients(results: Mapping[str, Any]) -> dict[str, str]:
    """Lower-cased address → SparkPost's words, for each address ``rcpt_to_errors`` names invalid."""
    errors = results.get("rcpt_to_errors")
    if not isinstance(errors, list):
        return {}
    invalid = {}
    for error in errors:
        if not isinstance(error, Mapping):
            continue
        text = error_text({"errors": [error]})
        if match := _INVALID_RECIPIENT.search(str(error.get("description", ""))):
            invalid[match["address"].lower()] = text
    return invalid


def _verbatim(inline: dict[str, Any], keys: Sequence[str]) -> dict[str, str]:
    """The fields ``keys`` of the content (``name``: the sender's) as SparkPost will print them
    unchanged: each one holding its template syntax moves into substitution data (a value is inserted,
    never interpreted) behind a triple-brace placeholder. Returns the values; ``inline`` is changed in
    place."""
    values = {}
    for key in keys:
        holder = inline["from"] if key == "name" else inline
        text = holder.get(key)
        if isinstance(text, str) and ("{{" in text or "}}" in text):
            name = f"herald_{key}"
            values[name] = text
            holder[key] = "{{{" + name + "}}}"
    return values


def _as_dict(value: Any) -> dict[str, Any]:
    """orjson's fallback: any other mapping serialised as the JSON object it stands for."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class SparkPostSender:
    def __init__(self, config: SparkPostConfig, base_url: str) -> None:
        self._config = config
        self._url = f"{base_url.rstrip('/')}/api/v1/transmissions"
        self._session: aiohttp.ClientSession | None = None

    async def send_batch(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        if not messages:
            return []
        content = messages[0].content
        if all(message.content is content for message in messages):  # a bulk batch: one transmission
            return await self._send_group(messages)
        groups: dict[int, list[int]] = {}
        for index, message in enumerate(messages):
            groups.setdefault(id(message.content), []).append(index)
        results: dict[int, SendResult] = {}

        async def transmit(indices: list[int]) -> None:
            group = [messages[i] for i in indices]
            results.update(zip(indices, await self._send_group(group), strict=True))

        await asyncio.gather(*(transmit(indices) for indices in groups.values()))
        return [results[i] for i in range(len(messages))]

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _send_group(self, group: Sequence[OutboundMessage]) -> list[SendResult]:
        size = content_size(group[0].content)
        if size > CONTENT_LIMIT:
            detail = f"content is {size} bytes; SparkPost accepts at most {CONTENT_LIMIT}"
            return fail_all(group, FailureReason.PAYLOAD_TOO_LARGE, detail)
        try:
            status, body, headers = await self._post(group)
        except TRANSPORT_ERRORS as exc:
            return retry_all(group, detail=repr(exc))
        return self._map(status, body, headers, group)

    async def _post(
        self, group: Sequence[OutboundMessage]
    ) -> tuple[int, Mapping[str, Any], Mapping[str, str]]:
        if self._session is None:
            self._session = client_session(connections=CONNECTIONS)
        headers = {
            "Authorization": self._config.api_key,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        async with self._session.post(self._url, data=self._payload(group), headers=headers) as response:
            return response.status, await read_json(response), response.headers

    def _payload(self, group: Sequence[OutboundMessage]) -> bytes:
        content = group[0].content
        sender = {"email": content.from_address or self._config.from_address}
        if name := content.from_name or self._config.from_name:
            sender["name"] = name
        inline: dict[str, Any] = {"from": sender, "subject": content.subject}
        for key, value in (("html", content.html), ("text", content.text), ("reply_to", content.reply_to)):
            if value:
                inline[key] = value
        # Without substitution data, the whole content is final text Herald rendered; with it, the
        # fields SparkPost does not substitute for Herald.
        rendered = _RENDERED if group[0].substitution_data is None else _RENDERED_BESIDE_SUBSTITUTION
        verbatim = _verbatim(inline, rendered)
        payload: dict[str, Any] = {
            "options": {
                "open_tracking": self._config.open_tracking,
                "click_tracking": self._config.click_tracking,
                # Without it SparkPost applies marketing unsubscribes to password resets and receipts.
                "transactional": content.transactional,
            },
            "recipients": [
                {
                    "address": {"email": message.address},
                    "metadata": {"herald_message_id": message.message_id},
                    "substitution_data": message.substitution_data,
                }
                if message.substitution_data
                else {
                    "address": {"email": message.address},
                    "metadata": {"herald_message_id": message.message_id},
                }
                for message in group
            ],
            "content": inline,
        }
        if verbatim:
            payload["substitution_data"] = verbatim
        if content.campaign:
            payload["campaign_id"] = content.campaign
        if content.tags:
            payload["metadata"] = content.tags
        # The mappings of the contract that are not dicts (substitution data, tags) as JSON objects.
        return orjson.dumps(payload, default=_as_dict)

    @staticmethod
    def _map(
        status: int, body: Mapping[str, Any], headers: Mapping[str, str], group: Sequence[OutboundMessage]
    ) -> list[SendResult]:
        if status == 200:
            results = body.get("results")
            results = results if isinstance(results, Mapping) else {}
            transmission = str(results.get("id", ""))
            if results.get("total_accepted_recipients") == 0:
                detail = f"transmission {transmission} rejected every recipient {error_text(body)}".strip()
                return fail_all(group, FailureReason.REJECTED, detail)
            accepted = Outcome.ACCEPTED  # positional: keywords cost a third more, per recipient
            invalid = _invalid_recipients(results)
            if not invalid:
                return [SendResult(m.message_id, accepted, transmission) for m in group]
            return [
                fail(m, FailureReason.INVALID_ADDRESS, invalid[m.address.lower()])
                if m.address.lower() in invalid
                else SendResult(m.message_id, accepted, transmission)
                for m in group
            ]
        text = error_text(body) or f"HTTP {status}"
        lowered = text.lower()
        if status in (401, 403):
            return fail_all(group, FailureReason.AUTHENTICATION, text)
        if status == 420:
            window = next((s for name, s in _LIMIT_WINDOWS.items() if name in lowered), None)
            return retry_all(group, after=retry_after(headers.get("Retry-After")) or window, detail=text)
        if status == 429 or status >= 500:
            return retry_all(group, after=retry_after(headers.get("Retry-After")), detail=text)
        if "message size limit" in lowered:
            return fail_all(group, FailureReason.PAYLOAD_TOO_LARGE, text)
        if status == 400 and _NO_VALID_RECIPIENT in _codes(body):
            return fail_all(group, FailureReason.INVALID_ADDRESS, text)
        # Among the rest, 1902 "Message generation rejected ... suppressed due to customer policy": the
        # suppression list holds unsubscribes, complaints, bounces and manual entries alike, and the
        # answer does not say which, so it is a rejection, never recorded as an unsubscribe.
        return fail_all(group, FailureReason.REJECTED, text)
