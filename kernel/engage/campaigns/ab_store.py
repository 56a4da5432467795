"""Every statement on ``campaign_ab_tests``, and the holdout's count."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from kernel.delivery.audience_share import SHARE_SQL, ShareRange

Executor = asyncpg.Connection | asyncpg.Pool
_COLUMNS = (
    "variant_send_ids, holdout_profiles, decide_at, winner, chosen_values, decided_at, remainder_send_id"
)
_IN_RANGE = f"{SHARE_SQL.format(seed='$3::text', profile='{t}.profile_id')} >= $4 AND " + (
    f"{SHARE_SQL.format(seed='$3::text', profile='{t}.profile_id')} < $5"
)
# The holdout of a send's audience: its listed profiles, or every profile of the project.
_HOLDOUT = f"""
SELECT CASE WHEN s.audience = 'list' THEN (
           SELECT count(*) FROM send_audience l
           WHERE l.project_id = $1 AND l.send_id = $2 AND {_IN_RANGE.format(t="l")})
       ELSE (SELECT count(*) FROM profiles p WHERE p.project_id = $1 AND {_IN_RANGE.format(t="p")}) END
FROM sends s WHERE s.project_id = $1 AND s.send_id = $2
"""


@dataclass(frozen=True, slots=True)
class AbTestRow:
    variant_send_ids: Sequence[uuid.UUID]
    holdout_profiles: int
    decide_at: datetime
    #: The winner's position in the variants; None until chosen.
    winner: int | None
    chosen_values: Sequence[float] | None
    decided_at: datetime | None
    remainder_send_id: uuid.UUID | None


async def holdout_profiles(
    conn: Executor, project_id: uuid.UUID, send_id: uuid.UUID, holdout: ShareRange
) -> int:
    """The profiles of ``send_id``'s audience in the holdout (a variant's send: the test's audience)."""
    if holdout.hi <= holdout.lo:
        return 0
    counted = await conn.fetchval(_HOLDOUT, project_id, send_id, holdout.seed, holdout.lo, holdout.hi)
    return int(counted or 0)


async def insert(
    conn: Executor,
    project_id: uuid.UUID,
    campaign_id: uuid.UUID,
    key: str,
    send_ids: Sequence[uuid.UUID],
    holdout: int,
    decide_at: datetime,
) -> None:
    """The test as its occurrence released it; a run repeated keeps the first run's row."""
    await conn.execute(
        """INSERT INTO campaign_ab_tests
               (project_id, campaign_id, occurrence_key, variant_send_ids, holdout_profiles, decide_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT DO NOTHING""",
        project_id,
        campaign_id,
        key,
        list(send_ids),
        holdout,
        decide_at,
    )


async def read(
    conn: Executor, project_id: uuid.UUID, campaign_id: uuid.UUID, key: str, *, lock: bool = False
) -> AbTestRow | None:
    """``lock``: held until the transaction ends (the winner's step)."""
    row = await conn.fetchrow(
        f"""SELECT {_COLUMNS} FROM campaign_ab_tests
            WHERE project_id = $1 AND campaign_id = $2 AND occurrence_key = $3
            {"FOR UPDATE" if lock else ""}""",
        project_id,
        campaign_id,
        key,
    )
    return None if row is None else AbTestRow(*row)


async def decide(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    campaign_id: uuid.UUID,
    key: str,
    winner: int,
    values: Sequence[float],
) -> None:
    """The winner and the metric values that chose it; a test decided already keeps its winner."""
    await conn.execute(
        """UPDATE campaign_ab_tests SET winner = $4, chosen_values = $5, decided_at = now()
           WHERE project_id = $1 AND campaign_id = $2 AND occurrence_key = $3 AND winner IS NULL""",
        project_id,
        campaign_id,
        key,
        winner,
        list(values),
    )


async def record_remainder(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    campaign_id: uuid.UUID,
    key: str,
    send_id: uuid.UUID | None,
) -> None:
    await conn.execute(
        """UPDATE campaign_ab_tests SET remainder_send_id = $4
           WHERE project_id = $1 AND campaign_id = $2 AND occurrence_key = $3""",
        project_id,
        campaign_id,
        key,
        send_id,
    )
