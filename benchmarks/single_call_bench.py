"""TrackEvents calls against one kernel, driven by h2load: calls/s, events/s and latency percentiles.

    .venv/bin/python benchmarks/single_call_bench.py [--rate 2000] [--seconds 20]          # single events
    .venv/bin/python benchmarks/single_call_bench.py --events-per-call 1000 --rate 32     # batches

The load generator matters on a 2-core machine: a Python gRPC client spends about as much CPU per call
as the kernel does, so it takes the kernel's second core. h2load (Debian's nghttp2-client, installed on
demand) is written in C and speaks HTTP/2, which is all gRPC needs: it sends the same length-prefixed
TrackEventsRequest, open loop, at a fixed rate, and logs every request's latency. gRPC reports errors in
trailers that h2load does not read, so the run is checked against the database: it must hold exactly
one event per request h2load counted as answered.

Starts ``herald serve`` in its own process (scratch data folder, embedded PostgreSQL). The last line
printed is the JSON summary.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import asyncpg
from h2load_runner import ensure_h2load, grpc_frame, open_loop
from herald_process import Kernel, cpu_report, herald_kernel

from herald.v1 import common_pb2, profiles_pb2

PATH = "/herald.v1.ProfileService/TrackEvents"


def grpc_body(events: int) -> bytes:
    """One gRPC message of ``events`` page views, of as many customers."""
    request = profiles_pb2.TrackEventsRequest(
        events=[
            profiles_pb2.TrackedEvent(
                profile=common_pb2.ProfileRef(custom_id=f"customer-{n}"),
                name="page.viewed",
                attributes={"path": common_pb2.AttributeValue(string_value=f"/products/{n % 500}")},
            )
            for n in range(events)
        ]
    )
    return grpc_frame(request)


async def stored_events(kernel: Kernel) -> int:
    conn = await asyncpg.connect(kernel.dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM events WHERE name = 'page.viewed'")
    finally:
        await conn.close()


def run(kernel: Kernel, h2load: str, rate: int, seconds: int, events: int) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="herald-h2load-"))
    body = folder / "body.bin"
    body.write_bytes(grpc_body(events))
    before = kernel.cpu_seconds()
    load = open_loop(h2load, kernel, PATH, body, rate, seconds)
    after = kernel.cpu_seconds()
    shutil.rmtree(folder, ignore_errors=True)
    print(load.summary)
    return {
        "events_per_call": events,
        "offered_per_s": rate,
        "calls_per_s": round(len(load.answered_ms) / seconds),
        "events_per_s": round(len(load.answered_ms) * events / seconds),
        **load.percentiles(),
        "failed": load.failed,
        **cpu_report(before, after, load.elapsed),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=2000, help="calls/s offered")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--events-per-call", type=int, default=1)
    args = parser.parse_args()
    h2load = ensure_h2load()
    import asyncio

    with herald_kernel() as kernel:
        figures = run(kernel, h2load, args.rate, args.seconds, args.events_per_call)
        stored = asyncio.run(stored_events(kernel))
    figures["stored_events"] = stored
    print(
        f"{args.events_per_call}-event calls: {figures['calls_per_s']:,}/s answered of {args.rate:,}/s "
        f"offered ({figures['events_per_s']:,} events/s); "
        f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms; kernel {figures['kernel_cores']} cores, "
        f"PostgreSQL {figures['postgres_cores']} cores; {stored:,} events stored"
    )
    import orjson

    print(orjson.dumps({"benchmark": "single_calls", **figures}).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
