"""A leased slice made into messages to send: its audience read, judged, counted; shared addresses claimed."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from kernel.delivery.audience_scan import AudienceRow
from kernel.delivery.send_runtime import SendRuntime
from kernel.delivery.slice_outcomes import Pending
from kernel.delivery.slices import Slice, SliceAudience


@dataclass(slots=True)
class SliceMessages:
    audience: SliceAudience = field(default_factory=SliceAudience)
    #: The messages to send now (not blocked, not sent by an earlier lease, not anybody else's).
    pending: list[Pending] = field(default_factory=list)


async def slice_messages(conn: asyncpg.Connection, runtime: SendRuntime, part: Slice) -> SliceMessages:
    rows = await runtime.scan.read(conn, part)
    kept = SliceMessages()
    audience = kept.audience
    claims: list[AudienceRow] = []
    for row in rows:
        if not row.consented:
            audience.not_consented += 1
        elif row.duplicate:
            audience.duplicates += 1
        elif row.claim:
            claims.append(row)
        else:
            _keep(kept, row, part)
    if claims:
        won = await _claim(conn, runtime, part, claims)
        for row in claims:
            if won.get((runtime.names[row.channel], row.key)) == row.profile_id:
                _keep(kept, row, part)
            else:
                audience.duplicates += 1
    return kept


def _keep(kept: SliceMessages, row: AudienceRow, part: Slice) -> None:
    kept.audience.planned += 1
    if row.blocked is not None:
        kept.audience.suppressed += 1
    elif row.done is None:
        kept.pending.append(
            Pending(
                row.message_id,
                row.profile_id,
                row.channel,
                row.address,
                row.key,
                row.details,
                row.values,
                part.slice_no,
            )
        )


async def _claim(
    conn: asyncpg.Connection, runtime: SendRuntime, part: Slice, rows: list[AudienceRow]
) -> dict[tuple[str, str], object]:
    """Record the claims of shared addresses (the first claim of each wins); returns each one's winner.
    The statement's snapshot shows the claims made before it; its own come back from the insert."""
    channels = [runtime.names[row.channel] for row in rows]
    keys = [row.key for row in rows]
    won = await conn.fetch(
        """WITH claimed AS (
               INSERT INTO send_address_claims (project_id, send_id, channel, address_key, profile_id)
               SELECT $1, $2, c.channel, c.address_key, c.profile_id
               FROM unnest($3::text[], $4::text[], $5::uuid[]) AS c(channel, address_key, profile_id)
               ON CONFLICT DO NOTHING
               RETURNING channel, address_key, profile_id)
           SELECT channel, address_key, profile_id FROM claimed
           UNION ALL
           SELECT channel, address_key, profile_id FROM send_address_claims
           WHERE project_id = $1 AND send_id = $2 AND (channel, address_key) IN (
               SELECT * FROM unnest($3::text[], $4::text[]))""",
        part.project_id,
        part.send_id,
        channels,
        keys,
        [row.profile_id for row in rows],
    )
    return {(row[0], row[1]): row[2] for row in won}
