"""What a transactional message sends, as kept in ``messages.payload`` while it may be sent again.

A retry sends exactly what the first attempt sent: the content rendered then (not the template again,
whose variables may have changed since), to the same web-push subscription keys (a raw address's keys
exist nowhere else), with the same substitution data for a provider that substitutes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from kernel.channels import EMPTY, MessageContent, OutboundMessage

_FIELDS = frozenset(MessageContent._fields)


def payload(message: OutboundMessage) -> dict[str, Any]:
    """The JSON object kept for ``message``."""
    content = message.content._asdict()
    content["data"] = dict(message.content.data)
    content["tags"] = dict(message.content.tags)
    data = message.substitution_data
    return {
        "content": content,
        "address_details": dict(message.address_details),
        "substitution_data": None if data is None else dict(data),
    }


def outbound(message_id: uuid.UUID, address: str, stored: Mapping[str, Any]) -> OutboundMessage:
    """The message to send again, from its row's id, address and payload.

    Only the content fields this version knows are read: a payload kept by another version of Herald
    (an upgrade in between) still sends, with the defaults of the fields it lacks.
    """
    content = MessageContent(**{k: v for k, v in stored["content"].items() if k in _FIELDS})
    return OutboundMessage(
        str(message_id),
        address,
        content,
        stored["address_details"] or EMPTY,
        # A content made for a substituting provider (an automation's send step) is sent again with the
        # same values; a payload kept before they were has none.
        stored.get("substitution_data"),
    )


def content_bytes(content: MessageContent) -> int:
    """The size of a rendered content as checked against a channel's ``max_payload_bytes`` before it is
    sent: the UTF-8 bytes of its texts and of its data's keys and values. A provider's own envelope
    (JSON, MIME headers) comes on top, so a content at the limit may still be refused by the channel."""
    data = sum(len(key.encode()) + len(value.encode()) for key, value in content.data.items())
    return sum(len(text.encode()) for text in _texts(content)) + data


def fits(content: MessageContent, limit: int) -> bool:
    """``content_bytes(content) <= limit``, without encoding anything when the characters alone tell (a
    character is 1 to 4 bytes in UTF-8): what the bulk path asks of every recipient's content. The texts
    of ``_texts`` are read one by one, without a tuple and a sum per recipient."""
    characters = (
        len(content.subject)
        + len(content.html)
        + len(content.text)
        + len(content.title)
        + len(content.body)
        + len(content.url)
    )
    for key, value in content.data.items():
        characters += len(key) + len(value)
    if characters * 4 <= limit:
        return True
    return characters <= limit and content_bytes(content) <= limit


def _texts(content: MessageContent) -> tuple[str, ...]:
    return (content.subject, content.html, content.text, content.title, content.body, content.url)
