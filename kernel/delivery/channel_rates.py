"""A channel's default rate, enforced: the messages per second its provider tolerates from one account.

A channel that declares ``Capabilities.default_rate_per_second`` gets, per project (one provider account
per project's configuration), a token bucket in the database that every sender worker and every
SendTransactional call, in any kernel, draws from before handing a batch to the provider. One statement
per provider batch, none per message; channels without a declared rate never touch it. The bucket holds at
most one second's worth (at least one message), so a burst cannot exceed the rate much.

What a draw is refused is not lost: the caller puts those messages back with the delay after which the
bucket will have refilled for them, each one interval after the one before.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from kernel.channels import ChannelSpec
from kernel.delivery.results import BatchOutcome

# $3 now, $4 messages asked for, $5 the bucket's size, $6 the rate. In the update every expression reads
# the row as it was, so the grant and the tokens left are computed from the same refill.
_AVAILABLE = "least($5, b.tokens + greatest(0, $3 - b.refilled_at) * $6)"
_DRAW = f"""
INSERT INTO channel_rate_budgets AS b (project_id, channel, tokens, refilled_at, granted)
VALUES ($1, $2, $5 - least($4, floor($5)), $3, least($4, floor($5)))
ON CONFLICT (project_id, channel) DO UPDATE SET
    granted = least($4, floor({_AVAILABLE})),
    tokens = {_AVAILABLE} - least($4, floor({_AVAILABLE})),
    refilled_at = greatest(b.refilled_at, $3)
RETURNING granted, tokens"""


@dataclass(frozen=True, slots=True)
class Draw:
    """How many of the messages asked for may go now; the others wait ``delay(k)`` (the k-th of them)."""

    granted: int
    #: Tokens left after the draw (less than one when some messages were refused).
    tokens: float
    rate: float

    def delay(self, waiting: int) -> float:
        """Seconds until the ``waiting``-th refused message (0 for the first) may go."""
        return (waiting + 1 - self.tokens) / self.rate


def rate_of(spec: ChannelSpec) -> float | None:
    """The rate the kernel enforces on ``spec``: its declared default, None when it declares none."""
    return spec.capabilities.default_rate_per_second


async def draw(pool: asyncpg.Pool, project_id: uuid.UUID, spec: ChannelSpec, count: int, now: float) -> Draw:
    """Take up to ``count`` messages from the project's budget of ``spec`` (which must declare a rate)."""
    rate = rate_of(spec)
    if rate is None:
        raise ValueError(f"{spec.name} declares no default rate")
    row = await pool.fetchrow(_DRAW, project_id, spec.name, now, count, max(1.0, rate), rate)
    return Draw(row["granted"], row["tokens"], rate)


async def hold_back(
    pool: asyncpg.Pool,
    project_id: uuid.UUID,
    spec: ChannelSpec,
    message_ids: Sequence[uuid.UUID],
    outcome: BatchOutcome,
    now: float,
    *,
    status: str,
) -> int:
    """How many of ``message_ids`` (the first ones) may go now on ``spec``; the others are added to
    ``outcome`` as ``status`` (``planned`` in a bulk send, ``retry`` for a transactional message, which
    keeps its content so), unattempted, due when the budget will have refilled for them."""
    drawn = await draw(pool, project_id, spec, len(message_ids), now)
    for waiting, message_id in enumerate(message_ids[drawn.granted :]):
        outcome.add(message_id, status, attempted=False, detail="channel rate", delay=drawn.delay(waiting))
    return drawn.granted
