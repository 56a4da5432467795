"""What a transactional message keeps to be sent again: the same message, after a trip through JSON."""

from __future__ import annotations

import uuid

import orjson

from kernel.channels import MessageContent, OutboundMessage
from kernel.delivery.payloads import outbound, payload

MESSAGE_ID = uuid.uuid4()
MESSAGE = OutboundMessage(
    str(MESSAGE_ID),
    "https://push.example/subscription/1",
    MessageContent(
        title="Code", body="123456", data={"screen": "login"}, badge=3, ttl_seconds=60, tags={"kind": "otp"}
    ),
    {"p256dh": "BNcRd", "auth": "tBHI"},
)


def stored() -> dict:
    """The payload as it comes back from the database (a JSON document)."""
    return orjson.loads(orjson.dumps(payload(MESSAGE)))


def test_the_same_message_is_sent_again() -> None:
    assert outbound(MESSAGE_ID, MESSAGE.address, stored()) == MESSAGE


def test_a_payload_kept_by_another_version_still_sends() -> None:
    kept = stored()
    kept["content"]["hologram"] = "a field this version does not know"
    del kept["content"]["badge"]
    again = outbound(MESSAGE_ID, MESSAGE.address, kept)
    assert again.content == MESSAGE.content._replace(badge=None)
