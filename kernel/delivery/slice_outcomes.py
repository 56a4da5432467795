"""What became of a batch of bulk messages, and its record: log rows, waiting rows and counts together.

A batch is either the fresh messages of a slice or messages that waited in ``message_retries``. Its
outcome is recorded per provider batch, as soon as the provider answered, so that a worker killed in the
middle of a slice leaves to the next only the provider batches it had in flight:

- attempted messages whose outcome is final (sent, failed, expired) are appended to the message log;
- messages to try later (a temporary failure, a throttle's, a rate's or a pause's deferral) wait in
  ``message_retries``: inserted for fresh messages, updated for waiting ones (final ones leave it);
- the slices' counters get the outcomes, per channel too (:func:`kernel.delivery.slices.add_counts`);
- dead addresses are pruned and unsubscribes suppressed (:mod:`kernel.delivery.outcomes`).

A cancelled send's messages do not wait: a retry or a deferral of one becomes ``cancelled``.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any, NamedTuple

import asyncpg

from kernel.channels import ChannelSpec
from kernel.delivery.outcomes import Attempt, apply_consequences
from kernel.delivery.slice_counts import OutcomeCounts, SliceCounts
from kernel.delivery.slices import Slice, add_counts, renew, send_state
from kernel.storage.database import GENERIC_PLANS


class Pending(NamedTuple):
    """A message on its way: fresh from a slice, or taken from ``message_retries``."""

    #: In text form, as providers get it.
    message_id: str
    profile_id: uuid.UUID
    #: The channel's position in the send's channels.
    channel: int
    address: str
    #: What tells two messages of a batch apart: a slice's folded address (its adjacent repeats are one
    #: message), a waiting message's id.
    key: str
    details: object
    #: The recipient's values as the personalisers read them (profile_id, custom_id, v0, ...).
    values: Any
    slice_no: int
    #: Attempts made before this one.
    attempts: int = 0
    #: Seconds since the first attempt (0 for a fresh message).
    age: float = 0.0
    #: When the first attempt was made (None: this is the first).
    first_attempt_at: datetime | None = None


class Logged(NamedTuple):
    """An attempted message whose outcome is final: a row of the message log."""

    message: Pending
    channel: str
    outcome: str
    reason: str = ""
    provider_id: str = ""
    #: This batch tried it (False: it expired before another attempt).
    attempted: bool = True


class Waiting(NamedTuple):
    """A message to try again ``delay`` seconds from now; ``attempted``: this batch tried it."""

    message: Pending
    delay: float
    attempted: bool
    detail: str = ""
    #: The counter a wait not attempted adds to ("" for none; attempted ones add to ``retries``).
    counted: str = ""


#: What a log row counts for: its slice, channel and outcome.
_LOGGED_KEY = attrgetter("message.slice_no", "channel", "outcome")


@dataclass(slots=True)
class BatchOutcome:
    logged: list[Logged] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)
    #: Messages that leave ``message_retries`` without an attempt (their send was cancelled).
    cancelled: list[Pending] = field(default_factory=list)
    #: Failures with consequences (dead address, unsubscribed), with their channel.
    consequences: list[tuple[ChannelSpec, Attempt]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.logged or self.waiting or self.cancelled)

    def counts(self, channels: list[str], *, cancelled_send: bool) -> OutcomeCounts:
        """The outcomes by slice and channel (``channels``: the send's, by position)."""
        counted: OutcomeCounts = defaultdict(SliceCounts)
        # Tallied first: a provider batch's thousands of rows fall on one slice, channel and outcome.
        for (slice_no, channel, outcome), number in Counter(map(_LOGGED_KEY, self.logged)).items():
            counts = counted[slice_no, channel]
            setattr(counts, outcome, getattr(counts, outcome) + number)
        for row in self.waiting:
            counts = counted[row.message.slice_no, channels[row.message.channel]]
            if cancelled_send:
                counts.cancelled += 1
            elif row.attempted:
                counts.retries += 1
            elif row.counted:
                setattr(counts, row.counted, getattr(counts, row.counted) + 1)
        for message in self.cancelled:
            counted[message.slice_no, channels[message.channel]].cancelled += 1
        return counted


#: Without ``logged_at``: its volatile default has PostgreSQL insert the rows one by one, which costs it less
#: than COPY's buffering of them (migration 0058 says why).
_LOG_COLUMNS = (
    "project_id",
    "message_id",
    "send_id",
    "profile_id",
    "channel",
    "address",
    "outcome",
    "reason",
    "provider_id",
    "attempts",
)


async def record(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    send_id: uuid.UUID,
    channels: list[str],
    outcome: BatchOutcome,
    *,
    from_retries: bool,
    owner: str,
    held: tuple[Slice, timedelta] | None = None,
) -> bool:
    """Store ``outcome`` (see the module's docstring); ``from_retries``: its messages wait in
    ``message_retries`` (leased by ``owner``) rather than come fresh from a slice. ``held``: the slice
    they come from, leased by ``owner``, and its lease's length: the lease is extended, or, if another
    took the slice over meanwhile, nothing is stored (False): the new holder sends them and counts them.
    Every statement is keyed by the send, its slices and messages: they get generic plans."""
    if not outcome:
        return True
    async with conn.transaction():
        await conn.execute(GENERIC_PLANS)
        if held is not None and not await renew(conn, held[0], owner, held[1]):
            return False
        # Only a message to try later fares otherwise in a cancelled send: the state is read for those.
        cancelled = bool(outcome.waiting) and await send_state(conn, project_id, send_id) == "cancelled"
        if outcome.logged:
            await conn.copy_records_to_table(
                "message_log",
                columns=_LOG_COLUMNS,
                records=[
                    (
                        project_id,
                        row.message.message_id,
                        send_id,
                        row.message.profile_id,
                        row.channel,
                        row.message.address,
                        row.outcome,
                        row.reason,
                        row.provider_id,
                        row.message.attempts + row.attempted,
                    )
                    for row in outcome.logged
                ],
            )
        if from_retries:
            await _settle_waiting(conn, project_id, send_id, outcome, cancelled, owner)
        elif outcome.waiting and not cancelled:
            await _wait(conn, project_id, send_id, channels, outcome.waiting)
        await add_counts(conn, project_id, send_id, outcome.counts(channels, cancelled_send=cancelled))
        for spec, attempt in outcome.consequences:
            await apply_consequences(conn, project_id, spec, [attempt])
    return True


async def _wait(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    send_id: uuid.UUID,
    channels: list[str],
    rows: list[Waiting],
) -> None:
    now = datetime.now(UTC)
    await conn.copy_records_to_table(
        "message_retries",
        columns=(
            "project_id",
            "send_id",
            "message_id",
            "slice_no",
            "profile_id",
            "channel",
            "address",
            "attempts",
            "first_attempt_at",
            "due_at",
            "detail",
        ),
        records=[
            (
                project_id,
                send_id,
                row.message.message_id,
                row.message.slice_no,
                row.message.profile_id,
                channels[row.message.channel],
                row.message.address,
                row.message.attempts + row.attempted,
                now if row.attempted else None,
                now + timedelta(seconds=row.delay),
                row.detail[:1000],
            )
            for row in rows
        ],
    )


async def _settle_waiting(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    send_id: uuid.UUID,
    outcome: BatchOutcome,
    cancelled: bool,
    owner: str,
) -> None:
    """Messages taken from ``message_retries``: final ones leave it, the others wait again."""
    gone = [row.message.message_id for row in outcome.logged] + [m.message_id for m in outcome.cancelled]
    if cancelled:
        gone += [row.message.message_id for row in outcome.waiting]
    if gone:
        await conn.execute(
            """DELETE FROM message_retries
               WHERE project_id = $1 AND send_id = $2 AND message_id = any($3::uuid[]) AND owner = $4""",
            project_id,
            send_id,
            gone,
            owner,
        )
    if outcome.waiting and not cancelled:
        await conn.execute(
            """UPDATE message_retries r SET due_at = now() + make_interval(secs => w.delay),
                      attempts = r.attempts + w.attempted::int, detail = w.detail, owner = NULL,
                      first_attempt_at = coalesce(r.first_attempt_at, CASE WHEN w.attempted THEN now() END)
               FROM unnest($3::uuid[], $4::float8[], $5::bool[], $6::text[])
                   AS w(message_id, delay, attempted, detail)
               WHERE r.project_id = $1 AND r.send_id = $2 AND r.message_id = w.message_id AND r.owner = $7""",
            project_id,
            send_id,
            [row.message.message_id for row in outcome.waiting],
            [row.delay for row in outcome.waiting],
            [row.attempted for row in outcome.waiting],
            [row.detail[:1000] for row in outcome.waiting],
            owner,
        )
