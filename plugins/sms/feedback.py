"""Twilio status callbacks → Herald feedback events.

Twilio posts a form (``MessageSid``, ``MessageStatus``, ``ErrorCode``, ``To``, ...) to the message's
StatusCallback URL at each status change; the URL Herald gave carries ``herald_message_id``. Only
final outcomes become events: ``delivered``, and ``undelivered`` / ``failed`` by their error code.
Each callback is signed (``X-Twilio-Signature``): base64 HMAC-SHA1, keyed with the account's auth
token, of the exact URL Twilio called followed by the POST parameters sorted by name. Herald checks it
on every callback, against the configured ``status_callback`` (the URL Twilio was given, which a
proxy in front of Herald may not pass on unchanged) or else the URL the call reached.
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


def read_form(request: WebhookRequest) -> dict[str, str]:
    try:
        return dict(
            parse_qsl(request.body.decode(), keep_blank_values=True, strict_parsing=bool(request.body))
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConfigError("body", f"not a form-encoded status callback: {exc}") from None


def signed_url(request: WebhookRequest, config: TwilioConfig) -> str:
    """The URL Twilio signed: the status callback Herald gave it (with the message id), if configured."""
    if not config.status_callback:
        return request.url
    message_id = request.query.get(MESSAGE_ID_PARAMETER)
    return with_message_id(config.status_callback, message_id) if message_id else config.status_callback


def is_genuine(request: WebhookRequest, config: TwilioConfig) -> bool:
    try:
        form = read_form(request)
    except ConfigError:
        return False
    expected = twilio_signature(signed_url(request, config), form, config.auth_token)
    return hmac.compare_digest(request.header("X-Twilio-Signature").encode(), expected.encode())


def webhook_credentials() -> dict[str, str]:
    return {
        "auth_type": "X-Twilio-Signature",
        "signed_with": "the account's auth_token of this configuration (nothing to enter at Twilio)",
    }


def parse_status_callback(request: WebhookRequest) -> list[FeedbackEvent]:
    form = read_form(request)
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
