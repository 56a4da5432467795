"""TrackEvents latency while provider webhooks arrive at volume (target: p99 under 50 ms).

    .venv/bin/python benchmarks/webhook_load_bench.py [--seconds 15] [--rate 50] [--posters 12]

Starts ``herald serve`` in its own process (scratch data folder, embedded PostgreSQL) with SparkPost
configured, then measures single-event TrackEvents calls offered at a fixed rate (open loop): first
alone, then while ``--posters`` clients post 1 MB SparkPost event batches back to back, with the
webhook credentials Herald generated. The posters run in a process of their own, so that building and
sending megabytes does not delay the measuring client. The last line printed is the JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import multiprocessing
import statistics
import sys
import time
from dataclasses import dataclass

import aiohttp
import asyncpg
import grpc
import orjson
from google.protobuf import struct_pb2
from herald_process import Kernel, cpu_report, free_port, herald_kernel, seed_customers

from herald.v1 import channels_pb2, channels_pb2_grpc, common_pb2, profiles_pb2, profiles_pb2_grpc

CHANNEL = "email.sparkpost"
BATCH_BYTES = 1024 * 1024
CUSTOMERS = 1000
TARGET_P99_MS = 50.0
WARM_UP_SECONDS = 2.0


@dataclass(frozen=True)
class Webhook:
    url: str
    user: str
    password: str


def configure_sparkpost(kernel: Kernel, webhook_port: int) -> Webhook:
    """SparkPost configured in the benchmark's project; where and how to post its webhooks."""
    config = struct_pb2.Struct()
    config.update({"api_key": "bench-key", "from_address": "news@herald.example"})
    with grpc.insecure_channel(kernel.address) as channel:
        stored = channels_pb2_grpc.ChannelServiceStub(channel).SetChannelConfig(
            channels_pb2.SetChannelConfigRequest(channel=CHANNEL, config=config), metadata=kernel.auth
        )
    credentials = stored.webhook.credentials
    return Webhook(
        f"http://127.0.0.1:{webhook_port}{stored.webhook.path}",
        credentials["auth_credentials.username"],
        credentials["auth_credentials.password"],
    )


def sparkpost_batch(target_bytes: int) -> bytes:
    """Delivery and open events of SparkPost's shape, to as many addresses, about ``target_bytes``."""
    events = []
    size = 0
    while size < target_bytes:
        n = len(events)
        event = {
            "msys": {
                "message_event" if n % 2 else "track_event": {
                    "type": "delivery" if n % 2 else "open",
                    "event_id": str(92_356_927_693_813_001 + n),
                    "timestamp": str(int(time.time())),
                    "rcpt_to": f"reader{n}@example.com",
                    "rcpt_meta": {},
                    "transmission_id": "84000000000000001",
                    "message_id": f"{n:020d}",
                    "customer_id": "1",
                    "friendly_from": "news@herald.example",
                    "subject": "Our autumn offers, hand-picked for you " * 20,
                    "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15",
                    "ip_address": "192.0.2.1",
                }
            }
        }
        size += len(orjson.dumps(event))
        events.append(event)
    return orjson.dumps(events)


def post_until(webhook: Webhook, posters: int, seconds: float, results: multiprocessing.Queue) -> None:
    """In the posters' process: ``posters`` clients posting 1 MB batches back to back for ``seconds``;
    puts the answers' statuses, counted."""

    async def run() -> dict[int, int]:
        body = sparkpost_batch(BATCH_BYTES)
        headers = {
            "Content-Type": "application/json",
            "Authorization": aiohttp.BasicAuth(webhook.user, webhook.password).encode(),
        }
        statuses: dict[int, int] = {}
        deadline = time.monotonic() + seconds

        async def client(session: aiohttp.ClientSession) -> None:
            while time.monotonic() < deadline:
                async with session.post(webhook.url, data=io.BytesIO(body), headers=headers) as reply:
                    await reply.read()
                    statuses[reply.status] = statuses.get(reply.status, 0) + 1

        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(client(session) for _ in range(posters)))
        return statuses

    results.put(asyncio.run(run()))


