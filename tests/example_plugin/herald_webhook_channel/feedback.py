"""Delivery reports the gateway posts back: ``[{"id", "message_id", "to", "status", "at"}]`` with the
channel's bearer token. Status ``delivered``, ``undeliverable`` (the number is dead) or ``stop`` (the
recipient replied STOP)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from kernel.channels import ConfigError, FeedbackEvent, FeedbackKind, WebhookRequest

_KINDS = {
    "delivered": FeedbackKind.DELIVERED,
    "undeliverable": FeedbackKind.BOUNCED,
    "stop": FeedbackKind.UNSUBSCRIBED,
}


def parse_reports(request: WebhookRequest, config: Mapping[str, Any]) -> list[FeedbackEvent]:
    headers = {k.lower(): v for k, v in request.headers.items()}
    if headers.get("authorization") != f"Bearer {config['token']}":
        raise ConfigError("token", "the delivery report does not carry the channel's token")
    try:
        reports = orjson.loads(request.body)
        return [
            FeedbackEvent(
                kind=_KINDS[report["status"]],
                message_id=report.get("message_id", ""),
                address=report["to"],
                occurred_at=datetime.fromisoformat(report["at"]),
                provider_event_id=report["id"],
            )
            for report in reports
            if report["status"] in _KINDS
        ]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise ConfigError("body", f"not a list of delivery reports: {error!r}") from None
