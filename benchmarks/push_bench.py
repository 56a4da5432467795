"""APNs pushes against the APNs emulator running in its own process (HTTP/2 over TLS, token auth).

    .venv/bin/python benchmarks/push_bench.py [--pushes 100000] [--in-flight 4]

Two measurements, each over ``--pushes`` personalised pushes ("Hi {{ first_name }}", one device each):

1. the channel alone: this process hands batches of 1,000 pushes (``--in-flight`` batches at a time) to
   ``plugins.apns``' sender; pushes/s, this process's CPU time per push (``resource.getrusage``) and
   the emulator's (``psutil``);
2. Herald end to end: ``herald serve`` in its own process sends a bulk send to as many profiles (outbox,
   claims, personalisation, APNs, outcomes); pushes/s and the kernel process's CPU time per push
   (PostgreSQL's is reported beside it).

The last line is the JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import asyncpg
import grpc
import psutil
from google.protobuf import struct_pb2
from herald_process import Kernel, completed_send, herald_kernel, version7_id_sql

from herald.v1 import channels_pb2, channels_pb2_grpc, common_pb2, messages_pb2, messages_pb2_grpc
from kernel.channels import OutboundMessage, Outcome
from kernel.delivery.personalise import Personaliser
from kernel.delivery.templates import compile_template
from plugins.apns.config import ApnsConfig
from plugins.apns.sender import ApnsSender

CHANNEL = "push.apns"
BATCH = 1000
TEMPLATE = messages_pb2.MessageTemplate(
    title="Hi {{ first_name }}", body="Your order has shipped.", data={"screen": "orders"}
)


@contextlib.contextmanager
def emulator_process() -> Iterator[tuple[str, dict[str, str], psutil.Process]]:
    """``python -m plugins.apns.emulator``: its endpoint (stdout) and its account's configuration (stderr)."""
    popen = subprocess.Popen(
        [sys.executable, "-m", "plugins.apns.emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert popen.stdout is not None and popen.stderr is not None
        credentials = json.loads(popen.stderr.readline())
        endpoint = popen.stdout.readline().rsplit(" ", 1)[-1].strip()
        yield endpoint, credentials, psutil.Process(popen.pid)
    finally:
        popen.terminate()
        popen.wait()


def token(index: int) -> str:
    return f"{index:064x}"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def channel_alone(
    endpoint: str, credentials: dict[str, str], pushes: int, in_flight: int
) -> dict[str, Any]:
    personalise = Personaliser(compile_template(TEMPLATE), placeholder=None)
    messages = [
        OutboundMessage(
            f"00000000-0000-4000-8000-{index:012x}", token(index), personalise({"first_name": f"N{index}"})[0]
        )
        for index in range(pushes)
    ]
    # The pushes are built beforehand, which a sender never holds: out of the garbage collector, so
    # that its full collections do not walk them on the sender's CPU time.
    gc.freeze()
    sender = ApnsSender(ApnsConfig.parse(credentials), endpoint)
    slots = asyncio.Semaphore(in_flight)
    accepted = 0

    async def send(batch: list[OutboundMessage]) -> None:
        nonlocal accepted
        async with slots:
            results = await sender.send_batch(batch)
        accepted += sum(result.outcome is Outcome.ACCEPTED for result in results)

    try:
        await sender.send_batch(messages[:1])  # connection and provider token, outside the measurement
        cpu, began = cpu_seconds(), time.perf_counter()
        await asyncio.gather(*(send(messages[start : start + BATCH]) for start in range(0, pushes, BATCH)))
        elapsed, cpu = time.perf_counter() - began, cpu_seconds() - cpu
    finally:
        await sender.close()
    assert accepted == pushes, f"{pushes - accepted} pushes were not accepted"
    return {"pushes_per_second": round(pushes / elapsed), "cpu_us_per_push": round(cpu / pushes * 1e6, 1)}


async def seed(kernel: Kernel, pushes: int) -> None:
    """A profile and a device per push, in SQL, their ids made as Herald makes them (``version7_id_sql``)."""
    dsn = f"postgresql://postgres:@/postgres?host={kernel.data_dir.resolve() / 'postgres'}"
    conn = await asyncpg.connect(dsn)
    try:
        project_id = await conn.fetchval("SELECT project_id FROM projects LIMIT 1")
        async with conn.transaction():
            await conn.execute(
                f"""INSERT INTO profiles (project_id, profile_id, custom_id, attributes)
                   SELECT $1, {version7_id_sql("$3::bigint + i")}, 'c' || i,
                          jsonb_build_object('first_name', jsonb_build_object('t', 's', 'v', 'N' || i))
                   FROM generate_series(1, $2) AS i""",
                project_id,
                pushes,
                time.time_ns() // 1_000_000,
            )
            await conn.execute(
                """INSERT INTO profile_addresses (project_id, profile_id, kind, value)
                   SELECT project_id, profile_id, 'apns_token',
                          lpad(to_hex(substr(custom_id, 2)::bigint), 64, '0')
                   FROM profiles WHERE project_id = $1""",
                project_id,
            )
        await conn.execute("VACUUM ANALYZE profiles, profile_addresses")
    finally:
        await conn.close()


async def herald_end_to_end(endpoint: str, credentials: dict[str, str], pushes: int) -> dict[str, Any]:
    with herald_kernel(
        channel_endpoints=json.dumps({CHANNEL: endpoint}), metrics_address="127.0.0.1:0"
    ) as kernel:
        config = struct_pb2.Struct()
        config.update(credentials)
        await seed(kernel, pushes)
        async with grpc.aio.insecure_channel(kernel.address) as channel:
            await channels_pb2_grpc.ChannelServiceStub(channel).SetChannelConfig(
                channels_pb2.SetChannelConfigRequest(channel=CHANNEL, config=config), metadata=kernel.auth
            )
            stub = messages_pb2_grpc.MessageServiceStub(channel)
            before, began = kernel.cpu_seconds(), time.perf_counter()
            send = await stub.CreateSend(
                messages_pb2.CreateSendRequest(
                    all_reachable=messages_pb2.AllReachable(),
                    channels=[CHANNEL],
                    templates={CHANNEL: TEMPLATE},
                    purpose=common_pb2.PURPOSE_TRANSACTIONAL,
                ),
                metadata=kernel.auth,
            )
            state = await completed_send(stub, kernel, send.send_id, 0.05)
            elapsed, after = time.perf_counter() - began, kernel.cpu_seconds()
    assert state.sent == pushes, f"sent {state.sent} of {pushes}"
    return {
        "pushes_per_second": round(pushes / elapsed),
        "kernel_cpu_us_per_push": round((after["kernel"] - before["kernel"]) / pushes * 1e6, 1),
        "postgres_cpu_us_per_push": round((after["postgres"] - before["postgres"]) / pushes * 1e6, 1),
    }


async def run(pushes: int, in_flight: int) -> dict[str, Any]:
    with emulator_process() as (endpoint, credentials, emulator):
        emulator_cpu = sum(emulator.cpu_times()[:2])
        alone = await channel_alone(endpoint, credentials, pushes, in_flight)
        alone["emulator_cpu_us_per_push"] = round(
            (sum(emulator.cpu_times()[:2]) - emulator_cpu) / pushes * 1e6, 1
        )
        print(
            f"channel alone: {pushes:,} pushes, {alone['pushes_per_second']:,}/s, "
            f"{alone['cpu_us_per_push']} us of sender CPU per push "
            f"(the emulator used {alone['emulator_cpu_us_per_push']} us per push)",
            flush=True,
        )
        herald = await herald_end_to_end(endpoint, credentials, pushes)
        print(
            f"herald end to end: {pushes:,} pushes, {herald['pushes_per_second']:,}/s, "
            f"{herald['kernel_cpu_us_per_push']} us of kernel CPU per push "
            f"(+ {herald['postgres_cpu_us_per_push']} us of PostgreSQL)",
            flush=True,
        )
    return {
        "pushes": pushes,
        "pushes_per_second": alone["pushes_per_second"],
        "cpu_us_per_push": alone["cpu_us_per_push"],
        "emulator_cpu_us_per_push": alone["emulator_cpu_us_per_push"],
        "herald_pushes_per_second": herald["pushes_per_second"],
        "herald_kernel_cpu_us_per_push": herald["kernel_cpu_us_per_push"],
        "herald_postgres_cpu_us_per_push": herald["postgres_cpu_us_per_push"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pushes", type=int, default=100_000)
    parser.add_argument(
        "--in-flight", type=int, default=4, help="batches of 1,000 handed to the sender at once"
    )
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.pushes, args.in_flight))))


if __name__ == "__main__":
    main()
