"""A leased slice made into messages to send: its audience read, judged, counted; shared addresses claimed;
with channel priority, one channel chosen per profile (:mod:`kernel.delivery.channel_priority`)."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field

import asyncpg

from kernel.delivery.audience_scan import AudienceRow
from kernel.delivery.audience_verdicts import Verdict, verdict_alone, verdict_claimed
from kernel.delivery.channel_priority import Claim, one_channel_each
from kernel.delivery.send_ids import bulk_message_ids
from kernel.delivery.send_runtime import SendRuntime
from kernel.delivery.slice_counts import SliceAudience
from kernel.delivery.slice_outcomes import Pending
from kernel.delivery.slices import Slice

#: The audience figures each verdict but SEND adds to (LEFT_OUT: none, the channel was not the profile's).
_FIGURES: dict[Verdict, tuple[str, ...]] = {
    Verdict.NOT_CONSENTED: ("not_consented",),
    Verdict.DUPLICATE: ("duplicates",),
    Verdict.SUPPRESSED: ("planned", "suppressed"),
    Verdict.LEFT_OUT: (),
}


@dataclass(slots=True)
class SliceMessages:
    audience: SliceAudience = field(default_factory=SliceAudience)
    #: The messages to send now (not blocked, not sent by an earlier lease, not anybody else's); their
    #: ids in text form, as providers get them.
    pending: list[Pending] = field(default_factory=list)


async def slice_messages(conn: asyncpg.Connection, runtime: SendRuntime, part: Slice) -> SliceMessages:
    rows = await runtime.scan.read(conn, part)
    done = await _done_before(conn, part) if part.rerun else frozenset()

    async def claim(shared: list[AudienceRow]) -> list[bool]:
        won = await _claim(conn, runtime, part, shared)
        return [won.get((runtime.names[row.channel], row.key)) == row.profile_id for row in shared]

    if runtime.definition.channel_priority:
        verdicts = await one_channel_each(rows, _sent_before(runtime, rows, done), claim)
        sendable = [row for row, verdict in zip(rows, verdicts, strict=True) if verdict is Verdict.SEND]
        others = [
            (row.channel, verdict)
            for row, verdict in zip(rows, verdicts, strict=True)
            if verdict is not Verdict.SEND
        ]
    else:
        sendable, others = await _every_channel(rows, claim)
    messages = SliceMessages(_counted(sendable, others))
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
        for message_id, row in zip(_message_ids(runtime, sendable), sendable, strict=True)
        if message_id not in done
    ]
    return messages


async def _every_channel(
    rows: list[AudienceRow], claim: Claim
) -> tuple[list[AudienceRow], list[tuple[int, Verdict]]]:
    """The rows to send on every channel the profile is reachable on, and the others' channels and
    verdicts."""
    sendable: list[AudienceRow] = []
    others: list[AudienceRow] = []
    for row in rows:
        # verdict_alone's SEND, written out: a function call per row shows on the hot path.
        sent = row.consented and not (row.duplicate or row.claim) and row.blocked is None
        (sendable if sent else others).append(row)
    if not others:  # the usual
        return sendable, []
    verdicts = [verdict_alone(row, False) for row in others]
    claimed = [row for row, verdict in zip(others, verdicts, strict=True) if verdict is None]
    won = iter(await claim(claimed) if claimed else ())
    judged = [
        verdict_claimed(row, next(won)) if verdict is None else verdict
        for row, verdict in zip(others, verdicts, strict=True)
    ]
    sendable += [row for row, verdict in zip(others, judged, strict=True) if verdict is Verdict.SEND]
    return sendable, [
        (row.channel, verdict)
        for row, verdict in zip(others, judged, strict=True)
        if verdict is not Verdict.SEND
    ]


def _sent_before(runtime: SendRuntime, rows: list[AudienceRow], done: frozenset[str]) -> dict[uuid.UUID, int]:
    """The channel of each profile's message an earlier lease of a slice read again sent or scheduled."""
    if not done:
        return {}
    consented = [row for row in rows if row.consented]
    return {
        row.profile_id: row.channel
        for row, message_id in zip(consented, _message_ids(runtime, consented), strict=True)
        if message_id in done
    }


def _counted(sendable: list[AudienceRow], others: list[tuple[int, Verdict]]) -> SliceAudience:
    """The slice's audience figures, in total and per channel, from the rows sent and the others'
    verdicts: suppressed messages are planned; the rows left out count nowhere."""
    audience = SliceAudience()
    for channel, count in Counter(row.channel for row in sendable).items():
        audience.count(channel, "planned", by=count)
    for (channel, verdict), count in Counter(others).items():
        if figures := _FIGURES[verdict]:
            audience.count(channel, *figures, by=count)
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
