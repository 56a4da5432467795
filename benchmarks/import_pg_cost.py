"""Where PostgreSQL's CPU goes when ``herald import`` stores new profiles: CPU time per profile by statement.

    .venv/bin/python benchmarks/import_pg_cost.py [--profiles 20000]

A fresh kernel (scratch data folder, embedded PostgreSQL) imports a generated file (benchmarks/
profile_files.py) through the ``herald import`` command, with PostgreSQL logging every statement and the
CPU time (getrusage) of each protocol message (``log_statement_stats``). Each message's CPU is added to
the statement it ran for (parse, bind and execute apart: bind is where the arrays and JSON documents of
the parameters are read), and printed per profile imported, largest first. Logging each message costs
some CPU of its own: compare the shares, and ``import_bench.py`` for totals.

No foreign key is left on the profile tables (migrations 0029 and 0053: their writers keep the rows to
their profiles and profiles to their project). The last line printed is the JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

import asyncpg
import orjson
from herald_process import Kernel, herald_kernel
from profile_files import run_cli_import, write_profiles

SHOWN = 12
_STATS = re.compile(r"\[(\d+)\] LOG:  (PARSE|BIND|EXECUTE|QUERY) (?:MESSAGE )?STATISTICS")
_USAGE = re.compile(r"([\d.]+) s user, ([\d.]+) s system")
_STATEMENT = re.compile(
    r"\[(\d+)\] LOG:  duration: [\d.]+ ms\s+(?:statement|execute|bind|parse)[^:]*:\s*(.*)"
)


async def prepare(kernel: Kernel) -> None:
    conn = await asyncpg.connect(kernel.dsn)
    try:
        for setting, value in (
            ("log_line_prefix", "'%m [%p] '"),
            ("log_min_duration_statement", "0"),
            ("log_statement_stats", "on"),
        ):
            await conn.execute(f"ALTER SYSTEM SET {setting} = {value}")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


def cpu_by_statement(log: str) -> Counter[str]:
    """CPU seconds per statement (its first line) and message type, from the log: a message's statistics
    follow the line that names its statement, in the same backend."""
    lines = log.split("\n")
    current: dict[str, str] = {}
    cpu: Counter[str] = Counter()
    for number, line in enumerate(lines):
        named = _STATEMENT.search(line)
        if named:
            text = named.group(2).strip() or lines[number + 1].strip()
            current[named.group(1)] = " ".join(text.split())[:70]
            continue
        stats = _STATS.search(line)
        if stats and number + 2 < len(lines) and stats.group(1) in current:
            usage = _USAGE.search(lines[number + 2])
            if usage:
                key = f"{stats.group(2).lower():7} {current[stats.group(1)]}"
                cpu[key] += float(usage.group(1)) + float(usage.group(2))
    return cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=20_000)
    args = parser.parse_args()
    count = args.profiles
    folder = Path(tempfile.mkdtemp(prefix="herald-import-pg-cost-"))
    try:
        path = folder / "profiles.jsonl"
        write_profiles(path, count)
        with herald_kernel() as kernel:
            asyncio.run(prepare(kernel))
            run_cli_import(path, kernel.address, kernel.api_key)
            log = (kernel.data_dir / "postgres" / "log").read_text(errors="replace")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    cpu = cpu_by_statement(log)
    total = sum(cpu.values())
    print(f"{count:,} new profiles:")
    print(f"PostgreSQL CPU logged: {total / count * 1e6:.1f} us per profile")
    for statement, seconds in cpu.most_common(SHOWN):
        print(f"{seconds / count * 1e6:7.1f} us  {statement}")
    summary = {
        "benchmark": "import_pg_cost",
        "profiles": count,
        "postgres_us_per_profile": round(total / count * 1e6, 1),
        "by_statement_us_per_profile": {
            statement: round(seconds / count * 1e6, 1) for statement, seconds in cpu.most_common(SHOWN)
        },
    }
    print(orjson.dumps(summary).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
