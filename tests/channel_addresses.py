"""An address of each channel that its emulator in sandbox mode accepts, as a caller of SendTransactional
gives it (a raw address)."""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from herald.v1 import common_pb2


def browser_subscription() -> common_pb2.Address:
    """A subscription as a real browser would make it, with a push service the emulator did not issue."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return common_pb2.Address(
        kind="web_push",
        value="https://fcm.googleapis.com/fcm/send/c1KrmpTuRm8:APA91bH",
        details={
            "p256dh": base64.urlsafe_b64encode(point).decode().rstrip("="),
            "auth": base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("="),
        },
    )


PHONE = common_pb2.Address(kind="phone", value="+33612345678")
EMAIL = common_pb2.Address(kind="email", value="ann@example.com")
#: The built-in channels' addresses.
ADDRESSES = {
    "webpush": browser_subscription(),
    "email.sparkpost": EMAIL,
    "email.smtp": EMAIL,
    "sms.twilio": PHONE,
    "push.apns": common_pb2.Address(kind="apns_token", value="ab" * 32),
    "push.fcm": common_pb2.Address(kind="fcm_token", value="device1:APA91b" + "x" * 140),
}
