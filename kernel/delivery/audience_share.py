"""A send restricted to a share of its audience: the profiles whose hash falls in a range of [0, 1).

A campaign's A/B test splits one audience into disjoint ranges (holdout, each variant, the remainder
sent the winner), each range a send of its own. The hash is of a seed (the campaign) and the profile id
only, so a profile's place never depends on the audience, the slice, the order or the run that reads
it: a send read again after a crash, or the remainder sent after the test, finds each profile where the
test put it. Python and SQL compute the same value (:func:`share_of`, :data:`SHARE_SQL`).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

#: The profile's place in [0, 1): the first 32 bits of md5(seed || profile id), over 2^32.
#: ``{seed}`` and ``{profile}`` are SQL expressions (text, uuid).
SHARE_SQL = "(('x' || left(md5({seed} || {profile}::text), 8))::bit(32)::bigint / 4294967296::float8)"
_SPAN = 2**32


@dataclass(frozen=True, slots=True)
class ShareRange:
    """The profiles whose place for ``seed`` is in [lo, hi)."""

    seed: str
    lo: float
    hi: float


def share_of(seed: str, profile_id: uuid.UUID) -> float:
    """The profile's place in [0, 1) for ``seed``, as :data:`SHARE_SQL` computes it."""
    digest = hashlib.md5(f"{seed}{profile_id}".encode(), usedforsecurity=False).hexdigest()
    return int(digest[:8], 16) / _SPAN
