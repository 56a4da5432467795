"""A loopback SparkPost: ``POST /api/v1/transmissions`` checked and answered as SparkPost does, and
event-webhook batches posted back in SparkPost's format.

Accepted recipients are recorded with their ``{{var}}`` substitutions rendered (simply: dotted names,
HTML-escaped in ``html`` unless written ``{{{var}}}``) so tests can check personalisation.
An invalidated address is refused as an invalid recipient (422, which rejects the transmission).
A suppressed address (``suppress``) behaves like one on SparkPost's suppression list: a
single-recipient transmission is refused with ``Message generation rejected``; in a multi-recipient
one it is counted in ``total_rejected_recipients`` and a bounce event is queued in ``pending_events``.
"""

from __future__ import annotations

import argparse
import html
import io
import itertools
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from plugins._config import is_email
from plugins._http import Failure, HttpEmulator, run_standalone
from plugins.sparkpost.sender import CONTENT_LIMIT

SUPPRESSED_REASON = "554 5.7.1 recipient address was suppressed due to customer policy"
_DEFAULT_ERRORS = {
    400: "Message generation rejected",
    401: "Unauthorized.",
    403: "Forbidden.",
    420: "Exceed Sending Limit (hourly)",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service Unavailable",
}
_WRAPPERS = {
    **dict.fromkeys(("delivery", "bounce", "out_of_band", "spam_complaint", "delay"), "message_event"),
    **dict.fromkeys(("open", "initial_open", "click", "amp_open", "amp_click"), "track_event"),
    **dict.fromkeys(("list_unsubscribe", "link_unsubscribe"), "unsubscribe_event"),
    **dict.fromkeys(("generation_failure", "generation_rejection"), "gen_event"),
}
_VARIABLE = re.compile(r"\{\{(\{?)\s*([A-Za-z_][\w.]*)\s*\}?\}\}")


def error_response(status: int, message: str, **extra: str) -> web.Response:
    """SparkPost's error shape: ``{"errors": [{"message": ..., "description"?, "code"?}]}``."""
    return web.json_response({"errors": [{"message": message, **extra}]}, status=status)


def render(template: str, data: Mapping[str, Any], *, escape: bool) -> str:
    def lookup(match: re.Match[str]) -> str:
        value: Any = data
        for part in match[2].split("."):
            value = value.get(part, "") if isinstance(value, Mapping) else ""
        text = str(value)
        return html.escape(text) if escape and not match[1] else text

    return _VARIABLE.sub(lookup, template)


