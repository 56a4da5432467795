"""Every statement on the ``sends`` and ``send_slices`` rows: a send's creation and state, its audience
cut into slices, their leases, the counting, the wave's pacing.

A slice is a contiguous range of the send's audience in profile id order, ``(lo, hi]``, cut when a worker
asks for work: the send row is locked only for the cut (finding the slice's last profile is an index-only
read of ``size`` entries), so workers cut one after the other and send side by side. A slice is leased by
the worker that cut it; a lease that lapses (a dead worker) is taken by the next worker that asks, which
reads the slice again and skips what the message log says was sent (:mod:`kernel.delivery.audience_scan`).

Counters live in the slices, one row per slice of about ``worker_batch_size`` messages, so recording an
outcome never waits for another batch's: a send's figures are their sums (:func:`send_counts`); the same
figures per channel and hour are written beside them, in the same transactions
(:mod:`kernel.delivery.channel_counts`). A send is
completed when its audience is cut, every slice is done and no message waits in ``message_retries``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from kernel.delivery.channel_counts import add_outcomes, set_audiences
from kernel.delivery.send_definition import SendDefinition
from kernel.delivery.send_events import send_event
from kernel.delivery.send_spec import spec_of
from kernel.delivery.slice_counts import AUDIENCE, OUTCOMES, OutcomeCounts, SliceAudience, SliceCounts
from kernel.storage.database import GENERIC_PLANS
from sender_ext import Pacer, Rate

_NIL = uuid.UUID(int=0)
COUNTERS = (
    "planned",
    "sent",
    "failed",
    "suppressed",
    "expired",
    "cancelled",
    "retries",
    "duplicates",
    "not_consented",
    "capped",
    "grace_period",
    "quiet_hours_dropped",
    "quiet_hours_delayed",
)
#: The counters whose messages are final: a send's pending messages are the planned ones not among them.
FINAL = (
    "sent",
    "failed",
    "suppressed",
    "expired",
    "cancelled",
    "capped",
    "grace_period",
    "quiet_hours_dropped",
)
# The last profile of the next slice and the one after it (only one: the audience ends with this slice),
# from the audience's first key columns ($1, the project, then for a list $2, the send), the slice's start
# and size.
_CUT = {
    "all": """SELECT profile_id FROM profiles WHERE project_id = $1 AND profile_id > $2
              ORDER BY profile_id OFFSET $3 - 1 LIMIT 2""",
    "list": """SELECT profile_id FROM send_audience WHERE project_id = $1 AND send_id = $2 AND profile_id > $3
               ORDER BY profile_id OFFSET $4 - 1 LIMIT 2""",
}
# A segment's selection is written into send_audience when its send is created
# (kernel.delivery.segment_audience): its slices are cut as a list's.
_CUT["segment"] = _CUT["list"]
_PAGE = """SELECT * FROM sends
           WHERE project_id = $1
             AND (cardinality($3::text[]) = 0 OR state = any($3::text[]))
             AND ($4::timestamptz IS NULL OR created_at >= $4)
             AND ($5::timestamptz IS NULL OR created_at < $5)
             AND ($6::timestamptz IS NULL OR (created_at, send_id) < ($6, $7))
           ORDER BY created_at DESC, send_id DESC LIMIT $2"""
_SUMS = ", ".join(f"sum({name})::bigint AS {name}" for name in COUNTERS)


@dataclass(frozen=True, slots=True)
class Slice:
    """A leased part of a send's audience: the profiles in ``(lo, hi]`` (``hi`` None: to the end)."""

    project_id: uuid.UUID
    send_id: uuid.UUID
    slice_no: int
    lo: uuid.UUID
    hi: uuid.UUID | None
    #: Leased before (its worker died): what the message log holds of it was sent already.
    rerun: bool
    #: Which lease of the slice this is (``send_slices.leases``): with the owner, what proves it is still
    #: this holder's. Several slots of one worker share its owner name, and one of them may take over a
    #: slice whose lease lapsed while another slot was still at it.
    lease_no: int


@dataclass(frozen=True, slots=True)
class SendCounts:
    """A send's figures: sums over its slices."""

    counters: Mapping[str, int]

    @property
    def pending(self) -> int:
        return self.counters["planned"] - sum(self.counters[name] for name in FINAL)


_NO_COUNTS = SendCounts(dict.fromkeys(COUNTERS, 0))


