"""Send ids: time-ordered (UUIDv7, RFC 9562 section 5.7), and their first 8 bytes unique in a project,
because their messages' ids start with them.

A bulk message's id is the first 8 bytes of its send's id followed by 62 bits of the MD5 of its channel and
folded address (:func:`bulk_message_ids`): a re-run of a slice after a crash gives the same ids, and
feedback finds the send from a message id alone. MD5 for its speed: nothing here needs more than its
spread, the send's prefix keeping different sends' ids apart. Those 8 bytes hold the millisecond of creation
and 12 random bits; a unique index on them (``sends_message_id_prefix_v2``) turns the rare clash of two
sends of a project created in the same millisecond into a retry with a new id.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable
from hashlib import md5

_VERSION = 0x7 << 76
_VERSION_MASK = 0xF << 76
_VARIANT = 0x2 << 62
_VARIANT_MASK = 0x3 << 62
#: The unique index on the 8-byte prefix of send ids in a project.
PREFIX_INDEX = "sends_message_id_prefix_v2"


def new_send_id() -> uuid.UUID:
    milliseconds = time.time_ns() // 1_000_000 & ((1 << 48) - 1)
    value = milliseconds << 80 | int.from_bytes(os.urandom(10), "big")
    return uuid.UUID(int=(value & ~_VERSION_MASK & ~_VARIANT_MASK) | _VERSION | _VARIANT)


#: The first hex digit of a message id's second half, from the MD5's: its two high bits are the variant's.
_VARIANT_DIGIT = {digit: "89ab"[int(digit, 16) % 4] for digit in "0123456789abcdef"}


def bulk_message_ids(send_id: uuid.UUID, channel: str, keys: Iterable[str]) -> list[str]:
    """The ids (in text form) of the send's messages on ``channel`` to the folded addresses ``keys``."""
    prefix = str(send_id)[:19]
    head = f"{channel}\n"
    variant = _VARIANT_DIGIT
    ids = []
    for key in keys:
        digest = md5((head + key).encode(), usedforsecurity=False).hexdigest()
        ids.append(f"{prefix}{variant[digest[16]]}{digest[17:20]}-{digest[20:]}")
    return ids