class SparkPostEmulator(HttpEmulator):
    #: "There is a 300MB limit on payload size for each transmission".
    max_request_bytes = 300 * 1024**2

    def __init__(self, api_key: str | None = None, *, port: int = 0) -> None:
        """``api_key`` None accepts any key (sandbox mode, where the emulator serves every project)."""
        super().__init__(port=port)
        self.api_key = api_key
        #: Msys-wrapped events the emulator produced itself (rejections), ready for ``post_events``.
        self.pending_events: list[dict[str, Any]] = []
        self.transmissions = 0
        self.suppressed: set[str] = set()
        self._ids = itertools.count(84_000_000_000_000_001)
        self._event_ids = itertools.count(92_356_927_693_813_001)

    def enter_sandbox(self) -> Mapping[str, Any]:
        """Accept any API key; see the Emulator protocol."""
        self.api_key = None
        return {
            "api_key": "sandbox-key",
            "from_address": "sandbox@herald.test",
            "from_name": "Herald sandbox",
        }

    def suppress(self, address: str) -> None:
        """Put ``address`` on the account's suppression list (an earlier complaint or unsubscribe)."""
        self.suppressed.add(address)

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/api/v1/transmissions", self._create)]

    def failure_response(self, failure: Failure) -> web.Response:
        message = failure.error or _DEFAULT_ERRORS.get(failure.status, "Request failed")
        if failure.status == 400 and not failure.error:
            return error_response(400, message, code="1902", description=SUPPRESSED_REASON)
        return error_response(failure.status, message)

    async def _create(self, request: web.Request) -> web.Response:
        key = request.headers.get("Authorization", "")
        if not key or (self.api_key is not None and key != self.api_key):
            return error_response(401, "Unauthorized.")
        if (injected := await self.injected()) is not None:
            return injected
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError as exc:
            return error_response(422, f"Request body parsing failed [Attached error message: {exc}]")
        if not isinstance(body, dict):
            return error_response(422, "transmission must be a JSON object")
        recipients = body.get("recipients")
        # Each recipient's address, read once (a transmission has up to thousands of recipients).
        emails = list(map(_email, recipients)) if isinstance(recipients, list) else []
        if (problem := self._check(body, emails)) is not None:
            return problem
        if invalid := [email for email in emails if email in self.invalid]:
            errors = [{"message": f"invalid recipient address: {email}"} for email in invalid]
            return web.json_response({"errors": errors}, status=422)
        transmission = str(next(self._ids))
        self.transmissions += 1
        suppressed = self.suppressed
        rejected = [email for email in emails if email in suppressed]
        if rejected and len(recipients) == 1:
            return error_response(
                400, "Message generation rejected", code="1902", description=SUPPRESSED_REASON
            )
        for recipient, email in zip(recipients, emails, strict=True):
            record = self._record(transmission, body, recipient)
            if email in suppressed:
                self.pending_events.append(
                    self.event(
                        "bounce", record, bounce_class="25", reason=SUPPRESSED_REASON, error_code="554"
                    )
                )
            else:
                self.accepted.append(record)
        results = {
            "total_rejected_recipients": len(rejected),
            "total_accepted_recipients": len(recipients) - len(rejected),
            "id": transmission,
        }
        return web.json_response({"results": results})

    @staticmethod
    def _check(body: Mapping[str, Any], emails: Sequence[str]) -> web.Response | None:
        """The request checks SparkPost makes before accepting a transmission (``emails``: each
        recipient's address, empty where it has none)."""
        recipients = body.get("recipients")
        if not isinstance(recipients, list) or not recipients:
            return error_response(400, "At least one valid recipient is required")
        for address in emails:
            if not address:
                return error_response(422, "address.email is required for each recipient")
            if not is_email(address):
                return error_response(422, f"invalid recipient address: {address}")
        content = body.get("content")
        if not isinstance(content, dict) or not content:
            return error_response(422, "No valid fields exist in the 'content' object")
        sender = content.get("from")
        sender = sender.get("email") if isinstance(sender, dict) else sender
        if not sender:
            return error_response(422, "'content.from' is required")
        if not isinstance(sender, str) or not is_email(sender):
            return error_response(422, f"content.from.email {sender!r} is not a valid email address")
        if not content.get("subject"):
            return error_response(422, "'content.subject' is required")
        if not content.get("html") and not content.get("text"):
            return error_response(422, "'content.html' or 'content.text' is required")
        if len(str(body.get("campaign_id", "")).encode()) > 64:
            return error_response(422, "campaign_id must be of max length 64")
        size = sum(len(str(content.get(part, "")).encode()) for part in ("subject", "html", "text"))
        if size > CONTENT_LIMIT:
            return error_response(422, "The estimated message size is above the 20 MB message size limit")
        return None

    @staticmethod
    def _record(transmission: str, body: Mapping[str, Any], recipient: Mapping[str, Any]) -> dict[str, Any]:
        content = body["content"]
        address = _email(recipient)
        data = {**body.get("substitution_data", {}), **recipient.get("substitution_data", {})}
        data["address"] = {"email": address}
        metadata = {**body.get("metadata", {}), **recipient.get("metadata", {})}
        return {
            "transmission_id": transmission,
            "email": address,
            "herald_message_id": metadata.get("herald_message_id", ""),
            "metadata": metadata,
            "substitution_data": recipient.get("substitution_data", {}),
            "campaign_id": body.get("campaign_id", ""),
            "options": body.get("options", {}),
            "from": content["from"],
            "reply_to": content.get("reply_to", ""),
            "subject": render(content["subject"], data, escape=False),
            "html": render(content.get("html", ""), data, escape=True),
            "text": render(content.get("text", ""), data, escape=False),
        }

    def event(self, kind: str, record: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
        """A webhook event about an accepted ``record``, wrapped the way SparkPost posts it."""
        event = {
            "type": kind,
            "event_id": str(next(self._event_ids)),
            "timestamp": str(int(time.time())),
            "rcpt_to": record["email"],
            "rcpt_meta": record["metadata"],
            "transmission_id": record["transmission_id"],
            "campaign_id": record["campaign_id"],
            "message_id": uuid.uuid4().hex[:20],
            "customer_id": "1",
            **fields,
        }
        return {"msys": {_WRAPPERS[kind]: event}}

    async def post_events(
        self, url: str, events: Sequence[Mapping[str, Any]], *, auth: tuple[str, str] | None = None
    ) -> int:
        """POST one batch to a webhook target as SparkPost does; returns the target's HTTP status."""
        headers = {"Content-Type": "application/json", "X-MessageSystems-Batch-ID": str(uuid.uuid4())}
        if auth:
            headers["Authorization"] = aiohttp.encode_basic_auth(*auth)
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=io.BytesIO(orjson.dumps(list(events))), headers=headers) as response,
        ):
            return response.status


def _email(recipient: Any) -> str:
    address = recipient.get("address") if isinstance(recipient, dict) else None
    address = address.get("email") if isinstance(address, dict) else address
    return address if isinstance(address, str) else ""


def main(argv: Sequence[str] | None = None) -> None:
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--api-key", default=None, help="the only API key accepted (default: any)")

    run_standalone(
        "SparkPost emulator",
        lambda args: SparkPostEmulator(args.api_key, port=args.port),
        add_arguments,
        argv,
    )


if __name__ == "__main__":
    main()
