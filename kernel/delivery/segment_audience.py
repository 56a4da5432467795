"""A send by segments: its frozen selection written into ``send_audience`` when the send is created.

One set-based ``INSERT ... SELECT`` of the selection's predicate (the statement Count runs, evaluated at
the instant the selection was frozen at), in CreateSend's transaction. The send's slices are then dense
ranges of its own audience, cut and read as a list's are, instead of ranges of the whole project filtered
as they are read: a sparse segment's send read every profile of the project, one correlated probe of its
events each. It also freezes who is in the audience, not only the condition: a profile that matches only
after the send was created is not added, one that stops matching is not dropped, as one occurrence of a
campaign means. Being in the transaction, a crash leaves either no send or a send with its whole audience,
so no slice is ever cut from half an audience and GetSend never counts one.
"""

from __future__ import annotations

import uuid

import asyncpg

from kernel.engage.segments.compiler import compile_predicate
from kernel.engage.segments.frozen import FrozenAudience


async def store_segment_audience(
    conn: asyncpg.Connection, project_id: uuid.UUID, send_id: uuid.UUID, audience: FrozenAudience
) -> int:
    """Write the profiles the frozen selection matches as the send's audience; returns how many."""
    predicate = compile_predicate(audience.condition, audience.evaluated_at, first=3)
    status = await conn.execute(
        f"""INSERT INTO send_audience (project_id, send_id, profile_id)
            SELECT p.project_id, $2, p.profile_id FROM profiles p
            WHERE p.project_id = $1 AND {predicate.sql}""",
        project_id,
        send_id,
        *predicate.args,
    )
    return int(status.split()[-1])
