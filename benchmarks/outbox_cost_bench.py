"""PostgreSQL's CPU per message in each step of a bulk send, beside the cheapest write of the same rows.

    .venv/bin/python benchmarks/outbox_cost_bench.py [--profiles 1000000]

campaign_bench times the whole pipeline; this one says where PostgreSQL's share of it goes, and what a
message costs PostgreSQL at the least for the outbox the sender keeps (a row written with its indexes,
then leased, then marked sent): the floor against which a throughput target on this machine is judged.

Starts ``herald serve`` with no sender worker, seeds the profiles and creates the send of campaign_bench
(over gRPC), then runs Herald's own statements from this process on one connection set up as the kernel's
(with JIT on, PostgreSQL compiled the claim at 1,000,000 messages: 14 instead of 8 us a message), one
after the other, reading that connection's PostgreSQL backend's CPU time before and after each: the
outbox filler chunk by chunk, then, for each batch, the worker's claim, its read of the profiles'
attributes and the record of its outcome (every message accepted). The floor writes the same rows once
more, for a second send, by binary COPY into the same table (every index of the outbox, none of the
audience's logic). The budget is the CPU a message may use, all processes together, at ``--target``
messages/s on this machine's cores.
The last line is the JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any, TypeVar

import asyncpg
import grpc
import psutil
from campaign_bench import bulk_email, configure, seed
from herald_process import Kernel, herald_kernel

from herald.v1 import messages_pb2_grpc
from kernel.delivery.outbox import OutboxFiller
from kernel.delivery.results import BatchOutcome, record
from kernel.delivery.send_definition import parse_send, read_definition
from kernel.delivery.send_ids import new_send_id
from kernel.delivery.worker import SendRuntime, send_runtime
from kernel.plugins import ChannelManager
from kernel.settings import Settings
from kernel.storage.database import create_pool

OWNER = "outbox-cost-bench"
LEASE = timedelta(minutes=10)
T = TypeVar("T")


class BackendClock:
    """CPU seconds of one PostgreSQL backend, summed per step."""

    def __init__(self, pid: int) -> None:
        self._backend = psutil.Process(pid)
        self.seconds: dict[str, float] = {}

    def _cpu(self) -> float:
        times = self._backend.cpu_times()
        return times.user + times.system

    async def timed(self, step: str, work: Awaitable[T]) -> T:
        """Await ``work`` (a coroutine runs only when awaited) and add the backend's CPU to ``step``."""
        began = self._cpu()
        result = await work
        self.seconds[step] = self.seconds.get(step, 0.0) + self._cpu() - began
        return result


async def create_send(kernel: Kernel) -> None:
    async with grpc.aio.insecure_channel(kernel.address) as channel:
        stub = messages_pb2_grpc.MessageServiceStub(channel)
        await stub.CreateSend(bulk_email("outbox cost"), metadata=kernel.auth)


async def fill(pool: asyncpg.Pool, clock: BackendClock, channels: ChannelManager) -> SendRuntime:
    """The send's whole outbox, as a worker's filler writes it; the send as a worker then keeps it."""
    filler = OutboxFiller(pool, OWNER, Settings().outbox_chunk_size, LEASE)
    job = await filler.take()
    assert job is not None, "the send was not created"
    definition = parse_send(read_definition(job.definition), channels, "")
    while not await clock.timed("fill", filler.fill_chunk(job, definition)):
        pass
    runtime = send_runtime(
        {"project_id": job.project_id, "send_id": job.send_id, "definition": job.definition, "paced": False},
        channels,
    )
    assert runtime is not None
    return runtime


async def send_every_batch(
    conn: asyncpg.Connection, clock: BackendClock, runtime: SendRuntime, batch: int
) -> int:
    """Claim, read the attributes of and record as accepted every batch, as a worker does; returns the
    number of messages."""
    project_id, send_id, queries = runtime.project_id, runtime.send_id, runtime.queries
    cursor = total = 0
    while rows := await clock.timed(
        "claim", queries.first_attempts(conn, project_id, send_id, cursor, batch, OWNER, LEASE)
    ):
        cursor = max(row["seq"] for row in rows)
        total += len(rows)
        profile_ids = list({row["profile_id"] for row in rows})
        await clock.timed("attributes", queries.recipients(conn, project_id, profile_ids))
        outcome = BatchOutcome()
        outcome.sent([row["message_id"] for row in rows], [f"transmission-{cursor}"] * len(rows))
        await clock.timed("outcome", record(conn, project_id, send_id, OWNER, outcome, paced=False))
    return total


