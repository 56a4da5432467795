"""PostgreSQL's CPU per message in each step of a bulk send, as the sender workers run it.

    .venv/bin/python benchmarks/send_cost_bench.py [--profiles 1000000] [--slice 2000] [--channel-priority]
        [--pressure]

campaign_bench times the whole pipeline; this one says where PostgreSQL's share of it goes. Starts
``herald serve`` with no sender worker, seeds the profiles and creates the send of campaign_bench (over
gRPC), then runs Herald's own statements from this process on one connection set up as the kernel's, one
after the other, reading that connection's PostgreSQL backend's CPU time before and after each, for every
slice of the send: the cut of the slice (``kernel.delivery.slices.cut``), the read of its audience with the
recipients' attributes (``slice_messages``), the record of its provider batch's outcome, every message
accepted (``slice_outcomes.record``: the message log's COPY and the slice's counters), and the slice's
finish. The budget is the CPU a message may use, all processes together, at ``--target`` messages/s on
this machine's cores. Beside it, the worker's own CPU per message in each step (this process, e.g. the
judging of the audience's rows in ``read``). ``--channel-priority`` creates the send with it (one channel
per profile). ``--share F`` restricts the send to the profiles whose A/B hash falls in [0, F), as a
campaign's A/B test part is (the spec's ``audience_share``, which only campaigns write). ``--pressure``
gives the project marketing pressure rules (a cap of 5 a day, 5 a week per label, a grace period of a
minute, quiet hours that do not hold now, so that every message is judged on every rule and sent) and
times their judging of each slice's messages (``pressure``: the per-profile locks, the read of their
touches and zones, the record of the new ones). The last line is the JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Awaitable
from datetime import time as dt_time
from datetime import timedelta
from typing import Any, TypeVar

import asyncpg
import grpc
import psutil
from campaign_bench import bulk_email, configure, seed
from herald_process import Kernel, herald_kernel

from herald.v1 import messages_pb2_grpc
from kernel.delivery import slices
from kernel.delivery.send_runtime import SendRuntime, send_runtime
from kernel.delivery.slice_outcomes import BatchOutcome, Logged, Pending, record
from kernel.delivery.slice_work import slice_messages
from kernel.engage.pressure import Cap, Period, PressureRules, QuietAction, QuietHours
from kernel.engage.pressure.store import ProjectPressure, rules_of, write_rules
from kernel.engage.pressure.touches import Candidate, judge_batch
from kernel.plugins import ChannelManager
from kernel.server import tune_garbage_collector
from kernel.storage.database import create_pool

OWNER = "send-cost-bench"
LEASE = timedelta(minutes=10)
T = TypeVar("T")


class BackendClock:
    """CPU seconds of one PostgreSQL backend, and of this process (the worker's side), summed per step."""

    def __init__(self, pid: int) -> None:
        self._backend = psutil.Process(pid)
        self.seconds: dict[str, float] = {}
        self.worker_seconds: dict[str, float] = {}

    def _cpu(self) -> float:
        times = self._backend.cpu_times()
        return times.user + times.system

    async def timed(self, step: str, work: Awaitable[T]) -> T:
        """Await ``work`` (a coroutine runs only when awaited) and add the backend's CPU to ``step``."""
        began, worker_began = self._cpu(), time.process_time()
        result = await work
        self.seconds[step] = self.seconds.get(step, 0.0) + self._cpu() - began
        self.worker_seconds[step] = self.worker_seconds.get(step, 0.0) + time.process_time() - worker_began
        return result


async def create_send(
    kernel: Kernel,
    channels: ChannelManager,
    conn: asyncpg.Connection,
    *,
    channel_priority: bool,
    share: float | None,
) -> SendRuntime:
    request = bulk_email("send cost")
    request.channel_priority = channel_priority
    async with grpc.aio.insecure_channel(kernel.address) as channel:
        stub = messages_pb2_grpc.MessageServiceStub(channel)
        await stub.CreateSend(request, metadata=kernel.auth)
    if share is not None:
        await conn.execute(
            "UPDATE sends SET spec = spec || jsonb_build_object('audience_share', $1::jsonb)",
            {"seed": "bench:", "lo": 0.0, "hi": share},
        )
    row = await conn.fetchrow(
        "SELECT project_id, send_id, spec, audience, false AS paced FROM sends ORDER BY created_at DESC"
    )
    runtime = send_runtime(row, channels)
    assert runtime is not None
    return runtime


async def cut(conn: asyncpg.Connection, runtime: SendRuntime, size: int) -> slices.Slice | None:
    async with conn.transaction():
        return await slices.cut(conn, runtime.project_id, runtime.send_id, OWNER, LEASE, size)


async def send_every_slice(
    conn: asyncpg.Connection, clock: BackendClock, runtime: SendRuntime, size: int
) -> int:
    """Cut, read, record as accepted and finish every slice, as a worker does; returns the messages."""
    total = 0
    while part := await clock.timed("cut", cut(conn, runtime, size)):
        found = await clock.timed("read", slice_messages(conn, runtime, part))
        total += len(found.pending)
        if runtime.pressure is not None:
            await clock.timed("pressure", judged(conn, runtime, runtime.pressure, found.pending))
        outcome = BatchOutcome(
            logged=[
                Logged(message, runtime.names[0], "sent", provider_id=f"t-{part.slice_no}")
                for message in found.pending
            ]
        )
        await clock.timed(
            "record",
            record(
                conn,
                runtime.project_id,
                runtime.send_id,
                runtime.names,
                outcome,
                from_retries=False,
                owner=OWNER,
            ),
        )
        await clock.timed("finish", slices.finish(conn, part, OWNER, runtime.names, found.audience))
    return total


async def judged(
    conn: asyncpg.Connection, runtime: SendRuntime, pressure: ProjectPressure, pending: list[Pending]
) -> None:
    """The slice's messages judged by the rules, as the pipeline has them judged before sending."""
    label = runtime.definition.templates[runtime.names[0]].message.campaign
    candidates = [Candidate(m.message_id, m.profile_id, runtime.names[0], label) for m in pending]
    _, verdicts = await judge_batch(conn, runtime.project_id, pressure.rules, pressure.zone, candidates)
    assert all(verdict.reason is None for verdict in verdicts)


async def with_pressure(conn: asyncpg.Connection, runtime: SendRuntime) -> None:
    """Rules that judge every message on every rule and let it go (quiet hours 12 hours away)."""
    hour = time.gmtime().tm_hour
    quiet = QuietHours(dt_time((hour + 11) % 24), dt_time((hour + 13) % 24), QuietAction.DELAY)
    caps = (Cap(5, Period.DAY), Cap(5, Period.WEEK, label="bench"))
    await write_rules(conn, runtime.project_id, PressureRules(caps, timedelta(minutes=1), quiet))
    runtime.pressure = (await rules_of(conn, [runtime.project_id]))[runtime.project_id]


async def run(
    profiles: int,
    size: int,
    target: int,
    channel_priority: bool,
    share: float | None,
    pressure: bool,
) -> dict[str, Any]:
    settings = {
        "worker_count": "0",
        "metrics_address": "127.0.0.1:0",
        "channel_endpoints": json.dumps({"email.sparkpost": "http://127.0.0.1:9"}),
    }
    with herald_kernel(**settings) as kernel:
        await configure(kernel)
        print(f"seeding {profiles:,} profiles ...", flush=True)
        await seed(kernel.dsn, 0, profiles)
        pool = await create_pool(kernel.dsn, min_size=1, max_size=1)  # set up as the kernel's are
        try:
            async with pool.acquire() as conn:
                clock = BackendClock(await conn.fetchval("SELECT pg_backend_pid()"))
                runtime = await create_send(
                    kernel, ChannelManager(), conn, channel_priority=channel_priority, share=share
                )
                if pressure:
                    await with_pressure(conn, runtime)
                tune_garbage_collector()  # as the kernel's processes, whose work this process does
                began = time.perf_counter()
                messages = await send_every_slice(conn, clock, runtime, size)
                elapsed = time.perf_counter() - began
        finally:
            await pool.close()
    per_message = {step: round(seconds / messages * 1e6, 2) for step, seconds in clock.seconds.items()}
    worker = {step: round(seconds / messages * 1e6, 2) for step, seconds in clock.worker_seconds.items()}
    cores = os.cpu_count() or 1
    return {
        "benchmark": "send_cost",
        "messages": messages,
        "slice": size,
        "channel_priority": channel_priority,
        "share": share,
        "pressure": pressure,
        **{f"{step}_us": value for step, value in per_message.items()},
        **{f"{step}_worker_us": value for step, value in worker.items()},
        "statements_us": round(sum(per_message.values()), 2),
        "target_rps": target,
        "cores": cores,
        "budget_us": round(cores / target * 1e6, 2),
        "seconds": round(elapsed, 1),
    }


def report(summary: dict[str, Any]) -> None:
    print(f"{summary['messages']:,} messages, PostgreSQL backend CPU per message (and the worker's):")
    for step in ("cut", "read", "pressure", "record", "finish"):
        if step + "_us" not in summary:
            continue
        print(f"  {step:<8} {summary[step + '_us']:7.2f} us  ({summary[step + '_worker_us']:.2f} us)")
    print(
        f"  together {summary['statements_us']:7.2f} us; budget of every process at "
        f"{summary['target_rps']:,}/s on {summary['cores']} cores: {summary['budget_us']:.2f} us"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--slice", type=int, default=2000, help="profiles per slice (the bench's workers')")
    parser.add_argument("--target", type=int, default=50_000, help="messages/s the budget is given for")
    parser.add_argument("--channel-priority", action="store_true", help="one channel per profile")
    parser.add_argument("--share", type=float, help="only the profiles whose A/B hash is in [0, SHARE)")
    parser.add_argument("--pressure", action="store_true", help="marketing pressure rules in the project")
    args = parser.parse_args()
    summary = asyncio.run(
        run(args.profiles, args.slice, args.target, args.channel_priority, args.share, args.pressure)
    )
    report(summary)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