async def take_lapsed(
    conn: asyncpg.Connection, project_id: uuid.UUID, send_id: uuid.UUID, owner: str, lease: timedelta
) -> Slice | None:
    """A slice of the send whose worker let its lease lapse (died), leased to ``owner`` again."""
    row = await conn.fetchrow(
        """UPDATE send_slices SET owner = $3, lease_until = now() + $4::interval, leases = leases + 1
           WHERE (project_id, send_id, slice_no) = (
               SELECT project_id, send_id, slice_no FROM send_slices
               WHERE project_id = $1 AND send_id = $2 AND state = 'leased' AND lease_until < now()
               LIMIT 1 FOR UPDATE SKIP LOCKED)
           RETURNING slice_no, lo, hi, leases""",
        project_id,
        send_id,
        owner,
        lease,
    )
    return None if row is None else Slice(project_id, send_id, row[0], row[1], row[2], True, row[3])


async def cut(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    send_id: uuid.UUID,
    owner: str,
    lease: timedelta,
    size: int,
) -> Slice | None:
    """Cut the send's next slice of ``size`` profiles and lease it to ``owner``; None when the audience is
    all cut or the send is not running. Call inside a transaction (the send row stays locked to its end);
    its statements get generic plans (:data:`~kernel.storage.database.GENERIC_PLANS`)."""
    await conn.execute(GENERIC_PLANS)
    send = await conn.fetchrow(
        """SELECT audience, plan_cursor, next_slice FROM sends
           WHERE project_id = $1 AND send_id = $2 AND state = 'running' AND planned_at IS NULL FOR UPDATE""",
        project_id,
        send_id,
    )
    if send is None:
        return None
    lo = send["plan_cursor"] or _NIL
    audience = send["audience"]
    keys = (project_id,) if audience == "all" else (project_id, send_id)
    bounds = await conn.fetch(_CUT[audience], *keys, lo, size)
    # The last slice goes to the end: a profile created meanwhile with a greater id is in it.
    hi = bounds[0][0] if len(bounds) == 2 else None
    slice_no = send["next_slice"]
    lease_no = await conn.fetchval(
        """INSERT INTO send_slices (project_id, send_id, slice_no, lo, hi, state, owner, lease_until)
           VALUES ($1, $2, $3, $4, $5, 'leased', $6, now() + $7::interval)
           RETURNING leases""",
        project_id,
        send_id,
        slice_no,
        lo,
        hi,
        owner,
        lease,
    )
    await conn.execute(
        """UPDATE sends SET plan_cursor = $3, next_slice = next_slice + 1,
                  planned_at = CASE WHEN $3::uuid IS NULL THEN clock_timestamp() END, updated_at = now()
           WHERE project_id = $1 AND send_id = $2""",
        project_id,
        send_id,
        hi,
    )
    if slice_no == 0:
        send_event("started", project_id, send_id, worker=owner)
    return Slice(project_id, send_id, slice_no, lo, hi, rerun=False, lease_no=lease_no)


async def read_out(
    conn: asyncpg.Connection, part: Slice, owner: str, channels: Sequence[str], audience: SliceAudience
) -> None:
    """Record what a slice's audience held (in total and per channel of ``channels``, the send's) as soon
    as it is read, before any of its outcomes: a send's figures add up at every moment (an outcome counted
    before its message is planned would make ``pending`` negative)."""
    async with conn.transaction():
        await _set_audience(conn, part, owner, channels, audience, done=False)


async def finish(
    conn: asyncpg.Connection, part: Slice, owner: str, channels: Sequence[str], audience: SliceAudience
) -> bool:
    """Record what a slice's audience held (as :func:`read_out`) and mark it done, if ``owner`` still holds
    it; then complete the send if that was the last of it. False when the lease was lost (another worker
    took the slice over).

    The audience figures are set, not added (here and by :func:`read_out`): a slice read again after a
    crash counts its audience afresh, and the messages sender_ext found repeated since are taken out.
    Outcomes were added as they were recorded (:func:`add_counts`), each with its messages' log rows.
    """
    async with conn.transaction():
        await conn.execute(GENERIC_PLANS)
        done = await _set_audience(conn, part, owner, channels, audience, done=True)
        if done:
            await complete_if_done(conn, part.project_id, part.send_id)
    return done


