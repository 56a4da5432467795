"""Expression statistics on the profile attributes segments filter on.

PostgreSQL knows nothing of the values inside ``attributes`` (jsonb) and guesses a fixed selectivity for
``attributes -> 'country' -> 'v' = '"FR"'`` (5,000 rows estimated for 125,000 on 1 M profiles), which
picks nested loops where a hash join belongs. A statistics object on the exact expressions the compiler
writes (:mod:`kernel.engage.segments.compiler`: the value and the type tag) gives ANALYZE (autovacuum's,
or an operator's) something to measure; it costs nothing at write time. One object per attribute key, for
every project: keys repeat across projects, and a project's keys are few.
"""

from __future__ import annotations

import contextlib
import hashlib

import asyncpg

from kernel.engage.segments.conditions import AttributeTest, Condition, walk

#: PostgreSQL's identifier limit, in bytes.
_MAX_NAME = 63


def statistics_name(key: str) -> str:
    name = f"segment_attribute_{key}"
    if len(name) <= _MAX_NAME:
        return name
    return f"segment_attribute_{hashlib.sha256(key.encode()).hexdigest()[:32]}"


async def ensure_statistics(conn: asyncpg.Connection, condition: Condition) -> None:
    """Create the statistics objects of the profile attributes the condition tests (event properties are
    not profile columns). Keys are checked (a letter, then letters, digits, ``_``): safe as literals."""
    keys = sorted({node.key for node in walk(condition) if isinstance(node, AttributeTest)})
    for key in keys:
        # A concurrent call may create it first.
        with contextlib.suppress(asyncpg.UniqueViolationError, asyncpg.DuplicateObjectError):
            await conn.execute(
                f"""CREATE STATISTICS IF NOT EXISTS "{statistics_name(key)}"
                    ON ((attributes -> '{key}') -> 'v'), ((attributes -> '{key}') ->> 't') FROM profiles"""
            )
