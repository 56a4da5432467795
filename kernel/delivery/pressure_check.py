"""A batch of a marketing send judged by its project's pressure rules (:mod:`kernel.engage.pressure`)
before anything of it goes out: the messages the rules keep are logged with their reason (capped,
grace_period, quiet_hours_dropped) or wait in ``message_retries`` until quiet hours end, counted as
quiet_hours_delayed; the others are counted against their profiles and go on."""

from __future__ import annotations

import asyncpg

from kernel.delivery.send_runtime import SendRuntime
from kernel.delivery.slice_outcomes import BatchOutcome, Logged, Pending, Waiting
from kernel.engage.pressure.store import ProjectPressure
from kernel.engage.pressure.touches import Candidate, judge_batch
from kernel.engage.pressure.verdicts import Reason


async def under_pressure(
    pool: asyncpg.Pool,
    runtime: SendRuntime,
    pressure: ProjectPressure,
    messages: list[Pending],
    held: BatchOutcome,
) -> list[Pending]:
    """The messages the rules of the send's project let go now; the others are added to ``held``."""
    labels = [runtime.definition.templates[name].message.campaign for name in runtime.names]
    candidates = [
        Candidate(m.message_id, m.profile_id, runtime.names[m.channel], labels[m.channel]) for m in messages
    ]
    async with pool.acquire() as conn:
        now, verdicts = await judge_batch(conn, runtime.project_id, pressure.rules, pressure.zone, candidates)
    going: list[Pending] = []
    for message, verdict, candidate in zip(messages, verdicts, candidates, strict=True):
        if verdict.reason is None:
            going.append(message)
        elif verdict.reason is Reason.QUIET_HOURS_DELAYED:
            assert verdict.until is not None
            delay = (verdict.until - now).total_seconds()
            held.waiting.append(
                Waiting(message, delay, attempted=False, detail="quiet hours", counted=verdict.reason.value)
            )
        else:
            held.logged.append(Logged(message, candidate.channel, verdict.reason.value, attempted=False))
    return going
