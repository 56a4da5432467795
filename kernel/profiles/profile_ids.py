"""New profiles' ids: version 7 UUIDs (RFC 9562 section 5.7), the millisecond clock then random bits.

Made by the kernel rather than by an SQL expression per row: the keys of profiles, addresses and
subscriptions and the identities' profile index start with (project, profile), so new profiles' rows land
at the end of those indexes instead of on a random page of each; PostgreSQL 16 has no uuidv7(), and
building one there (a version 4 id rewritten, then read back from hex) was work for every row.
"""

from __future__ import annotations

import os
import time
import uuid

from asyncpg.pgproto.pgproto import UUID as DatabaseUUID

_RANDOM_BYTES = 10
_MILLISECONDS_MASK = (1 << 48) - 1
#: The version and variant bits, laid over the 80 bits below the millisecond.
_VERSION_AND_VARIANT = 0x7 << 76 | 0x2 << 62
_RANDOM_MASK = ((1 << 80) - 1) & ~(0xF << 76) & ~(0x3 << 62)


def new_profile_ids(count: int) -> list[uuid.UUID]:
    """``count`` ids of this millisecond, ascending: in the order their profiles are created when handed
    out in order (one clock read and one call for the randomness, for a whole batch).

    74 random bits each, as in the ids PostgreSQL made before: two alike in one millisecond are all but
    impossible, and the profiles' primary key would refuse them (the batch is then stored profile by
    profile, each with new ids)."""
    head = (time.time_ns() // 1_000_000 & _MILLISECONDS_MASK) << 80 | _VERSION_AND_VARIANT
    randomness = os.urandom(_RANDOM_BYTES * count)
    tails = sorted(
        [
            int.from_bytes(randomness[start : start + _RANDOM_BYTES]) & _RANDOM_MASK
            for start in range(0, len(randomness), _RANDOM_BYTES)
        ]
    )
    # asyncpg's own UUID (a uuid.UUID, the type it reads uuid columns as): made from 16 bytes in C, and
    # sent as they are, where a uuid.UUID is built by checks in Python and encoded through its int.
    return [DatabaseUUID((head | tail).to_bytes(16)) for tail in tails]
