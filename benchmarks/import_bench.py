"""``herald import`` of generated profiles into an empty project: profiles/s, and memory against file size.

    .venv/bin/python benchmarks/import_bench.py [--small 100000] [--large 1000000] [--backend-states]

For each size, a fresh kernel (``herald serve`` in its own process, scratch data folder, embedded
PostgreSQL, a new project) and a JSONL file of that many generated profiles (benchmarks/profile_files.py:
an attribute of each type, an email each, a phone on half, a subscription), imported by the ``herald
import`` command as an operator runs it. Profiles/s is the profiles stored over the command's wall time
(start-up included). The kernel's peak RSS (VmHWM) and the command's are printed at both sizes: memory
that is flat in the file's size is the same at both. The CPU time per profile of the kernel, PostgreSQL
and the command, and the WAL bytes per profile, say where a rate's 2-core budget goes. The database must
hold every profile, its email and half as many phones. With ``--backend-states``, what the kernel's
PostgreSQL connections were doing is sampled during each import (benchmarks/backend_states.py: running,
waiting for a lock, waiting for the kernel), at some CPU cost of its own. The last line printed is the JSON
summary.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from backend_states import BackendStates
from herald_process import Kernel, cpu_report, herald_kernel, peak_rss_mb
from profile_files import run_cli_import, write_profiles


async def stored(kernel: Kernel) -> dict[str, int]:
    conn = await asyncpg.connect(kernel.dsn)
    try:
        profiles = await conn.fetchval("SELECT count(*) FROM profiles")
        kinds = await conn.fetch("SELECT kind, count(*) AS n FROM profile_addresses GROUP BY kind")
        subscriptions = await conn.fetchval("SELECT count(*) FROM profile_subscriptions")
    finally:
        await conn.close()
    return {"profiles": profiles, "subscriptions": subscriptions, **{r["kind"]: r["n"] for r in kinds}}


async def wal_written(kernel: Kernel) -> int:
    """The WAL bytes PostgreSQL has written since its statistics were reset."""
    conn = await asyncpg.connect(kernel.dsn)
    try:
        return int(await conn.fetchval("SELECT wal_bytes FROM pg_stat_wal"))
    finally:
        await conn.close()


def check(count: int, rows: dict[str, int]) -> None:
    expected = {"profiles": count, "subscriptions": count, "email": count, "phone": (count + 1) // 2}
    if rows != expected:
        sys.exit(f"stored {rows}, expected {expected}")


def run(count: int, folder: Path, sample_backends: bool) -> dict[str, Any]:
    path = folder / f"profiles-{count}.jsonl"
    print(f"writing {count:,} profiles ...", flush=True)
    size = write_profiles(path, count)
    with herald_kernel() as kernel:
        wal_before = asyncio.run(wal_written(kernel))
        before = kernel.cpu_seconds()
        with contextlib.ExitStack() as sampling:
            states = sampling.enter_context(BackendStates(kernel.dsn)) if sample_backends else None
            cli = run_cli_import(path, kernel.address, kernel.api_key)
        after = kernel.cpu_seconds()
        cores = cpu_report(before, after, cli.seconds)
        wal_bytes = asyncio.run(wal_written(kernel)) - wal_before
        kernel_rss = peak_rss_mb(kernel.process)
        rows = asyncio.run(stored(kernel))
    path.unlink()
    check(count, rows)
    result = {
        "profiles": count,
        "file_mb": round(size / 1e6, 1),
        "seconds": round(cli.seconds, 1),
        "profiles_per_s": round(count / cli.seconds),
        "kernel_peak_rss_mb": round(kernel_rss, 1),
        "cli_peak_rss_mb": round(cli.peak_rss_mb, 1),
        **cores,
        "cli_cores": round(cli.cpu_seconds / cli.seconds, 2),
        # CPU time per profile of each process, and the WAL written per profile: what the 2-core budget
        # of a target rate (1e6 / rate microseconds per profile per core) is spent on.
        "kernel_us_per_profile": round((after["kernel"] - before["kernel"]) / count * 1e6),
        "postgres_us_per_profile": round((after["postgres"] - before["postgres"]) / count * 1e6),
        "cli_us_per_profile": round(cli.cpu_seconds / count * 1e6),
        "wal_bytes_per_profile": round(wal_bytes / count),
    }
    if states is not None:
        result["backends"] = states.report()
    print(
        f"{count:,} profiles ({result['file_mb']} MB): {result['profiles_per_s']:,} profiles/s "
        f"({result['seconds']} s); peak RSS kernel {result['kernel_peak_rss_mb']} MB, "
        f"herald import {result['cli_peak_rss_mb']} MB; kernel {cores['kernel_cores']} cores, "
        f"PostgreSQL {cores['postgres_cores']} cores, herald import {result['cli_cores']} cores; CPU per "
        f"profile: kernel {result['kernel_us_per_profile']} us, "
        f"PostgreSQL {result['postgres_us_per_profile']} us, "
        f"herald import {result['cli_us_per_profile']} us; "
        f"WAL {result['wal_bytes_per_profile']} bytes per profile ({cli.summary.splitlines()[0]})",
        flush=True,
    )
    if states is not None:
        print(f"PostgreSQL backends on average: {result['backends']}", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument(
        "--backend-states", action="store_true", help="sample what PostgreSQL's backends are doing"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="herald-import-bench-"))
    try:
        small = run(args.small, folder, args.backend_states)
        large = run(args.large, folder, args.backend_states)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    summary = {
        "benchmark": "import",
        "small": small,
        "large": large,
        "kernel_rss_growth_mb": round(large["kernel_peak_rss_mb"] - small["kernel_peak_rss_mb"], 1),
        "cli_rss_growth_mb": round(large["cli_peak_rss_mb"] - small["cli_peak_rss_mb"], 1),
    }
    print(orjson.dumps(summary).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