async def _set_audience(
    conn: asyncpg.Connection,
    part: Slice,
    owner: str,
    channels: Sequence[str],
    audience: SliceAudience,
    *,
    done: bool,
) -> bool:
    """Set the slice's audience figures, and its channels', if ``owner`` holds it (and mark it done when
    ``done``); False when the lease was lost."""
    finished = "state = 'done', lease_until = NULL, done_at = now()," if done else ""
    held = await conn.fetchval(
        f"""UPDATE send_slices SET {finished}
                   {", ".join(f"{name} = ${i + 6}" for i, name in enumerate(AUDIENCE))}
            WHERE {_HELD} RETURNING true""",
        *_holder(part, owner),
        *(getattr(audience, name) for name in AUDIENCE),
    )
    if held:
        await set_audiences(conn, part.project_id, part.send_id, part.slice_no, channels, audience)
    return bool(held)


async def renew(conn: asyncpg.Connection, part: Slice, owner: str, lease: timedelta) -> bool:
    """Extend the slice's lease, if this holder (``owner``, ``part.lease_no``) still has it: a slice being
    sent is never taken over for being slow. False when another took it over (its lease lapsed); the row
    stays locked to the transaction's end, so no take-over slips in before the caller's writes."""
    held = await conn.fetchval(
        f"UPDATE send_slices SET lease_until = now() + $6::interval WHERE {_HELD} RETURNING true",
        *_holder(part, owner),
        lease,
    )
    return bool(held)


#: The slice's row while ``owner`` holds this lease of it ($1 to $5: :func:`_holder`).
_HELD = (
    "project_id = $1 AND send_id = $2 AND slice_no = $3 AND state = 'leased' AND owner = $4 AND leases = $5"
)


def _holder(part: Slice, owner: str) -> tuple[uuid.UUID, uuid.UUID, int, str, int]:
    return part.project_id, part.send_id, part.slice_no, owner, part.lease_no


async def add_counts(
    conn: asyncpg.Connection, project_id: uuid.UUID, send_id: uuid.UUID, counts: OutcomeCounts
) -> None:
    """Add outcomes to the slices the messages came from, and to their channels' (in the transaction that
    logs them).

    The rows of several slices are locked first, in slice order: two batches of one send recorded at once
    (retries from several slices, taken by two workers) otherwise lock them in whatever order the update's
    plan reads them, and PostgreSQL breaks the deadlock by failing one batch. A batch of one slice (a
    slice's fresh messages) has one row to lock, in no particular order.
    """
    if not counts:
        return
    by_slice: dict[int, SliceCounts] = {}
    for (slice_no, _), of_channel in counts.items():
        total = by_slice.setdefault(slice_no, SliceCounts())
        for name in OUTCOMES:
            setattr(total, name, getattr(total, name) + getattr(of_channel, name))
    numbers = sorted(by_slice)
    if len(numbers) > 1:
        await conn.execute(
            """SELECT FROM send_slices WHERE project_id = $1 AND send_id = $2 AND slice_no = ANY($3::int[])
               ORDER BY slice_no FOR UPDATE""",
            project_id,
            send_id,
            numbers,
        )
    columns = [[getattr(by_slice[number], name) for number in numbers] for name in OUTCOMES]
    updates = ", ".join(f"{name} = s.{name} + c.{name}" for name in OUTCOMES)
    await conn.execute(
        f"""UPDATE send_slices s SET {updates}
            FROM unnest($3::int[], {", ".join(f"${i + 4}::int[]" for i in range(len(OUTCOMES)))})
                AS c(slice_no, {", ".join(OUTCOMES)})
            WHERE s.project_id = $1 AND s.send_id = $2 AND s.slice_no = c.slice_no""",
        project_id,
        send_id,
        numbers,
        *columns,
    )
    await add_outcomes(conn, project_id, send_id, counts)