async def copy_floor(conn: asyncpg.Connection, clock: BackendClock, runtime: SendRuntime) -> int:
    """The same rows, for another send, by binary COPY in chunks of the filler's size; returns the count."""
    # The ids are made by bulk_message_id, the SQL function the filler uses, for positions 1, 2, ...
    send_id = new_send_id()
    rows = await conn.fetch(
        """SELECT project_id, bulk_message_id($3, seq), $3::uuid, profile_id, channel, address, 'planned', seq
           FROM (SELECT project_id, profile_id, channel, address,
                        row_number() OVER (ORDER BY message_id) AS seq
                 FROM messages WHERE project_id = $1 AND send_id IS NOT DISTINCT FROM $2) AS m
           ORDER BY seq""",
        runtime.project_id,
        runtime.send_id,
        send_id,
    )
    records = [tuple(row) for row in rows]
    columns = ["project_id", "message_id", "send_id", "profile_id", "channel", "address", "status", "seq"]
    chunk = Settings().outbox_chunk_size

    async def write(part: list[tuple[Any, ...]]) -> None:
        async with conn.transaction():
            await conn.execute("SET LOCAL synchronous_commit = off")  # as the filler commits
            await conn.copy_records_to_table("messages", records=part, columns=columns)

    for start in range(0, len(records), chunk):
        await clock.timed("copy_floor", write(records[start : start + chunk]))
    return len(records)


async def run(profiles: int, batch: int, target: int) -> dict[str, Any]:
    settings = {
        "worker_count": "0",
        "metrics_address": "127.0.0.1:0",
        "channel_endpoints": json.dumps({"email.sparkpost": "http://127.0.0.1:9"}),
    }
    with herald_kernel(**settings) as kernel:
        await configure(kernel)
        print(f"seeding {profiles:,} profiles ...", flush=True)
        await seed(kernel.dsn, 0, profiles)
        await create_send(kernel)
        channels = ChannelManager()
        pool = await create_pool(kernel.dsn, min_size=1, max_size=1)  # set up as the kernel's are
        try:
            async with pool.acquire() as conn:
                clock = BackendClock(await conn.fetchval("SELECT pg_backend_pid()"))
            began = time.perf_counter()
            runtime = await fill(pool, clock, channels)
            async with pool.acquire() as conn:
                messages = await send_every_batch(conn, clock, runtime, batch)
                assert await copy_floor(conn, clock, runtime) == messages
            elapsed = time.perf_counter() - began
        finally:
            await pool.close()
    per_message = {step: round(seconds / messages * 1e6, 2) for step, seconds in clock.seconds.items()}
    statements = round(sum(v for k, v in per_message.items() if k != "copy_floor"), 2)
    cores = os.cpu_count() or 1
    return {
        "benchmark": "outbox_cost",
        "messages": messages,
        "batch": batch,
        **{f"{step}_us": value for step, value in per_message.items()},
        "statements_us": statements,
        # The least the outbox's writes cost: the row with its indexes (COPY), its lease, its outcome.
        "outbox_floor_us": round(
            per_message["copy_floor"] + per_message["claim"] + per_message["outcome"], 2
        ),
        "target_rps": target,
        "cores": cores,
        "budget_us": round(cores / target * 1e6, 2),
        "seconds": round(elapsed, 1),
    }


def report(summary: dict[str, Any]) -> None:
    print(f"{summary['messages']:,} messages, PostgreSQL backend CPU per message:")
    for step in ("fill", "claim", "attributes", "outcome"):
        print(f"  {step:<11} {summary[step + '_us']:7.2f} us")
    print(f"  {'together':<11} {summary['statements_us']:7.2f} us")
    print(f"  the same rows by COPY (every index of the outbox): {summary['copy_floor_us']:.2f} us")
    print(
        f"  the outbox's floor (COPY + claim + outcome): {summary['outbox_floor_us']:.2f} us; "
        f"budget of every process at {summary['target_rps']:,}/s on {summary['cores']} cores: "
        f"{summary['budget_us']:.2f} us"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=2000, help="messages per claim (the bench's workers')")
    parser.add_argument("--target", type=int, default=50_000, help="messages/s the budget is given for")
    args = parser.parse_args()
    summary = asyncio.run(run(args.profiles, args.batch, args.target))
    report(summary)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
