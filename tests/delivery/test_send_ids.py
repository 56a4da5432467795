"""Send ids are UUIDv7 (RFC 9562): their time order and their random bits are what bulk message ids use."""

from __future__ import annotations

import hashlib
import time
import uuid

from kernel.delivery.send_ids import bulk_message_ids, new_send_id


def test_a_send_id_is_a_version_7_uuid_of_the_current_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    send_id = new_send_id()
    after = time.time_ns() // 1_000_000
    assert send_id.version == 7 and send_id.variant == uuid.RFC_4122
    assert before <= send_id.int >> 80 <= after


def test_send_ids_sort_by_creation_time_and_differ_in_their_random_bits() -> None:
    earlier = new_send_id()
    time.sleep(0.002)
    later = new_send_id()
    assert earlier < later
    prefixes = {new_send_id().bytes[:10] for _ in range(1000)}
    assert len(prefixes) > 990  # 26 random bits in the 10-byte prefix, even within one millisecond


def test_a_bulk_message_id_is_the_send_prefix_and_62_bits_of_the_md5_of_channel_and_key() -> None:
    """The derivation is fixed: a slice read again, by this version or another, gives the same ids."""
    send_id = new_send_id()
    keys = [f"{index:064x}" for index in range(50)] + ["user@example.com", "é@exämple.com"]
    expected = []
    for key in keys:
        digest = hashlib.md5(f"push.apns\n{key}".encode()).digest()
        low = int.from_bytes(digest[8:], "big") & ((1 << 62) - 1) | 0b10 << 62
        expected.append(str(uuid.UUID(bytes=send_id.bytes[:8] + low.to_bytes(8, "big"))))
    assert bulk_message_ids(send_id, "push.apns", keys) == expected
