"""Delivery reports the gateway posts back: ``[{"id", "message_id", "to", "status", "at"}]``, with the
bearer token Herald generated for the project's webhook (the gateway is told it once, at setup). Status
``delivered``, ``undeliverable`` (the number is dead) or ``stop`` (the recipient replied STOP)."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from kernel.channels import ConfigError, FeedbackEvent, FeedbackKind, WebhookRequest

log = logging.getLogger(__name__)

_KINDS = {
    "delivered": FeedbackKind.DELIVERED,
    "undeliverable": FeedbackKind.BOUNCED,
    "stop": FeedbackKind.UNSUBSCRIBED,
}


def is_genuine(request: WebhookRequest, secret: str) -> bool:
    """The report carries ``Authorization: Bearer <secret>`` (compared in constant time)."""
    return bool(secret) and hmac.compare_digest(
        request.header("Authorization").encode(), f"Bearer {secret}".encode()
    )


def parse_reports(request: WebhookRequest) -> list[FeedbackEvent]:
    try:
        reports = orjson.loads(request.body)
    except orjson.JSONDecodeError as error:
        raise ConfigError("body", f"not JSON: {error}") from None
    if not isinstance(reports, list):
        raise ConfigError("body", "expected a list of delivery reports")
    events = []
    for report in reports:
        try:
            event = _event(report)
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            log.warning("delivery report skipped: %r", error)
            continue
        if event is not None:
            events.append(event)
    return events


def _event(report: Mapping[str, Any]) -> FeedbackEvent | None:
    kind = _KINDS.get(report["status"])
    if kind is None:
        return None
    return FeedbackEvent(
        kind=kind,
        message_id=str(report.get("message_id", "")),
        address=str(report["to"]),
        occurred_at=datetime.fromisoformat(report["at"]),
        provider_event_id=str(report["id"]),
    )
