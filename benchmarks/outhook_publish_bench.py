"""What outgoing webhooks cost profile creation: new profiles through TrackEvents, without endpoints,
then with one endpoint following ``profile.created`` (its events posted to a receiver in this process).

    .venv/bin/python benchmarks/outhook_publish_bench.py [--rounds 20] [--batch 1000]

Starts ``herald serve`` in its own process (scratch data folder, embedded PostgreSQL). Each phase sends
``--rounds`` TrackEvents calls of ``--batch`` events, each event creating a new profile, one call at a
time; then the subscription probe every publisher makes is timed alone on a connection of its own.
Prints profiles created per second and CPU microseconds per profile (kernel and PostgreSQL) per phase,
their ratio, the probe's cost, and waits for every event to be delivered. The last line is the JSON
summary.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from itertools import count

import asyncpg
import grpc
import orjson
from aiohttp import web
from herald_process import Kernel, herald_kernel

from herald.v1 import common_pb2, profiles_pb2, profiles_pb2_grpc, webhooks_pb2, webhooks_pb2_grpc
from kernel.outhooks import subscribed

PROBES = 2000


async def create_profiles(kernel: Kernel, rounds: int, batch: int, numbers: count[int]) -> dict[str, float]:
    """Profiles created per second and CPU microseconds per profile, for ``rounds`` calls of ``batch``."""
    async with grpc.aio.insecure_channel(kernel.address) as channel:
        stub = profiles_pb2_grpc.ProfileServiceStub(channel)
        before, started = kernel.cpu_seconds(), time.perf_counter()
        for _ in range(rounds):
            events = [
                profiles_pb2.TrackedEvent(
                    profile=common_pb2.ProfileRef(custom_id=f"new-{next(numbers)}"), name="visit"
                )
                for _ in range(batch)
            ]
            await stub.TrackEvents(profiles_pb2.TrackEventsRequest(events=events), metadata=kernel.auth)
        elapsed, after = time.perf_counter() - started, kernel.cpu_seconds()
    profiles = rounds * batch
    return {
        "profiles_per_second": round(profiles / elapsed),
        **{
            f"{side}_us_per_profile": round((after[side] - before[side]) / profiles * 1e6, 1)
            for side in before
        },
    }


async def probe_microseconds(kernel: Kernel) -> float:
    """The subscription check a publisher makes per batch of facts, alone."""
    conn = await asyncpg.connect(kernel.dsn)
    try:
        project_id = await conn.fetchval("SELECT project_id FROM projects LIMIT 1")
        started = time.perf_counter()
        for _ in range(PROBES):
            await subscribed(conn, project_id)
        return round((time.perf_counter() - started) / PROBES * 1e6, 1)
    finally:
        await conn.close()


async def main(rounds: int, batch: int) -> None:
    received: set[str] = set()

    async def receive(request: web.Request) -> web.Response:
        received.update(event["id"] for event in orjson.loads(await request.read()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hooks", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    numbers = count()
    try:
        with herald_kernel(outhook_private_networks="true") as kernel:
            await create_profiles(kernel, 2, batch, numbers)  # warm-up
            without = await create_profiles(kernel, rounds, batch, numbers)
            probe = await probe_microseconds(kernel)
            async with grpc.aio.insecure_channel(kernel.address) as channel:
                await webhooks_pb2_grpc.WebhookEndpointServiceStub(channel).CreateWebhookEndpoint(
                    webhooks_pb2.CreateWebhookEndpointRequest(
                        endpoint=webhooks_pb2.WebhookEndpoint(
                            url=f"http://127.0.0.1:{port}/hooks",
                            event_types=[webhooks_pb2.WEBHOOK_EVENT_TYPE_PROFILE_CREATED],
                        )
                    ),
                    metadata=kernel.auth,
                )
            with_endpoint = await create_profiles(kernel, rounds, batch, numbers)
            started = time.perf_counter()
            while len(received) < rounds * batch:  # noqa: ASYNC110 (polled, as an operator would)
                await asyncio.sleep(0.1)
            drained = time.perf_counter() - started
    finally:
        await runner.cleanup()
    ratio = round(with_endpoint["profiles_per_second"] / without["profiles_per_second"], 3)
    print(f"without endpoints: {without}")
    print(f"one endpoint following profile.created: {with_endpoint} (throughput ratio {ratio})")
    per_profile = probe / batch
    print(f"subscription probe alone: {probe} us per batch of facts ({per_profile:.3f} us per profile)")
    print(f"all {len(received):,} events delivered {drained:.1f} s after the last call")
    summary = {
        "without": without,
        "with_endpoint": with_endpoint,
        "throughput_ratio": ratio,
        "probe_us": probe,
        "delivered": len(received),
        "drain_seconds": round(drained, 1),
    }
    print(orjson.dumps(summary).decode())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=1000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rounds, arguments.batch))
