"""End-to-end bulk email: one personalised email to every profile, through the SparkPost emulator.

    .venv/bin/python benchmarks/campaign_bench.py [--small 100000] [--large 1000000]

Starts ``herald serve`` in its own process (scratch data folder, embedded PostgreSQL, its in-process
sender worker) and the SparkPost emulator in another. Seeds ``--small`` profiles in SQL (first name,
city, a VIP flag, an email at one of 50 domains), sends one email to all of them (two attributes and a
conditional block), then seeds up to ``--large`` and sends again. Each send is timed from CreateSend until
the emulator has accepted every recipient. Prints recipients/s, the kernel's peak RSS after each send
(memory must not grow with the audience), the cores each process used and the microseconds of CPU the
kernel and PostgreSQL spent per message (the figure that holds on any machine; the emulator's beside it,
as it shares the machine), PostgreSQL's WAL bytes per message, and checks that each recipient got exactly
one message with the right personalisation (a sample is rendered by the emulator). The last line is the
JSON summary.

The emulator validates every transmission as SparkPost does but, unlike the test emulator, counts and
samples instead of keeping a rendered copy of a million emails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import asyncpg
import grpc
import psutil
from aiohttp import web
from google.protobuf import struct_pb2
from herald_process import Kernel, completed_send, cpu_report, herald_kernel, peak_rss_mb, version7_id_sql

from herald.v1 import channels_pb2, channels_pb2_grpc, common_pb2, messages_pb2, messages_pb2_grpc
from plugins.sparkpost.emulator import SparkPostEmulator

API_KEY = "bench-sparkpost-key"
DOMAINS = 50
SAMPLE_EVERY = 997
TEMPLATE = messages_pb2.MessageTemplate(
    subject="{{ first_name }}, this week only",
    html=(
        "<html><body><h1>Hello {{ first_name }}!</h1><p>New in {{ city }} this week.</p>"
        "{% if vip %}<p>As a VIP, you get 30% off everything.</p>{% else %}<p>Get 10% off.</p>{% endif %}"
        "<p>See you soon.</p></body></html>"
    ),
    text="Hello {{ first_name }}, new in {{ city }}.{% if vip %} VIP: 30% off.{% endif %}",
)


class CountingSparkPost(SparkPostEmulator):
    """SparkPost's checks, then a count of recipients and message ids, and a rendered sample."""

    def __init__(self, port: int) -> None:
        super().__init__(API_KEY, port=port)
        self.ids: set[str] = set()
        self.recipients = 0
        self.samples: list[dict[str, Any]] = []

    def routes(self) -> list[web.RouteDef]:
        return [*super().routes(), web.get("/stats", self._stats)]

    def _accept(self, api_key: str, transmission: str, body: Any, valid: list[tuple[Any, str]]) -> None:
        """Counted in bulk (the benchmark's account has no suppression list and no event webhook), every
        ``SAMPLE_EVERY``-th recipient rendered."""
        if self.suppressed or self.rates is not None:
            raise AssertionError("the benchmark's emulator only counts what it accepts")
        self.ids.update([recipient["metadata"]["herald_message_id"] for recipient, _ in valid])
        before, self.recipients = self.recipients, self.recipients + len(valid)
        for number in range(before // SAMPLE_EVERY + 1, self.recipients // SAMPLE_EVERY + 1):
            recipient = valid[number * SAMPLE_EVERY - before - 1][0]
            self.samples.append(self._record(transmission, body, recipient))

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"recipients": self.recipients, "distinct": len(self.ids), "samples": self.samples[-20:]}
        )


def serve_emulator(emulator_class: type[SparkPostEmulator] | None = None) -> None:
    """Serve ``emulator_class`` (the counting one by default) until interrupted, its address printed."""
    made = emulator_class or CountingSparkPost

    async def serve() -> None:
        async with made(port=0) as emulator:  # type: ignore[call-arg]
            print(emulator.endpoint, flush=True)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


