"""A loopback SMTP server (aiosmtpd) that checks AUTH, records what it accepts, and refuses on demand.

``security`` "starttls" or "tls" serves a self-signed certificate for 127.0.0.1 / localhost, published
as ``ca_pem`` for the client to trust. Queued failures (``fail_next``) and invalidated addresses are
answered at RCPT, where real servers refuse a mailbox; ``max_message_bytes`` is advertised as SIZE.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import itertools
import logging
import ssl
import weakref
from collections.abc import Mapping, Sequence
from email.header import decode_header, make_header
from typing import Any, Self, cast

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from plugins._http import Faults, run_standalone
from plugins._tls import self_signed_tls
from plugins.smtp.sender import MAX_MESSAGE_BYTES

_DEFAULT_REPLIES = {
    421: "4.3.2 Service not available, closing transmission channel",
    450: "4.2.1 Mailbox temporarily unavailable",
    451: "4.3.0 Local error in processing",
    452: "4.5.3 Too many recipients",
    550: "5.1.1 Recipient address rejected: User unknown",
    551: "5.1.6 User not local",
    552: "5.2.2 Mailbox full",
    553: "5.1.3 Mailbox name not allowed",
    554: "5.7.1 Transaction failed",
}


class _QuietLoginDataWarning(logging.Filter):
    """aiosmtpd 1.4 warns that Session.login_data is deprecated on every successful AUTH, from its own
    code: the warning says nothing about us, so the emulator keeps it out of the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


logging.getLogger("mail.log").addFilter(_QuietLoginDataWarning())


class SmtpEmulator(Faults):
    def __init__(
        self,
        username: str | None = None,
        password: str | None = None,
        *,
        port: int = 0,
        security: str = "none",
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        """``username`` None accepts any AUTH (or none): sandbox mode serves every project."""
        super().__init__()
        self.username = username
        self.password = password
        self.security = security
        self.max_message_bytes = max_message_bytes
        self.endpoint = ""
        self.ca_pem = ""
        self.accepted: list[Mapping[str, Any]] = []
        #: SMTP sessions opened so far (a sender reusing its connection opens one).
        self.connections = 0
        self._sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()
        self._port = port
        self._server: asyncio.Server | None = None
        self._queue_ids = itertools.count(0x4B10000)

    def enter_sandbox(self) -> Mapping[str, Any]:
        """Accept any AUTH, or none; see the Emulator protocol. It serves plain SMTP (``security`` none),
        so a project configuration asking for STARTTLS or TLS is not served in sandbox mode."""
        self.username = self.password = None
        return {"host": "localhost", "security": "none", "from_address": "sandbox@herald.test"}

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        tls: ssl.SSLContext | None = None
        if self.security != "none":
            tls, self.ca_pem = self_signed_tls()

        def protocol() -> SMTP:
            self.connections += 1
            session = SMTP(
                _Handler(self),
                hostname="localhost",
                data_size_limit=self.max_message_bytes,
                enable_SMTPUTF8=True,
                tls_context=tls if self.security == "starttls" else None,
                require_starttls=self.security == "starttls",
                authenticator=self._authenticate,
                # Implicit TLS is not seen by aiosmtpd as "TLS", so only STARTTLS gates AUTH.
                auth_require_tls=self.security == "starttls",
                loop=loop,
            )
            self._sessions.add(session)
            return session

        ssl_context = tls if self.security == "tls" else None
        self._server = await loop.create_server(protocol, "127.0.0.1", self._port, ssl=ssl_context)
        host, port = self._server.sockets[0].getsockname()[:2]
        self.endpoint = f"{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def disconnect_all(self) -> None:
        """Close every open session, as a server does with idle connections."""
        for session in list(self._sessions):
            if session.transport is not None:
                session.transport.close()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if self.username is None:
            return AuthResult(success=True)
        given = (auth_data.login, auth_data.password) if isinstance(auth_data, LoginPassword) else None
        expected = (self.username.encode(), (self.password or "").encode())
        # handled=False: aiosmtpd then answers the refusal itself (535 5.7.8).
        return AuthResult(success=given == expected, handled=False)

    def record(self, envelope: Envelope) -> dict[str, Any]:
        raw = envelope.original_content or b""
        # compat32 parsing: several times faster than the default policy's header registry.
        message = email.message_from_bytes(raw)
        bodies: dict[str, str] = {}
        for part in message.walk():
            if part.get_content_maintype() == "text" and not part.is_multipart():
                payload = cast(bytes, part.get_payload(decode=True))
                bodies.setdefault(
                    part.get_content_subtype(), payload.decode(part.get_content_charset() or "utf-8")
                )
        record = {
            "queue_id": f"{next(self._queue_ids):X}",
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "message_id": message["Message-ID"],
            "subject": _decoded(message["Subject"]),
            "from": _decoded(message["From"]),
            "to": _decoded(message["To"]),
            "text": bodies.get("plain", ""),
            "html": bodies.get("html", ""),
            "headers": {name: str(value) for name, value in message.items()},
            "size": len(raw),
        }
        self.accepted.append(record)
        return record


def _decoded(value: str | None) -> str:
    """A header with its RFC 2047 encoded words decoded."""
    return str(make_header(decode_header(value))) if value else ""


class _Handler:
    """aiosmtpd's handler hooks, answering as an MTA would."""

    def __init__(self, emulator: SmtpEmulator) -> None:
        self._emulator = emulator

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self._emulator.username is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        failure = await self._emulator.next_failure()
        if failure is not None:
            return f"{failure.status} {failure.error or _DEFAULT_REPLIES.get(failure.status, 'Refused')}"
        if address in self._emulator.invalid:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in local recipient table"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        record = self._emulator.record(envelope)
        return f"250 2.0.0 Ok: queued as {record['queue_id']}"


def main(argv: Sequence[str] | None = None) -> None:
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--username", default=None, help="the only AUTH user accepted (default: any)")
        parser.add_argument("--password", default=None)
        parser.add_argument("--security", choices=("none", "starttls", "tls"), default="none")

    def build(args: argparse.Namespace) -> SmtpEmulator:
        return SmtpEmulator(args.username, args.password, port=args.port, security=args.security)

    run_standalone("SMTP emulator", build, add_arguments, argv)


if __name__ == "__main__":
    main()
