"""Twilio status callbacks → Herald feedback events.

Twilio posts a form (``MessageSid``, ``MessageStatus``, ``ErrorCode``, ``To``, ...) to the message's
StatusCallback URL at each status change; the URL Herald gave carries ``herald_message_id``. Only
final outcomes become events: ``delivered``, and ``undelivered`` / ``failed`` by their error code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl

from kernel.channels import ConfigError, FeedbackEvent, FeedbackKind, WebhookRequest
from plugins.sms.sender import MESSAGE_ID_PARAMETER

#: 30005 unknown destination handset, 30006 landline or unreachable carrier: the number cannot get SMS.
DEAD_NUMBER_CODES = frozenset({"30005", "30006"})
#: 21610: the recipient replied STOP to this sender.
UNSUBSCRIBED_CODES = frozenset({"21610"})
_FAILED_STATUSES = frozenset({"undelivered", "failed"})


def parse_status_callback(request: WebhookRequest) -> list[FeedbackEvent]:
    try:
        form = dict(
            parse_qsl(request.body.decode(), keep_blank_values=True, strict_parsing=bool(request.body))
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConfigError("body", f"not a form-encoded status callback: {exc}") from None
    sid = form.get("MessageSid") or form.get("SmsSid")
    status = form.get("MessageStatus") or form.get("SmsStatus")
    if not sid:
        raise ConfigError("MessageSid", "is required")
    if not status:
        raise ConfigError("MessageStatus", "is required")
    error_code = form.get("ErrorCode", "")
    if status == "delivered":
        kind = FeedbackKind.DELIVERED
    elif status == "read":
        kind = FeedbackKind.OPENED
    elif status in _FAILED_STATUSES:
        if error_code in UNSUBSCRIBED_CODES:
            kind = FeedbackKind.UNSUBSCRIBED
        elif error_code in DEAD_NUMBER_CODES:
            kind = FeedbackKind.BOUNCED
        else:
            kind = FeedbackKind.DEFERRED
    else:
        return []  # queued, sending, sent...: not an outcome yet
    return [
        FeedbackEvent(
            kind=kind,
            message_id=request.query.get(MESSAGE_ID_PARAMETER, ""),
            address=form.get("To", ""),
            # Twilio's callbacks carry no event time: they are posted as the status changes.
            occurred_at=datetime.now(UTC),
            provider_event_id=f"{sid}:{status}",
            detail=f"{status} (error {error_code})" if error_code else status,
        )
    ]
