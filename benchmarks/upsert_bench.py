"""Single UpsertProfile calls against one kernel, open loop from h2load: calls/s and latency percentiles.

    .venv/bin/python benchmarks/upsert_bench.py [--rate 2000] [--seconds 15] [--profiles 20000]

Starts ``herald serve`` in its own process (scratch data folder, embedded PostgreSQL), imports
``--profiles`` generated customers with ``herald import`` (benchmarks/profile_files.py), then offers
UpsertProfile calls at ``--rate`` for ``--seconds`` with h2load (benchmarks/h2load_runner.py): each call
updates one of those customers, drawn at random, with a string and a number attribute and an email.

h2load sends a request body read again from its file for each call; a helper process rewrites the
bodies' fixed-width customer number in place (one write each), so that the calls spread over the
customers instead of queueing on one profile's row lock. One h2load process per body sends one call per
10 ms (``paced_loop``), and each body is rewritten more often than that: every call names a customer
drawn for it alone. (With one h2load process, the calls of each 10 ms went in one write, read the same
body, and a twentieth as many customers as calls were updated.) The calls should create no profile (a
read torn between two writes could name a customer that was not imported): the profiles created and the
customers updated are printed, against the customers that as many independent draws reach. The last
line printed is the JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import orjson
from commit_phases import phases, read_buckets
from h2load_runner import WARM_UP, ensure_h2load, grpc_frame, paced_loop
from herald_process import Kernel, cpu_report, free_port, herald_kernel
from profile_files import custom_id, run_cli_import, write_profiles

from herald.v1 import common_pb2, profiles_pb2

PATH = "/herald.v1.ProfileService/UpsertProfile"
PLACEHOLDER = custom_id(9_999_999).removeprefix("customer-").encode()
DIGITS = len(PLACEHOLDER)
#: Each body's rewrites per second: more than the 100 calls/s its h2load process sends.
REWRITES_PER_SECOND = 250
#: Calls per second of one h2load process, one per 10 ms tick.
CALLS_PER_BODY = 100


def upsert_body() -> tuple[bytes, list[int]]:
    """The request as a gRPC frame, and where its customer number is written (fixed width, the same as
    the imported customers')."""
    number = PLACEHOLDER.decode()
    request = profiles_pb2.UpsertProfileRequest(
        profile=common_pb2.ProfileRef(custom_id=f"customer-{number}"),
        attributes={
            "last_page": common_pb2.AttributeValue(string_value=f"/products/{number}"),
            "visits": common_pb2.AttributeValue(number_value=3),
        },
        add_addresses=[common_pb2.Address(kind="email", value=f"c{number}@example.net")],
    )
    frame = grpc_frame(request)
    offsets = []
    start = frame.find(PLACEHOLDER)
    while start != -1:
        offsets.append(start)
        start = frame.find(PLACEHOLDER, start + DIGITS)
    return frame, offsets


def rewrite_forever(bodies: list[Path], offsets: list[int], customers: int) -> None:
    """Write a random customer's number into each body, REWRITES_PER_SECOND times a second."""
    fds = [os.open(body, os.O_RDWR) for body in bodies]
    start, end = offsets[0], offsets[-1] + DIGITS
    span = bytearray(os.pread(fds[0], end - start, start))
    while True:
        for fd in fds:
            number = f"{random.randrange(customers):0{DIGITS}d}".encode()
            for offset in offsets:
                span[offset - start : offset - start + DIGITS] = number
            os.pwrite(fd, span, start)
        time.sleep(1 / REWRITES_PER_SECOND)


async def touched(kernel: Kernel) -> tuple[int, int]:
    """(profiles, profiles updated by the calls)."""
    conn = await asyncpg.connect(kernel.dsn)
    try:
        return await conn.fetchrow(
            "SELECT count(*), count(*) FILTER (WHERE attributes ? 'last_page') FROM profiles"
        )
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=2000, help="calls/s offered")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--profiles", type=int, default=20_000)
    parser.add_argument("--api-processes", type=int, default=1, help="the kernel's api_processes")
    args = parser.parse_args()
    if args.profiles > 10**DIGITS:
        sys.exit(f"--profiles: at most {10**DIGITS}")
    h2load = ensure_h2load()
    folder = Path(tempfile.mkdtemp(prefix="herald-upsert-bench-"))
    try:
        metrics = f"127.0.0.1:{free_port()}"
        with herald_kernel(metrics_address=metrics, api_processes=str(args.api_processes)) as kernel:
            people = folder / "customers.jsonl"
            write_profiles(people, args.profiles)
            seeded = run_cli_import(people, kernel.address, kernel.api_key)
            print(f"{seeded.summary.splitlines()[0]} in {seeded.seconds:.1f} s", flush=True)
            frame, offsets = upsert_body()
            bodies = [folder / f"upsert-{n}.bin" for n in range(math.ceil(args.rate / CALLS_PER_BODY))]
            for body in bodies:
                body.write_bytes(frame)
            rewriter = multiprocessing.Process(
                target=rewrite_forever, args=(bodies, offsets, args.profiles), daemon=True
            )
            rewriter.start()
            try:
                before, waits = kernel.cpu_seconds(), kernel.core_waits()
                buckets = read_buckets(f"http://{metrics}/metrics", "upsert")
                load = paced_loop(h2load, kernel, PATH, bodies, args.rate, args.seconds)
                after, waits_after = kernel.cpu_seconds(), kernel.core_waits()
                groups = phases(buckets, read_buckets(f"http://{metrics}/metrics", "upsert"))
            finally:
                rewriter.terminate()
                rewriter.join()
            profiles, customers = asyncio.run(touched(kernel))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(load.summary)
    calls = args.rate * (args.seconds + WARM_UP)
    calls_in_window = (
        groups["items"]
        if args.api_processes == 1
        else len(load.answered_ms) * (args.seconds + WARM_UP) / args.seconds
    )
    figures = {
        "offered_per_s": args.rate,
        "calls_per_s": round(len(load.answered_ms) / args.seconds),
        **load.percentiles(),
        **groups,
        "failed": load.failed,
        "customers_updated": customers,
        "customers_expected": round(args.profiles * -math.expm1(-calls / args.profiles)),
        "profiles_created": profiles - args.profiles,
        **cpu_report(before, after, load.elapsed),
        # CPU per call: the calls the kernel grouped between the same two readings as the CPU times. The
        # metrics are the first process's alone: with api_processes, the calls answered (h2load logs
        # those after its warm-up) stand for those of the whole run.
        **{
            f"{side}_us_per_call": round((after[side] - before[side]) / calls_in_window * 1e6)
            for side in before
        },
        # Per second of the run: how long the kernel's event loop (PostgreSQL's processes, summed) was
        # ready to run while other processes held the cores.
        **{f"{side}_core_wait": round((waits_after[side] - waits[side]) / load.elapsed, 3) for side in waits},
        "load_average": round(os.getloadavg()[0], 1),
    }
    print(
        f"UpsertProfile: {figures['calls_per_s']:,}/s answered of {args.rate:,}/s offered; "
        f"p50 {figures['p50_ms']} ms, p90 {figures['p90_ms']} ms, p99 {figures['p99_ms']} ms; "
        f"in the kernel, wait for the group's write p50/p99 <= {figures['queue_wait_p50_ms_at_most']:g}/"
        f"{figures['queue_wait_p99_ms_at_most']:g} ms, the group's write "
        f"<= {figures['group_write_p50_ms_at_most']:g}/{figures['group_write_p99_ms_at_most']:g} ms, "
        f"{figures['items_per_group']} calls per group; "
        f"kernel {figures['kernel_cores']} cores, PostgreSQL {figures['postgres_cores']} cores "
        f"({figures['kernel_us_per_call']} + {figures['postgres_us_per_call']} us per call); "
        f"waiting for a core: kernel loop {figures['kernel_loop_core_wait']} s/s, "
        f"PostgreSQL {figures['postgres_core_wait']} s/s (load average {figures['load_average']}); "
        f"{customers:,} of {args.profiles:,} customers updated ({figures['customers_expected']:,} if each "
        f"call drew its own), {profiles - args.profiles} profiles created"
    )
    print(orjson.dumps({"benchmark": "upsert_calls", **figures}).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
