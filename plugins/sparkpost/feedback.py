"""SparkPost event-webhook batches → Herald feedback events.

A batch is a JSON array; each element wraps one event under ``msys`` in a class key
(``message_event``, ``track_event``, ``unsubscribe_event``, ``gen_event``, ``relay_event``) holding a
``type``. SparkPost does not sign batches: a webhook is protected by the credentials it is created
with (``auth_type`` ``basic`` and ``auth_credentials``), sent as an Authorization header on every
post; Herald generates the password per project (:func:`webhook_credentials`) and
:func:`is_genuine` checks it. A malformed event is skipped, the rest of its batch still counts.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from kernel.channels import ConfigError, FeedbackEvent, FeedbackKind, WebhookRequest

log = logging.getLogger(__name__)

#: The basic-auth user of the webhook; the password, generated per project, is the secret.
WEBHOOK_USER = "herald"
#: Bounce classes SparkPost files as "Hard" (10 invalid recipient, 30 no RCPT, 90 unsubscribe):
#: suppression-level events. Soft, block and undetermined classes are usually temporary.
HARD_BOUNCE_CLASSES = frozenset({10, 30, 90})
#: "Admin" (25: failed by SparkPost's configured policies, e.g. a recipient on its suppression list, for
#: a cause SparkPost does not give): a rejection, not a hard bounce (see FeedbackKind.REJECTED).
ADMIN_BOUNCE_CLASS = 25
BOUNCE_TYPES = frozenset({"bounce", "out_of_band"})
KINDS = {
    "delivery": FeedbackKind.DELIVERED,
    "spam_complaint": FeedbackKind.COMPLAINED,
    "open": FeedbackKind.OPENED,
    "initial_open": FeedbackKind.OPENED,
    "amp_open": FeedbackKind.OPENED,
    "amp_initial_open": FeedbackKind.OPENED,
    "click": FeedbackKind.CLICKED,
    "amp_click": FeedbackKind.CLICKED,
    "list_unsubscribe": FeedbackKind.UNSUBSCRIBED,
    "link_unsubscribe": FeedbackKind.UNSUBSCRIBED,
}


def webhook_credentials(secret: str) -> dict[str, str]:
    """The webhook's authentication as SparkPost's Webhooks API and console name it; none without a
    secret, whose webhooks are all refused."""
    if not secret:
        return {}
    return {
        "auth_type": "basic",
        "auth_credentials.username": WEBHOOK_USER,
        "auth_credentials.password": secret,
    }


def is_genuine(request: WebhookRequest, secret: str) -> bool:
    """The call carries the project's basic-auth credentials (compared in constant time)."""
    if not secret:
        return False
    scheme, _, encoded = request.header("Authorization").partition(" ")
    try:
        given = base64.b64decode(encoded, validate=True) if scheme.lower() == "basic" else b""
    except binascii.Error:
        given = b""
    return hmac.compare_digest(given, f"{WEBHOOK_USER}:{secret}".encode())


def parse_events(body: bytes) -> list[FeedbackEvent]:
    try:
        batch = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ConfigError("body", f"not JSON: {exc}") from None
    if not isinstance(batch, list):
        raise ConfigError("body", "expected a JSON array of events")
    events = []
    for index, item in enumerate(batch):
        try:
            events += _item_events(item, f"[{index}]")
        except ConfigError as error:
            log.warning("SparkPost webhook event skipped: %s", error)
    return events


def _item_events(item: Any, path: str) -> list[FeedbackEvent]:
    msys = item.get("msys") if isinstance(item, dict) else None
    if not isinstance(msys, dict):
        raise ConfigError(path, "expected an object with an 'msys' object")
    events = []
    # A test ping is `[{"msys": {}}]`: no event class, nothing to record.
    for wrapper, event in msys.items():
        if not isinstance(event, dict):
            raise ConfigError(f"{path}.msys.{wrapper}", "expected an object")
        feedback = _event(event, f"{path}.msys.{wrapper}")
        if feedback is not None:
            events.append(feedback)
    return events


def _event(event: Mapping[str, Any], path: str) -> FeedbackEvent | None:
    kind_name = event.get("type")
    if not isinstance(kind_name, str):
        raise ConfigError(f"{path}.type", "expected a string")
    if kind_name in BOUNCE_TYPES:
        bounce_class = _int(event.get("bounce_class"))
        if bounce_class in HARD_BOUNCE_CLASSES:
            kind = FeedbackKind.BOUNCED
        elif bounce_class == ADMIN_BOUNCE_CLASS:
            kind = FeedbackKind.REJECTED
        else:
            kind = FeedbackKind.DEFERRED
        detail = (
            f"bounce_class {bounce_class}: {event.get('reason') or event.get('raw_reason') or ''}".strip()
        )
    elif kind_name in KINDS:
        kind = KINDS[kind_name]
        detail = str(kind_name)
    else:
        return None
    address = event.get("rcpt_to") or event.get("raw_rcpt_to")
    if not isinstance(address, str) or not address:
        raise ConfigError(f"{path}.rcpt_to", "is required")
    return FeedbackEvent(
        kind=kind,
        message_id=_message_id(event),
        address=address,
        occurred_at=_timestamp(event.get("timestamp"), f"{path}.timestamp"),
        provider_event_id=str(event.get("event_id") or ""),
        detail=detail,
        url=str(event.get("target_link_url") or "") if kind is FeedbackKind.CLICKED else "",
    )


def _message_id(event: Mapping[str, Any]) -> str:
    for key in ("rcpt_meta", "metadata"):
        meta = event.get(key)
        if isinstance(meta, Mapping) and meta.get("herald_message_id"):
            return str(meta["herald_message_id"])
    return ""


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _timestamp(value: Any, path: str) -> datetime:
    """Unix seconds (SparkPost sends a number or a numeric string), or an ISO 8601 string."""
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and value:
        try:
            seconds = float(value)
        except ValueError:
            with contextlib.suppress(ValueError):
                parsed = datetime.fromisoformat(value)
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if seconds is not None:
        with contextlib.suppress(OverflowError, OSError, ValueError):
            return datetime.fromtimestamp(seconds, UTC)
    raise ConfigError(path, f"expected Unix seconds or an ISO 8601 time, not {value!r}")