async def complete_if_done(conn: asyncpg.Connection, project_id: uuid.UUID, send_id: uuid.UUID) -> bool:
    """Mark the send completed when its audience is cut, its slices done and nothing waits for a retry.

    The send row is locked first, by a statement of its own: two workers finishing the send's last two
    slices at once would otherwise each see the other's slice still leased (their statements' snapshots
    are taken before either commits), and neither would complete it. Until its audience is all cut, the
    send is not checked further (most slices finish before that): the cut that sets ``planned_at`` under
    the same lock leases a last slice, whose finish checks it. Call inside a transaction.
    """
    planned = await conn.fetchval(
        "SELECT planned_at IS NOT NULL FROM sends WHERE project_id = $1 AND send_id = $2 FOR UPDATE",
        project_id,
        send_id,
    )
    if not planned:
        return False
    done = await conn.fetchval(
        """UPDATE sends s SET state = 'completed', completed_at = now(), updated_at = now()
           WHERE s.project_id = $1 AND s.send_id = $2 AND s.state IN ('running', 'paused')
             AND s.planned_at IS NOT NULL
             AND NOT EXISTS (SELECT FROM send_slices l WHERE l.project_id = $1 AND l.send_id = $2
                             AND l.state = 'leased')
             AND NOT EXISTS (SELECT FROM message_retries r WHERE r.project_id = $1 AND r.send_id = $2)
           RETURNING true""",
        project_id,
        send_id,
    )
    if done:
        await log_send_event(conn, "completed", project_id, send_id)
    return bool(done)


async def cancel_waiting(conn: asyncpg.Connection, project_id: uuid.UUID, send_id: uuid.UUID) -> int:
    """The messages of a cancelled send still waiting for a retry become cancelled; returns how many.

    Run by CancelSend, and by workers for a message a batch in flight scheduled after the cancellation.
    """
    rows = await conn.fetch(
        """DELETE FROM message_retries WHERE project_id = $1 AND send_id = $2
           RETURNING slice_no, channel""",
        project_id,
        send_id,
    )
    counts: OutcomeCounts = {}
    for row in rows:
        counts.setdefault((row[0], row[1]), SliceCounts()).cancelled += 1
    await add_counts(conn, project_id, send_id, counts)
    return len(rows)


async def release(conn: asyncpg.Connection, owners: list[str]) -> int:
    """The slices and waiting messages of dead workers become available now; returns how many slices."""
    status = await conn.execute(
        """UPDATE send_slices SET lease_until = now() - interval '1 second'
           WHERE state = 'leased' AND owner = any($1::text[])""",
        owners,
    )
    await conn.execute(
        """UPDATE message_retries SET due_at = now(), owner = NULL
           WHERE owner = any($1::text[]) AND due_at > now()""",
        owners,
    )
    return int(status.split()[-1])


async def send_counts(
    conn: asyncpg.Connection | asyncpg.Pool, project_id: uuid.UUID, send_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, SendCounts]:
    """The figures of each send (zeros for a send with no slice yet)."""
    ids = list(send_ids)
    rows = await conn.fetch(
        f"""SELECT send_id, {_SUMS} FROM send_slices
            WHERE project_id = $1 AND send_id = any($2::uuid[]) GROUP BY send_id""",
        project_id,
        ids,
    )
    found = {row["send_id"]: SendCounts({name: row[name] for name in COUNTERS}) for row in rows}
    return {send_id: found.get(send_id, _NO_COUNTS) for send_id in ids}


async def log_send_event(
    conn: asyncpg.Connection, event: str, project_id: uuid.UUID, send_id: uuid.UUID
) -> None:
    """The send's life event, with its figures as they are now."""
    counts = await send_counts(conn, project_id, [send_id])
    send_event(event, project_id, send_id, counts[send_id])