@contextlib.contextmanager
def emulator_process(script: str = __file__) -> Iterator[tuple[str, psutil.Process]]:
    """The emulator that ``script --emulator`` serves, in a process of its own: its address."""
    popen = subprocess.Popen([sys.executable, script, "--emulator"], stdout=subprocess.PIPE, text=True)
    try:
        assert popen.stdout is not None
        yield popen.stdout.readline().strip(), psutil.Process(popen.pid)
    finally:
        popen.terminate()
        popen.wait()


async def seed(dsn: str, start: int, stop: int) -> float:
    """Profiles ``start`` .. ``stop - 1``, with attributes and one email each, in SQL; returns seconds.

    Their ids are version 7 UUIDs in creation order, as Herald makes them (``version7_id_sql``)."""
    began = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        project_id = await conn.fetchval("SELECT project_id FROM projects LIMIT 1")
        async with conn.transaction():
            await conn.execute(
                f"""INSERT INTO profiles (project_id, profile_id, custom_id, attributes)
                   SELECT $1, {version7_id_sql("$4::bigint + i")}, 'c' || i, jsonb_build_object(
                       'first_name', jsonb_build_object('t', 's', 'v', 'Name' || (i % 5000)),
                       'city', jsonb_build_object('t', 's', 'v', 'City' || (i % 300)),
                       'vip', jsonb_build_object('t', 'b', 'v', i % 10 = 0))
                   FROM generate_series($2::int, $3::int - 1) AS i""",
                project_id,
                start,
                stop,
                time.time_ns() // 1_000_000,
            )
            await conn.execute(
                """INSERT INTO profile_addresses (project_id, profile_id, kind, value)
                   SELECT project_id, profile_id, 'email',
                          'user' || substr(custom_id, 2) || '@d' || (hashtext(custom_id) & 65535) % $4
                          || '.example.com'
                   FROM profiles
                   WHERE project_id = $1
                     AND substr(custom_id, 2)::int >= $2 AND substr(custom_id, 2)::int < $3""",
                project_id,
                start,
                stop,
                DOMAINS,
            )
        await conn.execute("VACUUM ANALYZE profiles, profile_addresses")
    finally:
        await conn.close()
    return time.perf_counter() - began


