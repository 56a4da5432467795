"""Twilio status callbacks → Herald feedback events.

Twilio posts a form (``MessageSid``, ``MessageStatus``, ``ErrorCode``, ``To``, ...) to the message's
StatusCallback URL at each status change; the URL Herald gave carries ``herald_message_id``. Only
final outcomes become events: ``delivered``, and ``undelivered`` / ``failed`` by their error code.
Each callback is signed (``X-Twilio-Signature``) with the account's auth token over the exact URL;
Herald knows that URL when the project configured ``status_callback``, and then checks it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from kernel.channels import ConfigError, FeedbackEvent, FeedbackKind, WebhookRequest
from plugins.sms.config import TwilioConfig
from plugins.sms.sender import MESSAGE_ID_PARAMETER, with_message_id

#: 30005 unknown destination handset, 30006 landline or unreachable carrier: the number cannot get SMS.
DEAD_NUMBER_CODES = frozenset({"30005", "30006"})
#: 21610: the recipient replied STOP to this sender.
UNSUBSCRIBED_CODES = frozenset({"21610"})
_FAILED_STATUSES = frozenset({"undelivered", "failed"})


def twilio_signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """Base64 HMAC-SHA1, keyed with the auth token, of the URL followed by the sorted POST parameters."""
    signed = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()).decode()


def check_signature(request: WebhookRequest, form: Mapping[str, str], config: TwilioConfig) -> None:
    message_id = request.query.get(MESSAGE_ID_PARAMETER)
    url = with_message_id(config.status_callback, message_id) if message_id else config.status_callback
    given = next((v for k, v in request.headers.items() if k.lower() == "x-twilio-signature"), "")
    expected = twilio_signature(url, form, config.auth_token)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise ConfigError("X-Twilio-Signature", "does not match the auth token and the status callback URL")


def parse_status_callback(request: WebhookRequest, config: TwilioConfig) -> list[FeedbackEvent]:
    try:
        form = dict(
            parse_qsl(request.body.decode(), keep_blank_values=True, strict_parsing=bool(request.body))
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConfigError("body", f"not a form-encoded status callback: {exc}") from None
    if config.status_callback:
        check_signature(request, form, config)
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
