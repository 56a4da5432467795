"""Deliver batches over SMTP (aiosmtplib), one envelope per message, on one reused connection.

SMTP is sequential on a connection, so a sender sends its batches one after another; run several
senders for parallelism. Replies map by their code and the command that drew them: 4xx is temporary,
5xx permanent (550/551/553 to RCPT: the mailbox does not exist).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from email.message import EmailMessage

import aiosmtplib
from aiosmtplib import (
    SMTPAuthenticationError,
    SMTPDataError,
    SMTPRecipientsRefused,
    SMTPResponseException,
    SMTPSenderRefused,
)

from kernel.channels import FailureReason, OutboundMessage, Outcome, SendResult
from plugins._http import fail, fail_all, retry_all
from plugins.smtp.config import SmtpConfig
from plugins.smtp.mime import build_mime

#: The largest message sent (Postfix's default message_size_limit); the server may refuse less (552).
MAX_MESSAGE_BYTES = 10_240_000
_UNKNOWN_MAILBOX = frozenset({550, 551, 553})
_AUTH_REQUIRED = frozenset({530, 535, 538})


def split_endpoint(endpoint: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port``, as emulators publish their endpoint."""
    host, _, port = endpoint.rpartition(":")
    return host.strip("[]"), int(port)


def refusal(message: OutboundMessage, code: int, text: str, command: str) -> SendResult:
    detail = f"{code} {text} (after {command})"
    if 400 <= code < 500 or (command == "RCPT" and code == 552):
        # RFC 5321 §4.5.3.1.10: treat 552 to RCPT ("storage exceeded") as the temporary 452.
        return SendResult(message.message_id, Outcome.RETRY, detail=detail)
    if command == "RCPT" and code in _UNKNOWN_MAILBOX:
        return fail(message, FailureReason.INVALID_ADDRESS, detail)
    if code == 552:
        return fail(message, FailureReason.PAYLOAD_TOO_LARGE, detail)
    if code in _AUTH_REQUIRED:
        return fail(message, FailureReason.AUTHENTICATION, detail)
    return fail(message, FailureReason.REJECTED, detail)


class SmtpSender:
    def __init__(self, config: SmtpConfig, host: str, port: int, security: str) -> None:
        self._config = config
        self._host = host
        self._port = port
        self._security = security
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()

    async def send_batch(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        results: list[SendResult] = []
        async with self._lock:
            for message in messages:
                try:
                    results.append(await self._deliver(message))
                except SMTPAuthenticationError as exc:
                    await self._drop()
                    detail = f"{exc.code} {exc.message}"
                    return results + fail_all(messages[len(results) :], FailureReason.AUTHENTICATION, detail)
                except (OSError, SMTPResponseException) as exc:
                    # Connection refused or lost, TLS failure, or a server refusing the session.
                    await self._drop()
                    return results + retry_all(messages[len(results) :], detail=repr(exc))
        return results

    async def close(self) -> None:
        async with self._lock:
            await self._drop()

    async def _deliver(self, message: OutboundMessage) -> SendResult:
        content = message.content
        # The content alone is a lower bound of the encoded message (the server refuses what is
        # still too large with 552), and costs no serialisation of the MIME tree.
        size = sum(len(part.encode()) for part in (content.subject, content.text, content.html))
        if size > MAX_MESSAGE_BYTES:
            detail = f"the content takes {size} bytes; at most {MAX_MESSAGE_BYTES} are sent"
            return fail(message, FailureReason.PAYLOAD_TOO_LARGE, detail)
        from_address = content.from_address or self._config.from_address
        try:
            mime = build_mime(message, from_address, content.from_name or self._config.from_name)
        except ValueError as exc:
            return fail(message, FailureReason.REJECTED, f"cannot build the message: {exc}")
        reused = self._client is not None
        try:
            return await self._attempt(message, mime, from_address)
        except OSError:
            if not reused:
                raise
            # The server closed an idle connection between batches: reconnect once.
            await self._drop()
            return await self._attempt(message, mime, from_address)

    async def _attempt(self, message: OutboundMessage, mime: EmailMessage, from_address: str) -> SendResult:
        client = await self._connection()
        try:
            await client.send_message(mime, sender=from_address, recipients=[message.address])
        except ValueError as exc:  # aiosmtplib refuses an address it cannot put in an envelope
            return fail(message, FailureReason.INVALID_ADDRESS, str(exc))
        except SMTPRecipientsRefused as exc:
            refused = exc.recipients[0]
            return refusal(message, refused.code, refused.message, "RCPT")
        except SMTPSenderRefused as exc:
            return refusal(message, exc.code, exc.message, "MAIL")
        except SMTPDataError as exc:
            return refusal(message, exc.code, exc.message, "DATA")
        return SendResult(message.message_id, Outcome.ACCEPTED, provider_id=mime["Message-ID"])

    async def _connection(self) -> aiosmtplib.SMTP:
        if self._client is None:
            tls_context = None
            if self._security != "none" and self._config.tls_ca_pem:
                tls_context = ssl.create_default_context(cadata=self._config.tls_ca_pem)
            client = aiosmtplib.SMTP(
                hostname=self._host,
                port=self._port,
                username=self._config.username or None,
                password=self._config.password or None,
                use_tls=self._security == "tls",
                start_tls=self._security == "starttls",
                tls_context=tls_context,
                timeout=self._config.timeout_seconds,
            )
            await client.connect()
            self._client = client
        return self._client

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (OSError, SMTPResponseException):
                client.close()
