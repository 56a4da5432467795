"""The locust load test in one command: a fresh kernel, a project, its customers, then locust headless.

    .venv/bin/python benchmarks/run_locust.py [--seconds 30] [--users 100] [--rate 2000]

Starts ``herald serve`` in its own process (scratch data folder, embedded PostgreSQL), creates a project
and ``--people`` customers, and runs ``benchmarks/locustfile.py`` headless in another process: ``--users``
users together aiming at ``--rate`` calls/s (0: each as fast as it can). Statistics start once every
user is running. Prints calls/s, p50 and p99 per RPC and the cores used by the kernel and PostgreSQL;
the last line is the JSON summary.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
from herald_process import cpu_report, herald_kernel, seed_customers

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def run_locust(address: str, api_key: str, args: argparse.Namespace, folder: Path) -> list[dict[str, str]]:
    env = {
        **os.environ,
        "HERALD_API_KEY": api_key,
        "HERALD_BENCH_PEOPLE": str(args.people),
        "HERALD_BENCH_USER_RATE": str(args.rate / args.users if args.rate else 0),
    }
    command = [
        *(sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary"),
        *("-u", str(args.users), "-r", str(args.users), "-t", f"{args.seconds}s", "--reset-stats"),
        *("--host", address, "--csv", str(folder / "locust"), "--stop-timeout", "5"),
        *("--loglevel", "WARNING"),
    ]
    with (folder / "locust.log").open("w") as log:
        subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    with (folder / "locust_stats.csv").open() as stats:
        return list(csv.DictReader(stats))


def children_cpu_seconds() -> float:
    """CPU used by this process's finished children: here, locust (the kernel is still running)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def summarise(rows: list[dict[str, str]]) -> dict[str, float]:
    figures: dict[str, float] = {}
    print(f"{'call':<16}{'calls/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'failures':>10}")
    for row in rows:
        name = "total" if row["Name"] == "Aggregated" else row["Name"]
        rate, failures = float(row["Requests/s"]), int(row["Failure Count"])
        p50, p99 = float(row["50%"]), float(row["99%"])
        print(f"{name:<16}{rate:>9,.0f}{p50:>8.0f}{p99:>8.0f}{failures:>10}")
        key = name if name == "total" else name.lower()
        figures.update({f"{key}_per_s": round(rate), f"{key}_p50_ms": p50, f"{key}_p99_ms": p99})
        figures[f"{key}_failures"] = failures
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--rate", type=float, default=2000.0, help="calls/s aimed at, all users (0: max)")
    parser.add_argument("--people", type=int, default=10_000)
    args = parser.parse_args()
    with herald_kernel() as kernel, tempfile.TemporaryDirectory(prefix="herald-locust-") as folder:
        seed_customers(kernel, args.people)
        before, started = {**kernel.cpu_seconds(), "locust": children_cpu_seconds()}, time.monotonic()
        rows = run_locust(kernel.address, kernel.api_key, args, Path(folder))
        after = {**kernel.cpu_seconds(), "locust": children_cpu_seconds()}
        cpu = cpu_report(before, after, time.monotonic() - started)
    figures = summarise(rows)
    print(
        f"cores used: kernel {cpu['kernel_cores']}, PostgreSQL {cpu['postgres_cores']}, "
        f"locust {cpu['locust_cores']} (averaged over the locust run, ramp-up included)"
    )
    summary = {"benchmark": "locust", "users": args.users, "target_per_s": args.rate, **figures, **cpu}
    print(orjson.dumps(summary).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
