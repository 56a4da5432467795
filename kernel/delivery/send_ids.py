"""Send ids: time-ordered (UUIDv7, RFC 9562 section 5.7), because their messages' ids start with them.

A bulk message's id is the first 10 bytes of its send's id followed by its position in the send
(``bulk_message_id`` in migration 0007), so that an outbox is written at the right-hand edge of the
messages' primary key and claimed in that order. Those 10 bytes hold the millisecond of creation and 26
random bits; a unique index on them (``sends_message_id_prefix``) turns the rare clash of two sends
created in the same millisecond into a retry with a new id.
"""

from __future__ import annotations

import os
import time
import uuid

_VERSION = 0x7 << 76
_VERSION_MASK = 0xF << 76
_VARIANT = 0x2 << 62
_VARIANT_MASK = 0x3 << 62
#: The unique index on the 10-byte prefix of send ids.
PREFIX_INDEX = "sends_message_id_prefix"


def new_send_id() -> uuid.UUID:
    milliseconds = time.time_ns() // 1_000_000 & ((1 << 48) - 1)
    value = milliseconds << 80 | int.from_bytes(os.urandom(10), "big")
    return uuid.UUID(int=(value & ~_VERSION_MASK & ~_VARIANT_MASK) | _VERSION | _VARIANT)
