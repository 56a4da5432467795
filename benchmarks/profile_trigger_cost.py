"""What following profile writes for automations costs a project that has no such automation: profile
writes stored with the automations' follower (one index probe of ``automation_watches`` per transaction)
against the same writes without it, in one run, interleaved.

    .venv/bin/python benchmarks/profile_trigger_cost.py [--profiles 2000] [--calls 2000] [--rounds 4]

Opens a kernel's storage in process (scratch data folder, embedded PostgreSQL), creates ``--profiles``
profiles, then stores ``--calls`` single-profile changes (UpsertProfile's path when its call is alone in
its group: the worst case, a group shares the probe) from 8 concurrent tasks, with and without the
follower, alternating for ``--rounds`` rounds. Prints calls/s of each and their ratio; the last line is
the JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import random
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

from herald.v1 import common_pb2, profiles_pb2
from kernel.app import Kernel
from kernel.profiles.batch_upsert import UpsertContext
from kernel.profiles.changes import ProfileChanges, parse_upsert
from kernel.profiles.followers import ProfileFollower
from kernel.profiles.store_changes import store_changes
from kernel.settings import Settings

TASKS = 8


def change(kernel: Kernel, number: int) -> ProfileChanges:
    request = profiles_pb2.UpsertProfileRequest(
        profile=common_pb2.ProfileRef(custom_id=f"customer-{number}"),
        attributes={
            "last_page": common_pb2.AttributeValue(string_value=f"/products/{random.randrange(10**6)}"),
            "visits": common_pb2.AttributeValue(number_value=random.randrange(100)),
        },
    )
    return parse_upsert(request, kernel.limits, kernel.channels.address_kinds, datetime.now(UTC))


async def calls_per_second(kernel: Kernel, context: UpsertContext, profiles: int, calls: int) -> float:
    async def task(count: int) -> None:
        for _ in range(count):
            await store_changes(kernel.db.pool, context, [change(kernel, random.randrange(profiles))])

    started = time.perf_counter()
    await asyncio.gather(*(task(calls // TASKS) for _ in range(TASKS)))
    return (calls // TASKS * TASKS) / (time.perf_counter() - started)


async def main(profiles: int, calls: int, rounds: int) -> None:
    folder = tempfile.mkdtemp(prefix="herald-trigger-cost-")
    # Registered first, run last: after the embedded PostgreSQL's own exit handler stops it.
    atexit.register(shutil.rmtree, folder, True)
    settings = Settings(
        data_dir=Path(folder), log_format="text", metrics_address="", worker_count=0, webhook_workers=0
    )
    kernel = await Kernel.open(settings, "bench-admin-key-0123456789")
    try:
        project, _, _ = await kernel.projects.create("bench", "Europe/Paris", 365)
        kinds, limits = kernel.channels.address_kinds, kernel.limits
        plain = UpsertContext(project.project_id, limits, kinds, settings.max_addresses)
        follower: ProfileFollower = kernel.profile_triggers
        followed = UpsertContext(project.project_id, limits, kinds, settings.max_addresses, follower)
        for start in range(0, profiles, 1000):
            batch = [change(kernel, number) for number in range(start, min(start + 1000, profiles))]
            await store_changes(kernel.db.pool, plain, batch)
        figures: dict[str, list[float]] = {"without": [], "with": []}
        await calls_per_second(kernel, plain, profiles, calls // 4)  # warm up
        for _ in range(rounds):
            figures["without"].append(await calls_per_second(kernel, plain, profiles, calls))
            figures["with"].append(await calls_per_second(kernel, followed, profiles, calls))
    finally:
        await kernel.close()
    without, with_follower = (sum(values) / len(values) for values in figures.values())
    ratio = with_follower / without
    print(f"without follower: {without:,.0f} calls/s; with it (no automation): {with_follower:,.0f} calls/s")
    print(f"ratio with/without: {ratio:.3f}")
    summary = {
        "benchmark": "profile_trigger_cost",
        "calls_per_second_without": round(without),
        "calls_per_second_with": round(with_follower),
        "ratio": round(ratio, 3),
    }
    print(orjson.dumps(summary).decode())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=4)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.profiles, arguments.calls, arguments.rounds))
