"""Event ingestion throughput of one kernel: single-event calls, batched TrackEvents and StreamEvents.

    .venv/bin/python benchmarks/ingest_bench.py [--seconds 15] [--clients 4] [--batch 1000]

Starts ``herald serve`` in its own process (scratch data folder, embedded PostgreSQL) and creates the
profiles once. Then single-event TrackEvents calls are offered at ``--single-rate`` per second (open
loop: latency shows any backlog), and for each batched mode ``--clients`` concurrent clients send
batches of ``--batch`` events, each for ``--seconds``. Every event has a unique ``event_id``, a time
and two attributes, and names one of ``--people`` customers at random. Prints events/s per mode, call
latency, the cores the kernel and PostgreSQL used, and checks that the database holds exactly the
events reported accepted. The last line is the JSON summary.

The client pre-serialises one event per customer and appends each event's id to those bytes, so that
building requests costs the load generator little of the CPU it shares with the kernel.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg
import grpc
import orjson
from herald_process import Kernel, cpu_report, herald_kernel, seed_customers

from herald.v1 import common_pb2, profiles_pb2

TRACK = "/herald.v1.ProfileService/TrackEvents"
STREAM = "/herald.v1.ProfileService/StreamEvents"
TIME_TAG = b"\x1a"  # TrackedEvent.time: field 3, length-delimited (a Timestamp: seconds 1, nanos 2)
EVENT_ID_TAG = b"\x2a"  # TrackedEvent.event_id: field 5, length-delimited
EVENTS_TAG = b"\x0a"  # TrackEventsRequest.events: field 1, length-delimited


def varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def event_bodies(people: int) -> list[bytes]:
    """One serialised event per customer, without time and event id (appended per batch)."""
    bodies = []
    for person in range(people):
        event = profiles_pb2.TrackedEvent(
            profile=common_pb2.ProfileRef(custom_id=f"customer-{person}"),
            name="page.viewed",
            attributes={
                "path": common_pb2.AttributeValue(string_value=f"/products/{person % 500}"),
                "duration": common_pb2.AttributeValue(number_value=person % 97 / 7),
            },
        )
        bodies.append(event.SerializeToString())
    return bodies


@dataclass
class Batches:
    """Serialised TrackEventsRequests of random customers, with fresh event ids and the current time."""

    bodies: list[bytes]
    size: int
    prefix: str
    pick: Callable[[int], int] = field(default_factory=lambda: random.Random(0).randrange)
    count: int = 0

    def next(self) -> bytes:
        # A fresh time for each batch, as live traffic has.
        now = time.time_ns()
        timestamp = b"\x08" + varint(now // 1_000_000_000) + b"\x10" + varint(now % 1_000_000_000)
        time_field = TIME_TAG + varint(len(timestamp)) + timestamp
        people = len(self.bodies)
        parts = []
        for _ in range(self.size):
            self.count += 1
            event_id = f"{self.prefix}-{self.count}".encode()
            tail = time_field + EVENT_ID_TAG + varint(len(event_id)) + event_id
            body = self.bodies[self.pick(people)] + tail
            parts.append(EVENTS_TAG + varint(len(body)) + body)
        return b"".join(parts)


@dataclass
class Result:
    mode: str
    events: int
    seconds: float
    latencies: list[float]
    cpu: dict[str, float]

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    def figures(self) -> dict[str, float]:
        figures = {f"{self.mode}_events_per_s": round(self.rate)}
        if self.latencies:
            cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
            figures[f"{self.mode}_call_p50_ms"] = round(cuts[49] * 1000, 1)
            figures[f"{self.mode}_call_p99_ms"] = round(cuts[98] * 1000, 1)
        figures.update({f"{self.mode}_{k}": v for k, v in self.cpu.items()})
        return figures


def response(data: bytes) -> profiles_pb2.TrackEventsResponse:
    return profiles_pb2.TrackEventsResponse.FromString(data)


async def track_client(kernel: Kernel, batches: Batches, until: float, latencies: list[float]) -> int:
    async with grpc.aio.insecure_channel(kernel.address) as channel:
        call = channel.unary_unary(TRACK, response_deserializer=response)
        accepted = 0
        while time.monotonic() < until:
            request = batches.next()
            started = time.perf_counter()
            reply = await call(request, metadata=kernel.auth)
            latencies.append(time.perf_counter() - started)
            accepted += reply.accepted
        return accepted


async def stream_client(kernel: Kernel, batches: Batches, until: float, latencies: list[float]) -> int:
    async with grpc.aio.insecure_channel(kernel.address) as channel:
        call = channel.stream_unary(STREAM, response_deserializer=response)(metadata=kernel.auth)
        while time.monotonic() < until:
            await call.write(batches.next())
        await call.done_writing()
        return (await call).accepted


Client = Callable[[Kernel, Batches, float, list[float]], Awaitable[int]]


async def measure(
    kernel: Kernel, mode: str, client: Client, bodies: list[bytes], args: argparse.Namespace
) -> Result:
    latencies: list[float] = []
    before = kernel.cpu_seconds()
    started = time.monotonic()
    until = started + args.seconds
    accepted = await asyncio.gather(
        *(
            client(
                kernel,
                Batches(bodies, args.batch, f"{mode}-{n}", random.Random(n).randrange),
                until,
                latencies,
            )
            for n in range(args.clients)
        )
    )
    elapsed = time.monotonic() - started
    return Result(mode, sum(accepted), elapsed, latencies, cpu_report(before, kernel.cpu_seconds(), elapsed))


async def single_calls(kernel: Kernel, bodies: list[bytes], rate: float, seconds: float) -> Result:
    """Single-event TrackEvents calls offered at ``rate`` per second whether or not earlier ones have
    been answered (an open loop, as independent backends would), so that latency shows any backlog."""
    batches = Batches(bodies, 1, "single")
    latencies: list[float] = []
    accepted = 0
    async with grpc.aio.insecure_channel(kernel.address) as channel:
        call = channel.unary_unary(TRACK, response_deserializer=response)

        async def one(request: bytes) -> None:
            nonlocal accepted
            started = time.perf_counter()
            reply = await call(request, metadata=kernel.auth)
            latencies.append(time.perf_counter() - started)
            accepted += reply.accepted

        before, started = kernel.cpu_seconds(), time.monotonic()
        calls: list[asyncio.Task[None]] = []
        while (now := time.monotonic()) < started + seconds:
            while len(calls) < (now - started) * rate:
                calls.append(asyncio.create_task(one(batches.next())))
            await asyncio.sleep(0.001)
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        elapsed = time.monotonic() - started
    failures = Counter(o.code().name for o in outcomes if isinstance(o, grpc.aio.AioRpcError))
    if failures:
        print(f"single-event calls failed: {dict(failures)}")
    return Result("single", accepted, elapsed, latencies, cpu_report(before, kernel.cpu_seconds(), elapsed))


async def stored_events(kernel: Kernel) -> int:
    conn = await asyncpg.connect(kernel.dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM events WHERE client_event_id IS NOT NULL")
    finally:
        await conn.close()


async def run(kernel: Kernel, args: argparse.Namespace) -> dict[str, float]:
    bodies = event_bodies(args.people)
    await asyncio.to_thread(seed_customers, kernel, args.people)
    results = [
        await single_calls(kernel, bodies, args.single_rate, args.seconds),
        await measure(kernel, "track", track_client, bodies, args),
        await measure(kernel, "stream", stream_client, bodies, args),
    ]
    stored = await stored_events(kernel)
    accepted = sum(r.events for r in results)
    figures: dict[str, float] = {"clients": args.clients, "batch": args.batch}
    figures["single_offered_per_s"] = args.single_rate
    for result in results:
        print(
            f"{result.mode:>6}: {result.rate:>9,.0f} events/s  ({result.events:,} events in "
            f"{result.seconds:.1f} s; kernel {result.cpu['kernel_cores']} cores, "
            f"PostgreSQL {result.cpu['postgres_cores']} cores)"
        )
        figures.update(result.figures())
    print(f"stored events: {stored:,} (accepted: {accepted:,})")
    figures["stored_matches_accepted"] = stored == accepted
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--single-rate", type=float, default=2000.0, help="single-event calls/s offered")
    args = parser.parse_args()
    with herald_kernel() as kernel:
        figures = asyncio.run(run(kernel, args))
    print(orjson.dumps({"benchmark": "ingest", **figures}).decode())
    return 0 if figures["stored_matches_accepted"] else 1


if __name__ == "__main__":
    sys.exit(main())
