"""A loopback Twilio Messages API: ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with Basic
auth and form fields, checked and answered as Twilio does, plus status callbacks posted back.

Errors use Twilio's shape ``{"code", "message", "more_info", "status"}`` with the HTTP status repeated
in ``status``, and a Retry-After header only when one is given. An invalidated number is answered with
21614 ("'To' number is not a valid mobile number"), a number that replied STOP (:meth:`unsubscribe`)
with 21610. ``fail_next(count, 400, error="21610")`` answers with that Twilio error code.

In sandbox mode with feedback (:meth:`report_feedback`), each project's configuration has its status
callback at the project's Herald endpoint and an auth token of its own (the webhook credential Herald
generated); every accepted message with a StatusCallback gets its callbacks, signed with the auth token
it was sent with: ``sent``, then ``delivered`` or ``undelivered`` with error 30005 (a bounce), its fate
drawn from the ``herald_message_id`` in the callback URL. SMS has no opens, clicks or list unsubscribes.
"""

from __future__ import annotations

import argparse
import base64
import secrets
from collections.abc import Mapping, Sequence
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
from aiohttp import web

from kernel.channels import FeedbackKind, SandboxProject
from plugins._http import Failure, HttpEmulator, run_standalone
from plugins._webhook_poster import WebhookPoster
from plugins.sms.config import is_e164
from plugins.sms.feedback import twilio_signature
from plugins.sms.segments import count_segments
from plugins.sms.sender import MAX_BODY_CHARACTERS, MESSAGE_ID_PARAMETER

_MESSAGES = {
    20003: "Authenticate",
    20429: "Too Many Requests",
    21211: "Invalid 'To' Phone Number",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
}
#: fail_next(status) without an explicit error: the Twilio code that status usually carries.
_DEFAULT_CODES = {400: 21211, 401: 20003, 429: 20429}
SANDBOX_CONFIG = {
    "account_sid": "AC" + "0" * 32,
    "auth_token": "sandbox-token",
    "from_number": "+15005550006",
}
#: The sandbox's bounce: "30005 Unknown destination handset".
UNKNOWN_HANDSET = "30005"
#: Seconds between a message's acceptance and its callbacks.
CALLBACK_DELAY = 0.1


