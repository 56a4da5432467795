"""The sender's hot loop, per batch of recipients: normalise and dedup addresses, throttle per email
domain, pace waves, and cut provider batches by channel.

A Cython core with a pure-Python twin of identical behaviour; ``IMPLEMENTATION`` says which one runs
(``HERALD_NO_EXTENSIONS=1`` forces the twin). No database and no clock here: the sender workers pass
plain columns and the time in, and persist what they need.
"""

from __future__ import annotations

from sender_ext.core import (
    IMPLEMENTATION,
    Deduper,
    Pacer,
    Throttle,
    dedup_key,
    email_domain,
    group_batches,
    normalize,
    normalize_batch,
)
from sender_ext.types import AddressForm, Admission, Batches, Dedup, Pace, Rate, SlowDown

__all__ = [
    "IMPLEMENTATION",
    "AddressForm",
    "Admission",
    "Batches",
    "Dedup",
    "Deduper",
    "Pace",
    "Pacer",
    "Rate",
    "SlowDown",
    "Throttle",
    "dedup_key",
    "email_domain",
    "group_batches",
    "normalize",
    "normalize_batch",
]