async def stats(endpoint: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(f"{endpoint}/stats") as response:
        return await response.json()


def bulk_email(name: str) -> messages_pb2.CreateSendRequest:
    """The benchmarked send: the template above, by email, to every profile that can be reached."""
    return messages_pb2.CreateSendRequest(
        name=name,
        all_reachable=messages_pb2.AllReachable(),
        channels=["email.sparkpost"],
        templates={"email.sparkpost": TEMPLATE},
        purpose=common_pb2.PURPOSE_MARKETING,
    )


async def send_all(
    kernel: Kernel, dsn: str, endpoint: str, emulator: psutil.Process, audience: int
) -> dict[str, Any]:
    before = await stats(endpoint)
    wal_before = await _wal(dsn)
    cpu_before = {**kernel.cpu_seconds(), "emulator": sum(emulator.cpu_times()[:2])}
    async with grpc.aio.insecure_channel(kernel.address) as channel:
        stub = messages_pb2_grpc.MessageServiceStub(channel)
        began = time.perf_counter()
        send = await stub.CreateSend(bulk_email(f"bench {audience}"), metadata=kernel.auth)
        while (now := await stats(endpoint))["recipients"] - before["recipients"] < audience:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        elapsed = time.perf_counter() - began
        cpu_after = {**kernel.cpu_seconds(), "emulator": sum(emulator.cpu_times()[:2])}
        state = await completed_send(stub, kernel, send.send_id, 0.2)
    wal = await _wal(dsn) - wal_before
    received = now["recipients"] - before["recipients"]
    distinct = now["distinct"] - before["distinct"]
    spent = {side: cpu_after[side] - cpu_before[side] for side in cpu_before}
    return {
        "audience": audience,
        "seconds": round(elapsed, 2),
        "recipients_per_second": round(audience / elapsed),
        "kernel_us_per_message": round(spent["kernel"] / audience * 1e6, 1),
        "postgres_us_per_message": round(spent["postgres"] / audience * 1e6, 1),
        "emulator_us_per_message": round(spent["emulator"] / audience * 1e6, 1),
        "wal_bytes_per_message": round(wal / audience),
        "peak_rss_mb": round(peak_rss_mb(kernel.process), 1),
        "duplicates": received - distinct,
        "sent_recorded": state.sent,
        "cores": cpu_report(cpu_before, cpu_after, elapsed),
        "sample": now["samples"][-1] if now["samples"] else {},
    }


async def _wal(dsn: str) -> int:
    """PostgreSQL's WAL position, in bytes."""
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"))
    finally:
        await conn.close()


async def configure(kernel: Kernel) -> None:
    config = struct_pb2.Struct()
    config.update({"api_key": API_KEY, "from_address": "news@herald.example"})
    async with grpc.aio.insecure_channel(kernel.address) as channel:
        await channels_pb2_grpc.ChannelServiceStub(channel).SetChannelConfig(
            channels_pb2.SetChannelConfigRequest(channel="email.sparkpost", config=config),
            metadata=kernel.auth,
        )


def check(result: dict[str, Any]) -> None:
    sample = result["sample"]
    vip = "30% off everything" in sample.get("html", "")
    assert sample.get("subject", "").startswith("Name"), sample
    assert "<h1>Hello Name" in sample["html"] and "New in City" in sample["html"], sample
    assert vip or "Get 10% off." in sample["html"], sample
    assert result["duplicates"] == 0 and result["sent_recorded"] == result["audience"], result


def report(result: dict[str, Any]) -> None:
    print(
        f"{result['audience']:>9,} recipients: {result['recipients_per_second']:>7,}/s "
        f"in {result['seconds']} s, CPU per message: kernel {result['kernel_us_per_message']} us, "
        f"PostgreSQL {result['postgres_us_per_message']} us "
        f"(emulator {result['emulator_us_per_message']} us), "
        f"WAL {result['wal_bytes_per_message']} bytes; "
        f"kernel peak RSS {result['peak_rss_mb']} MB, "
        f"cores used {result['cores']}",
        flush=True,
    )


async def run(small: int, large: int) -> dict[str, Any]:
    with emulator_process() as (endpoint, emulator):
        settings = {
            "channel_endpoints": json.dumps({"email.sparkpost": endpoint}),
            "metrics_address": "127.0.0.1:0",
            "worker_batch_size": "2000",
        }
        with herald_kernel(**settings) as kernel:
            dsn = kernel.dsn
            await configure(kernel)
            print(f"seeding {small:,} profiles ...", flush=True)
            await seed(dsn, 0, small)
            first = await send_all(kernel, dsn, endpoint, emulator, small)
            check(first)
            report(first)
            print(f"seeding up to {large:,} profiles ...", flush=True)
            await seed(dsn, small, large)
            second = await send_all(kernel, dsn, endpoint, emulator, large)
            check(second)
            report(second)
    return {
        "small_audience": small,
        "small_rps": first["recipients_per_second"],
        "small_peak_rss_mb": first["peak_rss_mb"],
        "large_audience": large,
        "large_rps": second["recipients_per_second"],
        "large_seconds": second["seconds"],
        "large_peak_rss_mb": second["peak_rss_mb"],
        "rss_growth_mb": round(second["peak_rss_mb"] - first["peak_rss_mb"], 1),
        "large_cores": second["cores"],
        "large_kernel_us_per_message": second["kernel_us_per_message"],
        "large_postgres_us_per_message": second["postgres_us_per_message"],
        "large_emulator_us_per_message": second["emulator_us_per_message"],
        "large_us_per_message": round(second["kernel_us_per_message"] + second["postgres_us_per_message"], 1),
        "large_wal_bytes_per_message": second["wal_bytes_per_message"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--emulator", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.emulator:
        serve_emulator()
        return
    summary = asyncio.run(run(args.small, args.large))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