async def pending_messages(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    """Messages of running and paused sends not yet final, every project (the queue depth)."""
    value = await conn.fetchval(
        f"""SELECT coalesce(sum(l.planned - {" - ".join(f"l.{name}" for name in FINAL)}), 0)
            FROM sends s JOIN send_slices l USING (project_id, send_id)
            WHERE s.state IN ('running', 'paused')"""
    )
    return int(value)


@dataclass(frozen=True, slots=True)
class Progress:
    """A running send's figures, for the metrics."""

    project_id: uuid.UUID
    send_id: uuid.UUID
    counts: SendCounts
    #: Seconds since the send was created.
    age: float


async def running_progress(conn: asyncpg.Connection | asyncpg.Pool) -> list[Progress]:
    """The figures of every running send, every project."""
    rows = await conn.fetch(
        f"""SELECT s.project_id, s.send_id, extract(epoch FROM now() - s.created_at)::float8 AS age,
                   {", ".join(f"coalesce(sum(l.{name}), 0)::bigint AS {name}" for name in COUNTERS)}
            FROM sends s LEFT JOIN send_slices l USING (project_id, send_id)
            WHERE s.state = 'running' GROUP BY s.project_id, s.send_id"""
    )
    return [
        Progress(row["project_id"], row["send_id"], SendCounts({n: row[n] for n in COUNTERS}), row["age"])
        for row in rows
    ]


async def sweep_cancelled(conn: asyncpg.Connection) -> int:
    """Messages a batch in flight scheduled for a retry after its send was cancelled become cancelled."""
    swept = 0
    for row in await conn.fetch(
        """SELECT DISTINCT r.project_id, r.send_id FROM message_retries r
           JOIN sends s USING (project_id, send_id) WHERE s.state = 'cancelled'"""
    ):
        async with conn.transaction():
            swept += await cancel_waiting(conn, row[0], row[1])
    return swept


@dataclass(frozen=True, slots=True)
class PaceBudget:
    """What a paced send may release now: ``count`` messages; nothing more before ``next_at``."""

    count: int
    next_at: float
    #: The wave's schedule start after this plan (moved forward after a pause or an outage).
    start: float


async def pace_budget(
    conn: asyncpg.Connection, project_id: uuid.UUID, send_id: uuid.UUID, now: float, limit: int
) -> PaceBudget:
    """Lock the send row (call in a transaction) and plan its wave at ``now``: at most ``limit``."""
    send = await conn.fetchrow(
        """SELECT pace_count, pace_seconds, pace_start, pace_released FROM sends
           WHERE project_id = $1 AND send_id = $2 AND state = 'running' FOR UPDATE""",
        project_id,
        send_id,
    )
    if send is None or send["pace_count"] is None:
        return PaceBudget(0, now, now)
    start = send["pace_start"]
    pacer = Pacer(Rate(send["pace_count"], send["pace_seconds"]), now if start is None else start)
    pace = pacer.plan(now, send["pace_released"])
    if pace.count == 0:
        return PaceBudget(0, pace.next_at, pacer.start)
    count = min(limit, pace.count)
    after = pacer.plan(now, send["pace_released"] + count)
    return PaceBudget(count, after.next_at if count == pace.count else now, pacer.start)


async def pace_released(
    conn: asyncpg.Connection, project_id: uuid.UUID, send_id: uuid.UUID, start: float | None, released: int
) -> None:
    """Count ``released`` more messages of the wave (negative: fewer went out than were reserved, a
    slice's profiles without an address to send to), and its schedule's start if ``start`` is given."""
    await conn.execute(
        """UPDATE sends SET pace_start = coalesce($3, pace_start), pace_released = pace_released + $4
           WHERE project_id = $1 AND send_id = $2""",
        project_id,
        send_id,
        start,
        released,
    )


async def complete_finished(conn: asyncpg.Connection) -> int:
    """Complete every running or paused send that is over but was not marked so (a worker died between
    its last outcome and the check); returns how many."""
    rows = await conn.fetch(
        """UPDATE sends s SET state = 'completed', completed_at = now(), updated_at = now()
           WHERE s.state IN ('running', 'paused') AND s.planned_at IS NOT NULL
             AND NOT EXISTS (SELECT FROM send_slices l WHERE l.project_id = s.project_id
                             AND l.send_id = s.send_id AND l.state = 'leased')
             AND NOT EXISTS (SELECT FROM message_retries r WHERE r.project_id = s.project_id
                             AND r.send_id = s.send_id)
           RETURNING s.project_id, s.send_id"""
    )
    for row in rows:
        await log_send_event(conn, "completed", row["project_id"], row["send_id"])
    return len(rows)


async def insert_send(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    send_id: uuid.UUID,
    definition: SendDefinition,
    audience: str,
) -> uuid.UUID | None:
    """Store a new send (``audience``: "list" or "segment", in send_audience; or "all");
    None, and nothing stored, when its request id names a send of the project already."""
    rate = definition.rate
    return await conn.fetchval(
        """INSERT INTO sends (project_id, send_id, client_key, name, purpose, channels, spec, state,
                              audience, pace_count, pace_seconds)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (project_id, client_key) WHERE client_key IS NOT NULL DO NOTHING
           RETURNING send_id""",
        project_id,
        send_id,
        definition.request_id,
        definition.name,
        definition.purpose,
        [spec.name for spec in definition.channels],
        spec_of(definition),
        "paused" if definition.start_paused else "running",
        audience,
        rate.count if rate else None,
        rate.per if rate else None,
    )


async def set_unknown_profiles(
    conn: asyncpg.Connection, project_id: uuid.UUID, send_id: uuid.UUID, unknown: int
) -> None:
    await conn.execute(
        "UPDATE sends SET unknown_profiles = $3 WHERE project_id = $1 AND send_id = $2",
        project_id,
        send_id,
        unknown,
    )


async def send_row(
    conn: asyncpg.Connection | asyncpg.Pool, project_id: uuid.UUID, send_id: uuid.UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM sends WHERE project_id = $1 AND send_id = $2", project_id, send_id
    )


async def send_row_of_request(
    conn: asyncpg.Connection, project_id: uuid.UUID, request_id: str | None
) -> asyncpg.Record | None:
    """The send a CreateSend with this request id created."""
    return await conn.fetchrow(
        "SELECT * FROM sends WHERE project_id = $1 AND client_key = $2", project_id, request_id
    )


async def send_page(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    limit: int,
    states: list[str],
    after: datetime | None,
    before: datetime | None,
    position: tuple[datetime, uuid.UUID] | None,
) -> list[asyncpg.Record]:
    """Sends newest first: in ``states`` (all if empty), created in ``[after, before)``, past ``position``
    (created_at, send_id) of the previous page."""
    created_at, send_id = position or (None, None)
    return await conn.fetch(_PAGE, project_id, limit, states, after, before, created_at, send_id)


async def send_channels(
    conn: asyncpg.Connection | asyncpg.Pool, project_id: uuid.UUID, send_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    """The channels of each of ``send_ids`` that is a send of the project."""
    rows = await conn.fetch(
        "SELECT send_id, channels FROM sends WHERE project_id = $1 AND send_id = any($2::uuid[])",
        project_id,
        list(send_ids),
    )
    return {row["send_id"]: row["channels"] for row in rows}


async def send_state(conn: asyncpg.Connection, project_id: uuid.UUID, send_id: uuid.UUID) -> str | None:
    return await conn.fetchval(
        "SELECT state FROM sends WHERE project_id = $1 AND send_id = $2", project_id, send_id
    )


async def lock_state(conn: asyncpg.Connection, project_id: uuid.UUID, send_id: uuid.UUID) -> str | None:
    """The send's state, its row locked to the end of the transaction (None: no such send)."""
    return await conn.fetchval(
        "SELECT state FROM sends WHERE project_id = $1 AND send_id = $2 FOR UPDATE", project_id, send_id
    )


async def set_state(conn: asyncpg.Connection, project_id: uuid.UUID, send_id: uuid.UUID, state: str) -> None:
    """Pause or resume (cancelling goes through :func:`cancel`)."""
    await conn.execute(
        "UPDATE sends SET state = $3, updated_at = now() WHERE project_id = $1 AND send_id = $2",
        project_id,
        send_id,
        state,
    )


async def cancel(conn: asyncpg.Connection, project_id: uuid.UUID, send_id: uuid.UUID) -> None:
    """The send becomes cancelled, and so do its messages waiting for a retry."""
    await conn.execute(
        """UPDATE sends SET state = 'cancelled', completed_at = now(), updated_at = now()
           WHERE project_id = $1 AND send_id = $2""",
        project_id,
        send_id,
    )
    await cancel_waiting(conn, project_id, send_id)


async def running_sends(conn: asyncpg.Connection | asyncpg.Pool) -> list[asyncpg.Record]:
    """What a worker needs of each running send: project_id, send_id, spec, audience, paced."""
    return await conn.fetch(
        """SELECT project_id, send_id, spec, audience, pace_count IS NOT NULL AS paced FROM sends
           WHERE state = 'running'"""
    )


async def unconverted_sends(conn: asyncpg.Connection | asyncpg.Pool) -> list[asyncpg.Record]:
    """Sends stored before their definition had its own form (kernel.delivery.send_spec_upgrade)."""
    return await conn.fetch(
        """SELECT project_id, send_id, client_key, name, purpose, channels, definition, pace_count,
                  pace_seconds
           FROM sends WHERE spec IS NULL"""
    )


async def store_spec(
    conn: asyncpg.Connection | asyncpg.Pool, project_id: uuid.UUID, send_id: uuid.UUID, spec: dict[str, Any]
) -> None:
    """Give a send stored before its spec; the request it was kept as goes (once only, whoever is first)."""
    await conn.execute(
        """UPDATE sends SET spec = $3, definition = NULL
           WHERE project_id = $1 AND send_id = $2 AND spec IS NULL""",
        project_id,
        send_id,
        spec,
    )
