"""A leased slice made into messages to send: its audience read, judged, counted; shared addresses claimed;
with channel priority, one channel chosen per profile (:mod:`kernel.delivery.channel_priority`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from kernel.delivery.audience_scan import AudienceRow
from kernel.delivery.channel_priority import ChannelChoice, Verdict
from kernel.delivery.send_ids import bulk_message_ids
from kernel.delivery.send_runtime import SendRuntime
from kernel.delivery.slice_outcomes import Pending
from kernel.delivery.slices import Slice, SliceAudience


@dataclass(slots=True)
class SliceMessages:
    audience: SliceAudience = field(default_factory=SliceAudience)
    #: The messages to send now (not blocked, not sent by an earlier lease, not anybody else's); their
    #: ids in text form, as providers get them.
    pending: list[Pending] = field(default_factory=list)


async def slice_messages(conn: asyncpg.Connection, runtime: SendRuntime, part: Slice) -> SliceMessages:
    rows = await runtime.scan.read(conn, part)
    verdicts = await _judge(conn, runtime, part, rows)
    sendable = [row for row, verdict in zip(rows, verdicts, strict=True) if verdict is Verdict.SEND]
    ids = _message_ids(runtime, sendable)
    done = await _done_before(conn, part) if part.rerun else frozenset()
    if runtime.definition.channel_priority:
        verdicts, sendable, ids = _one_channel_each(rows, verdicts, sendable, ids, done)
    messages = SliceMessages(_counted(verdicts))
    messages.pending = [
        Pending(
            message_id,
            row.profile_id,
            row.channel,
            row.address,
            row.key,
            row.details,
            row.values,
            part.slice_no,
        )
        for message_id, row in zip(ids, sendable, strict=True)
        if message_id not in done
    ]
    return messages


def _one_channel_each(
    rows: list[AudienceRow],
    verdicts: list[Verdict],
    sendable: list[AudienceRow],
    ids: list[str],
    done: frozenset[str],
) -> tuple[list[Verdict], list[AudienceRow], list[str]]:
    """The verdicts, sendable rows and their ids that count once each profile's channel is chosen."""
    earlier = [
        (row.profile_id, row.channel)
        for row, message_id in zip(sendable, ids, strict=True)
        if message_id in done
    ]
    choice = ChannelChoice(rows, verdicts, earlier)
    chosen = [choice.keeps(row, Verdict.SEND) for row in sendable]
    return (
        [verdict for row, verdict in zip(rows, verdicts, strict=True) if choice.keeps(row, verdict)],
        [row for row, keep in zip(sendable, chosen, strict=True) if keep],
        [message_id for message_id, keep in zip(ids, chosen, strict=True) if keep],
    )


async def _judge(
    conn: asyncpg.Connection, runtime: SendRuntime, part: Slice, rows: list[AudienceRow]
) -> list[Verdict]:
    """Each row's verdict, in the rows' order; the claims of shared addresses recorded first."""
    verdicts = [_verdict(row) for row in rows]
    claims = [row for row, verdict in zip(rows, verdicts, strict=True) if verdict is None]
    won = await _claim(conn, runtime, part, claims) if claims else {}
    return [
        _claimed(row, won.get((runtime.names[row.channel], row.key))) if verdict is None else verdict
        for row, verdict in zip(rows, verdicts, strict=True)
    ]


def _verdict(row: AudienceRow) -> Verdict | None:
    """What the scan alone says of the row; None for a shared address whose claim decides."""
    if not row.consented:
        return Verdict.NOT_CONSENTED
    if row.duplicate:
        return Verdict.DUPLICATE
    if row.claim:
        return None
    return Verdict.SEND if row.blocked is None else Verdict.SUPPRESSED


def _claimed(row: AudienceRow, winner: object) -> Verdict:
    """A claimed row's verdict, once the claims say who receives the address."""
    if winner != row.profile_id:
        return Verdict.DUPLICATE
    return Verdict.SEND if row.blocked is None else Verdict.SUPPRESSED


def _counted(verdicts: list[Verdict]) -> SliceAudience:
    """The slice's audience figures: suppressed messages are planned, the others left out are not."""
    audience = SliceAudience()
    for verdict in verdicts:
        if verdict is Verdict.SEND:
            audience.planned += 1
        elif verdict is Verdict.SUPPRESSED:
            audience.planned += 1
            audience.suppressed += 1
        elif verdict is Verdict.DUPLICATE:
            audience.duplicates += 1
        else:
            audience.not_consented += 1
    return audience


def _message_ids(runtime: SendRuntime, rows: list[AudienceRow]) -> list[str]:
    """Each row's message id, in the rows' order (computed channel by channel)."""
    ids: list[str] = [""] * len(rows)
    for channel, name in enumerate(runtime.names):
        positions = [position for position, row in enumerate(rows) if row.channel == channel]
        keys = (rows[position].key for position in positions)
        for position, message_id in zip(
            positions, bulk_message_ids(runtime.send_id, name, keys), strict=True
        ):
            ids[position] = message_id
    return ids


async def _done_before(conn: asyncpg.Connection, part: Slice) -> frozenset[str]:
    """The messages of a slice read again that an earlier lease sent (the log) or scheduled (retries)."""
    rows = await conn.fetch(
        """SELECT g.message_id::text FROM message_log g
           WHERE g.project_id = $1 AND g.send_id = $2
             AND g.profile_id > $3 AND ($4::uuid IS NULL OR g.profile_id <= $4)
           UNION ALL
           SELECT r.message_id::text FROM message_retries r
           WHERE r.project_id = $1 AND r.send_id = $2 AND r.slice_no = $5""",
        part.project_id,
        part.send_id,
        part.lo,
        part.hi,
        part.slice_no,
    )
    return frozenset(row[0] for row in rows)


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