async def track_latencies(kernel: Kernel, rate: float, seconds: float) -> list[float]:
    """Single-event TrackEvents calls offered at ``rate`` per second for ``seconds``: each one's latency."""
    latencies: list[float] = []

    async def call(stub: profiles_pb2_grpc.ProfileServiceStub, n: int) -> None:
        request = profiles_pb2.TrackEventsRequest(
            events=[
                profiles_pb2.TrackedEvent(
                    profile=common_pb2.ProfileRef(custom_id=f"customer-{n % CUSTOMERS}"), name="page.viewed"
                )
            ]
        )
        started = time.perf_counter()
        await stub.TrackEvents(request, metadata=kernel.auth)
        latencies.append(time.perf_counter() - started)

    async with grpc.aio.insecure_channel(kernel.address) as channel:
        stub = profiles_pb2_grpc.ProfileServiceStub(channel)
        calls = []
        started = time.monotonic()
        for n in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            calls.append(asyncio.create_task(call(stub, n)))
        await asyncio.gather(*calls)
    return latencies


def percentiles(latencies: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49] * 1000, 1), "p99_ms": round(cuts[98] * 1000, 1)}


async def waiting_batches(kernel: Kernel) -> int:
    conn = await asyncpg.connect(kernel.dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM webhook_batches")
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15, help="each phase's measured time")
    parser.add_argument("--rate", type=float, default=50, help="TrackEvents calls/s offered")
    parser.add_argument("--posters", type=int, default=12, help="concurrent webhook clients")
    args = parser.parse_args()
    webhook_port = free_port()
    with herald_kernel(webhook_address=f"127.0.0.1:{webhook_port}") as kernel:
        seed_customers(kernel, CUSTOMERS)
        webhook = configure_sparkpost(kernel, webhook_port)
        asyncio.run(track_latencies(kernel, args.rate, WARM_UP_SECONDS))
        alone = percentiles(asyncio.run(track_latencies(kernel, args.rate, args.seconds)))

        # Spawned, not forked: the parent holds gRPC channels and threads a fork must not copy.
        spawn = multiprocessing.get_context("spawn")
        results = spawn.Queue()
        posting = args.seconds + 2 * WARM_UP_SECONDS
        posters = spawn.Process(target=post_until, args=(webhook, args.posters, posting, results))
        posters.start()
        time.sleep(WARM_UP_SECONDS)
        before = kernel.cpu_seconds()
        loaded = percentiles(asyncio.run(track_latencies(kernel, args.rate, args.seconds)))
        cores = cpu_report(before, kernel.cpu_seconds(), args.seconds)
        statuses = results.get()
        posters.join()
        backlog = asyncio.run(waiting_batches(kernel))
    accepted = statuses.get(200, 0)
    figures = {
        "rate": args.rate,
        "posters": args.posters,
        "alone_p50_ms": alone["p50_ms"],
        "alone_p99_ms": alone["p99_ms"],
        "loaded_p50_ms": loaded["p50_ms"],
        "loaded_p99_ms": loaded["p99_ms"],
        "webhook_posts_accepted": accepted,
        "webhook_mb_per_s": round(accepted * BATCH_BYTES / 1024**2 / posting, 1),
        "webhook_other_statuses": {str(k): v for k, v in statuses.items() if k != 200},
        "batches_waiting_at_end": backlog,
        **cores,
        "target_p99_ms": TARGET_P99_MS,
        "met": loaded["p99_ms"] < TARGET_P99_MS,
    }
    print(
        f"TrackEvents at {args.rate:g}/s: alone p50 {alone['p50_ms']} ms, p99 {alone['p99_ms']} ms; with "
        f"{args.posters} clients posting 1 MB SparkPost batches ({accepted} accepted, "
        f"{figures['webhook_mb_per_s']} MB/s, {backlog} waiting at the end): p50 {loaded['p50_ms']} ms, "
        f"p99 {loaded['p99_ms']} ms (target < {TARGET_P99_MS:g} ms); kernel {cores['kernel_cores']} cores, "
        f"PostgreSQL {cores['postgres_cores']} cores"
    )
    print(orjson.dumps({"benchmark": "webhook_load", **figures}).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
