"""The FCM HTTP v1 ``Message`` for one push: notification or data-only, with the Android and APNs
(iOS through FCM) delivery options.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from kernel.channels import OutboundMessage

#: FCM: "4096 bytes for most messages ... This includes both the keys and the values."
MAX_PAYLOAD_BYTES = 4096
#: android.ttl must lie between 0 and 2,419,200 seconds (4 weeks).
MAX_TTL_SECONDS = 2_419_200
#: FCM: the data payload must not "contain a key (such as from, or gcm, or any value prefixed by google)
#: that is used internally by FCM"; its legacy reference names "from", "message_type" and any key
#: starting with "google" or "gcm".
RESERVED_DATA_KEYS = frozenset({"from", "message_type"})
RESERVED_DATA_PREFIXES = ("google", "gcm")


def is_reserved_data_key(key: str) -> bool:
    """FCM refuses the whole message (400 INVALID_ARGUMENT) when its data carries this key."""
    return key in RESERVED_DATA_KEYS or key.startswith(RESERVED_DATA_PREFIXES)


def payload_size(message: dict[str, Any]) -> int:
    """The bytes FCM counts against its limit: the notification and data keys and values."""
    counted = {key: message[key] for key in ("notification", "data") if key in message}
    return len(orjson.dumps(counted))


def fcm_message(message: OutboundMessage) -> dict[str, Any]:
    content = message.content
    urgent = content.priority == "high"
    result: dict[str, Any] = {"token": message.address}
    if content.data:
        result["data"] = {str(key): str(value) for key, value in content.data.items()}
    android: dict[str, Any] = {"priority": "HIGH" if urgent else "NORMAL"}
    apns_headers = {
        # Apple requires priority 5 and push type "background" for content-available pushes.
        "apns-priority": "10" if urgent and not content.silent else "5",
        "apns-push-type": "background" if content.silent else "alert",
    }
    aps: dict[str, Any] = {}
    if content.silent:
        aps["content-available"] = 1
    else:
        notification = {
            key: value for key, value in (("title", content.title), ("body", content.body)) if value
        }
        result["notification"] = notification
        android_notification: dict[str, Any] = {}
        if content.sound:
            android_notification["sound"] = aps["sound"] = content.sound
        if content.badge is not None:
            android_notification["notification_count"] = aps["badge"] = content.badge
        if android_notification:
            android["notification"] = android_notification
    if content.ttl_seconds is not None:
        ttl = max(0, min(content.ttl_seconds, MAX_TTL_SECONDS))
        android["ttl"] = f"{ttl}s"
        # apns-expiration 0: deliver once, now, or never.
        apns_headers["apns-expiration"] = str(int(time.time()) + ttl) if ttl else "0"
    if content.collapse_key:
        android["collapse_key"] = content.collapse_key
        apns_headers["apns-collapse-id"] = content.collapse_key
    result["android"] = android
    result["apns"] = {"headers": apns_headers, **({"payload": {"aps": aps}} if aps else {})}
    return result
