"""Send ids are UUIDv7 (RFC 9562): their time order and their random bits are what bulk message ids use."""

from __future__ import annotations

import time
import uuid

from kernel.delivery.send_ids import new_send_id


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
