"""A loopback SparkPost: ``POST /api/v1/transmissions`` checked and answered as SparkPost does, and
event-webhook batches posted back in SparkPost's format.

Accepted recipients are recorded with their ``{{var}}`` substitutions rendered (simply: dotted names,
HTML-escaped in ``html`` unless written ``{{{var}}}``; an unknown name prints nothing) so tests can check
personalisation and what SparkPost would have made of the content.
A recipient whose address is missing, malformed or invalidated fails validation, as SparkPost documents
it: the transmission is still created (``200``, ``errors`` code 2000) and ``results.rcpt_to_errors``
names each failed recipient (at most ``num_rcpt_errors`` of them when the query asks); when not one
recipient is valid the answer is ``400`` code 5002.
A suppressed address (``suppress``) behaves like one on SparkPost's suppression list since 2018: the
transmission accepts it and a bounce event (class 25, "suppressed due to customer policy") is queued
in ``pending_events``. ``fail_next(1, 400)`` answers SparkPost's older synchronous rejection, code 1902.

In sandbox mode with feedback (:meth:`report_feedback`), each project gets an API key of its own
(``sandbox-<project id>``) whose account has an event webhook to the project's Herald endpoint, with
the basic-auth credentials Herald generated; every accepted recipient's fate is drawn from its
``herald_message_id`` (rcpt metadata) and its events (delivery, bounce class 10, open and click when
the transmission tracks them, list_unsubscribe) are posted there in batches, as SparkPost posts them.
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

from kernel.channels import FeedbackKind, FeedbackRates, SandboxProject
from plugins._config import is_email
from plugins._http import Failure, HttpEmulator, run_standalone
from plugins._webhook_poster import WebhookPoster
from plugins.sparkpost.feedback import webhook_credentials
from plugins.sparkpost.sender import CONTENT_LIMIT

SUPPRESSED_REASON = "554 5.7.1 recipient address was suppressed due to customer policy"
SANDBOX_CONFIG = {
    "api_key": "sandbox-key",
    "from_address": "sandbox@herald.test",
    "from_name": "Herald sandbox",
}
#: A sandbox hard bounce: bounce class 10, "Invalid Recipient".
UNKNOWN_USER_REASON = "550 5.1.1 <%s>: Recipient address rejected: User unknown"
#: SparkPost: a batch "may vary from 1 to 1000 or more events".
FEEDBACK_BATCH_SIZE = 1000
#: Seconds events gather before a batch goes (SparkPost posts within seconds to a minute).
FEEDBACK_INTERVAL = 1.0
#: The ``errors`` entry of a transmission created although some recipients failed validation.
CREATED_WITH_ERRORS = {
    "message": "transmission created, but with validation errors",
    "description": "message submitted for generation successfully",
    "code": "2000",
}
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
#: A link SparkPost's click tracking would rewrite (the first one is the one "clicked" in the sandbox).
_LINK = re.compile(r"https?://[^\s\"'<>]+")


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
        #: API key → the URL of its account's event webhook; URL → the webhook's basic auth.
        self._webhooks: dict[str, str] = {}
        self._webhook_auth: dict[str, tuple[str, str]] = {}
        self._poster: WebhookPoster[str, dict[str, Any]] = WebhookPoster(
            self._post_batch, batch_size=FEEDBACK_BATCH_SIZE, interval=FEEDBACK_INTERVAL
        )

    def enter_sandbox(self) -> Mapping[str, Any]:
        """Accept any API key; see the Emulator protocol."""
        self.api_key = None
        return dict(SANDBOX_CONFIG)

    def project_config(self, project: SandboxProject) -> Mapping[str, Any]:
        """An API key of the project's own, whose account's event webhook is the project's endpoint."""
        api_key = f"sandbox-{project.project_id}"
        credentials = webhook_credentials(project.webhook_secret)
        self._webhooks[api_key] = project.webhook_url
        self._webhook_auth[project.webhook_url] = (
            credentials["auth_credentials.username"],
            credentials["auth_credentials.password"],
        )
        return {**SANDBOX_CONFIG, "api_key": api_key}

    async def feedback_settled(self) -> None:
        await self._poster.settled()

    async def __aexit__(self, *exc: object) -> None:
        await self._poster.close()
        await super().__aexit__(*exc)

    def suppress(self, address: str) -> None:
        """Put ``address`` on the account's suppression list (an earlier complaint or unsubscribe)."""
        self.suppressed.add(address)

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/api/v1/transmissions", self._create)]

    def failure_response(self, failure: Failure) -> web.Response:
        message = failure.error or _DEFAULT_ERRORS.get(failure.status, "Request failed")
        if failure.status == 400 and not failure.error:
            description = "recipient address was suppressed due to customer policy"
            return error_response(400, message, code="1902", description=description)
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
        if (problem := self._check(body)) is not None:
            return problem
        errors = [(index, error) for index, email in enumerate(emails) if (error := self._invalid(email))]
        if len(errors) == len(emails):
            return _no_valid_recipient()
        transmission = str(next(self._ids))
        self.transmissions += 1
        valid = list(zip(recipients, emails, strict=True))
        if errors:
            failed = {index for index, _ in errors}
            valid = [pair for index, pair in enumerate(valid) if index not in failed]
        self._accept(key, transmission, body, valid)
        results: dict[str, Any] = {
            "total_rejected_recipients": len(errors),
            "total_accepted_recipients": len(emails) - len(errors),
            "id": transmission,
        }
        if not errors:
            return web.json_response({"results": results})
        limit = request.query.get("num_rcpt_errors", "")
        shown = [error for _, error in errors][: int(limit) if limit.isdigit() else None]
        results = {"rcpt_to_errors": shown, **results}
        return web.json_response({"errors": [CREATED_WITH_ERRORS], "results": results})

    def _accept(
        self, api_key: str, transmission: str, body: Mapping[str, Any], valid: list[tuple[Any, str]]
    ) -> None:
        """What becomes of a created transmission's valid recipients (each with its address): one on the
        suppression list bounces, the others are accepted, their sandbox events queued if the account
        has a webhook."""
        rates = self.rates
        webhook = self._webhooks.get(api_key) if rates is not None else None
        for recipient, email in valid:
            record = self._record(transmission, body, recipient)
            if email in self.suppressed:
                self.pending_events.append(
                    self.event(
                        "bounce", record, bounce_class="25", reason=SUPPRESSED_REASON, error_code="554"
                    )
                )
            else:
                self.accepted.append(record)
                if rates is not None and webhook is not None:
                    self._report(rates, webhook, record)

    def _report(self, rates: FeedbackRates, webhook: str, record: Mapping[str, Any]) -> None:
        """Queue the sandbox events of an accepted recipient, drawn from ``rates``, for its account's
        ``webhook``."""
        options = record["options"]
        link = _LINK.search(record["html"]) or _LINK.search(record["text"])
        events = []
        for kind in rates.outcomes(record["herald_message_id"]):
            if kind is FeedbackKind.BOUNCED:
                reason = UNKNOWN_USER_REASON % record["email"]
                events.append(
                    self.event("bounce", record, bounce_class="10", reason=reason, error_code="550")
                )
            elif kind is FeedbackKind.DELIVERED:
                events.append(self.event("delivery", record))
            elif kind is FeedbackKind.OPENED and options.get("open_tracking", True):
                events.append(self.event("open", record))
            elif kind is FeedbackKind.CLICKED and options.get("click_tracking", True) and link:
                events.append(self.event("click", record, target_link_url=link[0]))
            elif kind is FeedbackKind.UNSUBSCRIBED:
                events.append(self.event("list_unsubscribe", record))
        self._poster.add(webhook, events)

    async def _post_batch(self, url: str, events: list[dict[str, Any]]) -> int:
        return await self.post_events(url, events, auth=self._webhook_auth[url])

    def _invalid(self, email: str) -> dict[str, str] | None:
        """The ``rcpt_to_errors`` entry of a recipient that fails validation, None for a valid one."""
        if not email:
            return {
                "message": "required field is missing",
                "description": "address.email is required for each recipient",
                "code": "1400",
            }
        if not is_email(email) or email in self.invalid:
            return {
                "message": "invalid data format/type",
                "description": f"invalid recipient address.email: {email}",
                "code": "1300",
            }
        return None

    @staticmethod
    def _check(body: Mapping[str, Any]) -> web.Response | None:
        """The request checks SparkPost makes before accepting a transmission (recipients apart)."""
        recipients = body.get("recipients")
        if not isinstance(recipients, list) or not recipients:
            return _no_valid_recipient()
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
            # "campaign_id ... Maximum length - 64 bytes"
            return error_response(
                422, "invalid data format/type", code="1300", description="campaign_id exceeds 64 bytes"
            )
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
            "from": _render_from(content["from"], data),
            "reply_to": render(content.get("reply_to", ""), data, escape=False),
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


def _render_from(sender: Any, data: Mapping[str, Any]) -> Any:
    """``content.from`` with its name substituted ("Substitution syntax is supported")."""
    if isinstance(sender, dict) and isinstance(sender.get("name"), str):
        return {**sender, "name": render(sender["name"], data, escape=False)}
    return sender


def _no_valid_recipient() -> web.Response:
    """SparkPost's answer when not one recipient is valid, as it sends it: the code is a number here,
    where its documentation writes codes as strings."""
    error = {"message": "At least one valid recipient is required", "code": 5002}
    return web.json_response({"errors": [error]}, status=400)


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
