"""The locust load test in one command, against a fresh kernel or an existing deployment.

    .venv/bin/python benchmarks/run_locust.py [--seconds 30] [--users 100] [--rate 2000]
    .venv/bin/python benchmarks/run_locust.py --host herald.internal:50051 --api-key hrk_... [...]
    .venv/bin/python benchmarks/run_locust.py --host herald.internal:50051 --admin-key hadm_... [...]

Without ``--host``, starts ``herald serve`` in its own process (scratch data folder, embedded PostgreSQL)
and creates a project. With ``--host``, calls that Herald, in the project of ``--api-key``
(``$HERALD_API_KEY``), or in a new project created with ``--admin-key`` (``$HERALD_ADMIN_KEY``). Then runs
``benchmarks/locustfile.py`` headless in another process: it creates ``--people`` customers of the run's
own, then ``--users`` users together aim at ``--rate`` calls/s (0: each as fast as it can). Statistics
start once every user is running. Prints calls/s, p50 and p99 per RPC, and the cores used (the kernel's
and PostgreSQL's only for a kernel it started); the last line is the JSON summary.
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
from herald_process import Kernel, cpu_report, herald_kernel

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def run_locust(
    address: str, keys: dict[str, str], args: argparse.Namespace, folder: Path
) -> list[dict[str, str]]:
    """Locust's statistics per RPC; ``keys``: HERALD_API_KEY or HERALD_ADMIN_KEY for the locustfile."""
    env = {
        **{
            name: value
            for name, value in os.environ.items()
            if name not in ("HERALD_API_KEY", "HERALD_ADMIN_KEY")
        },
        **keys,
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
        rows = list(csv.DictReader(stats))
    if not any(int(row["Request Count"]) for row in rows):
        print((folder / "locust.log").read_text()[-3000:], file=sys.stderr)
        raise SystemExit("locust made no call (its log is above)")
    return rows


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


def measure(
    address: str, keys: dict[str, str], args: argparse.Namespace, kernel: Kernel | None
) -> dict[str, float]:
    """Run locust; its figures per RPC, and the cores each side used (the kernel's when it is ours)."""
    with tempfile.TemporaryDirectory(prefix="herald-locust-") as folder:
        before = {**(kernel.cpu_seconds() if kernel else {}), "locust": children_cpu_seconds()}
        started = time.monotonic()
        rows = run_locust(address, keys, args, Path(folder))
        after = {**(kernel.cpu_seconds() if kernel else {}), "locust": children_cpu_seconds()}
    cpu = cpu_report(before, after, time.monotonic() - started)
    figures = summarise(rows)
    print(
        "cores used: " + ", ".join(f"{side.removesuffix('_cores')} {cores}" for side, cores in cpu.items()),
        "(averaged over the locust run, customers and ramp-up included)",
    )
    return {**figures, **cpu}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--rate", type=float, default=2000.0, help="calls/s aimed at, all users (0: max)")
    parser.add_argument("--people", type=int, default=10_000, help="customers the run creates first")
    parser.add_argument("--host", default="", help="an existing Herald's gRPC address (default: start one)")
    parser.add_argument("--api-key", default=os.environ.get("HERALD_API_KEY", ""), help="with --host")
    parser.add_argument("--admin-key", default=os.environ.get("HERALD_ADMIN_KEY", ""), help="with --host")
    args = parser.parse_args()
    if args.host:
        if not (args.api_key or args.admin_key):
            parser.error("--host needs --api-key (or $HERALD_API_KEY) or --admin-key (or $HERALD_ADMIN_KEY)")
        keys = {"HERALD_API_KEY": args.api_key} if args.api_key else {"HERALD_ADMIN_KEY": args.admin_key}
        figures = measure(args.host, keys, args, None)
    else:
        with herald_kernel() as kernel:
            figures = measure(kernel.address, {"HERALD_API_KEY": kernel.api_key}, args, kernel)
    target = args.host or "own kernel"
    summary = {
        "benchmark": "locust",
        "host": target,
        "users": args.users,
        "target_per_s": args.rate,
        **figures,
    }
    print(orjson.dumps(summary).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