def twilio_error(status: int, code: int, message: str = "") -> web.Response:
    body = {
        "code": code,
        "message": message or _MESSAGES.get(code, "Error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status)


class TwilioEmulator(HttpEmulator):
    def __init__(
        self, account_sid: str | None = None, auth_token: str | None = None, *, port: int = 0
    ) -> None:
        """``account_sid`` None accepts any credentials (sandbox mode serves every project)."""
        super().__init__(port=port)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._unsubscribed: set[str] = set()
        #: Callback URL → (form, auth token signing it), one call each.
        self._callbacks: WebhookPoster[str, tuple[dict[str, str], str]] = WebhookPoster(
            self._post_callback, batch_size=1, interval=CALLBACK_DELAY
        )

    def unsubscribe(self, number: str) -> None:
        """The number replied STOP: from now on Twilio refuses to message it (21610)."""
        self._unsubscribed.add(number)

    def enter_sandbox(self) -> Mapping[str, Any]:
        """Accept any account and token; see the Emulator protocol."""
        self.account_sid = self.auth_token = None
        return dict(SANDBOX_CONFIG)

    def project_config(self, project: SandboxProject) -> Mapping[str, Any]:
        """Status callbacks to the project's endpoint, signed with an auth token of the project's own."""
        return {
            **SANDBOX_CONFIG,
            "auth_token": project.webhook_secret,
            "status_callback": project.webhook_url,
        }

    async def feedback_settled(self) -> None:
        await self._callbacks.settled()

    async def __aexit__(self, *exc: object) -> None:
        await self._callbacks.close()
        await super().__aexit__(*exc)

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/2010-04-01/Accounts/{account}/Messages.json", self._create)]

    def failure_response(self, failure: Failure) -> web.Response:
        code = int(failure.error) if failure.error.isdigit() else _DEFAULT_CODES.get(failure.status, 0)
        return twilio_error(failure.status, code, "" if failure.error.isdigit() else failure.error)

    def _authenticated(self, request: web.Request) -> tuple[str, str] | None:
        """The authenticated account SID and its auth token, or None."""
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        if not user or not password:
            return None
        if self.account_sid is not None and (user, password) != (self.account_sid, self.auth_token):
            return None
        return user, password

    async def _create(self, request: web.Request) -> web.Response:
        account = request.match_info["account"]
        credentials = self._authenticated(request)
        if credentials is None or credentials[0] != account:
            return twilio_error(401, 20003)
        if (injected := await self.injected()) is not None:
            return injected
        form = await request.post()
        to, sender = str(form.get("To", "")), str(form.get("From", ""))
        service, body = str(form.get("MessagingServiceSid", "")), str(form.get("Body", ""))
        if not to:
            return twilio_error(400, 21604)
        if not is_e164(to):
            return twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if not sender and not service:
            return twilio_error(400, 21603)
        if not body:
            return twilio_error(400, 21602)
        if len(body) > MAX_BODY_CHARACTERS:
            return twilio_error(400, 21617)
        if to in self.invalid:
            return twilio_error(400, 21614, f"'To' number {to} is not a valid mobile number")
        if to in self._unsubscribed:
            return twilio_error(400, 21610)
        segments = count_segments(body)
        resource = {
            "account_sid": account,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": formatdate(usegmt=True),
            "date_sent": None,
            "date_updated": formatdate(usegmt=True),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender or None,
            "messaging_service_sid": service or None,
            "num_media": "0",
            "num_segments": str(segments.segments),
            "price": None,
            "price_unit": "USD",
            "sid": f"SM{secrets.token_hex(16)}",
            "status": "accepted" if service and not sender else "queued",
            "to": to,
        }
        resource["uri"] = f"/2010-04-01/Accounts/{account}/Messages/{resource['sid']}.json"
        record = {
            **resource,
            "encoding": segments.encoding,
            "status_callback": str(form.get("StatusCallback", "")),
        }
        self.accepted.append(record)
        self._report(record, auth_token=credentials[1])
        return web.json_response(resource, status=201)

    def _report(self, record: Mapping[str, Any], *, auth_token: str) -> None:
        """Queue the sandbox status callbacks of an accepted message that asked for them."""
        url = str(record["status_callback"])
        if self.rates is None or not url:
            return
        message_id = parse_qs(urlsplit(url).query).get(MESSAGE_ID_PARAMETER, [""])[0]
        outcomes = self.rates.outcomes(message_id)
        statuses = [("sent", "")]
        if FeedbackKind.BOUNCED in outcomes:
            statuses.append(("undelivered", UNKNOWN_HANDSET))
        elif FeedbackKind.DELIVERED in outcomes:
            statuses.append(("delivered", ""))
        self._callbacks.add(url, [(self.status_form(record, *status), auth_token) for status in statuses])

    async def _post_callback(self, url: str, calls: list[tuple[dict[str, str], str]]) -> int:
        [(form, auth_token)] = calls
        return await self.post_form(url, form, auth_token)

    def status_form(self, record: Mapping[str, Any], status: str, error_code: str = "") -> dict[str, str]:
        """The form Twilio posts to a message's StatusCallback when its status becomes ``status``."""
        form = {
            "AccountSid": str(record["account_sid"]),
            "ApiVersion": "2010-04-01",
            "From": str(record["from"] or ""),
            "MessageSid": str(record["sid"]),
            "MessageStatus": status,
            "SmsSid": str(record["sid"]),
            "SmsStatus": status,
            "To": str(record["to"]),
        }
        if error_code:
            form["ErrorCode"] = error_code
        return form

    async def post_status(
        self, record: Mapping[str, Any], status: str, error_code: str = "", *, auth_token: str = ""
    ) -> int:
        """POST a status callback for an accepted message, signed as Twilio signs it with the account's
        auth token (``auth_token``, needed when the emulator serves every account); returns the target's
        HTTP status."""
        token = auth_token or self.auth_token
        if not token:
            raise ValueError("which account's auth token signs the callback? Pass auth_token")
        return await self.post_form(
            str(record["status_callback"]), self.status_form(record, status, error_code), token
        )

    @staticmethod
    async def post_form(url: str, form: Mapping[str, str], auth_token: str) -> int:
        """POST one status callback form to ``url``, signed with ``auth_token``; the target's status."""
        headers = {"X-Twilio-Signature": twilio_signature(url, form, auth_token)}
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=form, headers=headers) as response,
        ):
            return response.status


def main(argv: Sequence[str] | None = None) -> None:
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--account-sid", default=None, help="the only account accepted (default: any)")
        parser.add_argument("--auth-token", default=None)

    def build(args: argparse.Namespace) -> TwilioEmulator:
        return TwilioEmulator(args.account_sid, args.auth_token, port=args.port)

    run_standalone("Twilio SMS emulator", build, add_arguments, argv)


if __name__ == "__main__":
    main()
