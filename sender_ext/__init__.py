"""The sender's hot loop, per claimed batch of recipients: drop adjacent duplicates of the ordered scan,
throttle per email domain, pace waves, cut provider batches by channel, and build the values a
substituting provider inserts per recipient.

A Cython core with a pure-Python twin of identical behaviour; ``IMPLEMENTATION`` says which one runs
(``HERALD_NO_EXTENSIONS=1`` forces the twin). No database and no clock here: the sender workers pass
plain columns and the time in, and persist what they need.
"""

from __future__ import annotations

from sender_ext.core import (
    IMPLEMENTATION,
    Pacer,
    Throttle,
    email_domain,
    group_batches,
    plan_batch,
    substitution_rows,
)
from sender_ext.types import AddressForm, Admission, Batches, BatchPlan, Pace, Rate, SlowDown, Substitution

__all__ = [
    "IMPLEMENTATION",
    "AddressForm",
    "Admission",
    "BatchPlan",
    "Batches",
    "Pace",
    "Pacer",
    "Rate",
    "SlowDown",
    "Substitution",
    "Throttle",
    "email_domain",
    "group_batches",
    "plan_batch",
    "substitution_rows",
]
