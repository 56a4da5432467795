"""Generated profile files and ``herald import`` run as an operator runs it, for the benchmarks.

A generated profile has an attribute of each type (string, number, true/false, date-time, list of
strings), an email, a phone on every second profile, and an email marketing subscription: what a CRM
export looks like, and every part of an upsert the server must apply.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

CITIES = ("Paris", "Lyon", "Nantes", "Lille", "Bordeaux")


def custom_id(n: int) -> str:
    """Fixed width, so that a request body can be rewritten in place for another customer."""
    return f"customer-{n:07d}"


def profile_line(n: int) -> bytes:
    """Profile ``n`` as a JSONL line."""
    row: dict[str, object] = {
        "custom_id": custom_id(n),
        "attributes": {
            "first_name": f"Name{n}",
            "city": CITIES[n % len(CITIES)],
            "age": 18 + n % 60,
            "vip": n % 10 == 0,
            "signup": {"datetime": f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}T10:00:00Z"},
            "tags": ["newsletter", f"segment-{n % 20}"],
        },
        "emails": [f"customer{n}@example{n % 50}.com"],
        "subscriptions": [{"channel": "email", "purpose": "marketing", "topic": "", "status": "opted_in"}],
    }
    if n % 2 == 0:
        row["phones"] = [f"+336{n % 100_000_000:08d}"]
    return orjson.dumps(row) + b"\n"


def write_profiles(path: Path, count: int) -> int:
    """Write profiles 0 .. count-1 to ``path``; returns the file's size in bytes."""
    with path.open("wb") as file:
        for start in range(0, count, 10_000):
            file.write(b"".join(profile_line(n) for n in range(start, min(start + 10_000, count))))
    return path.stat().st_size


@dataclass(frozen=True)
class CliImport:
    seconds: float
    summary: str
    peak_rss_mb: float
    #: User and system CPU time of the command, to set against the kernel's and PostgreSQL's.
    cpu_seconds: float


def run_cli_import(path: Path, address: str, api_key: str) -> CliImport:
    """``herald import PATH`` in its own process, timed from start to exit; its summary, peak RSS and CPU
    time."""
    herald = Path(sys.executable).parent / "herald"
    started = time.monotonic()
    popen = subprocess.Popen(
        [str(herald), "import", str(path), "--address", address],
        env={**os.environ, "HERALD_API_KEY": api_key},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert popen.stdout is not None
    output = popen.stdout.read().decode()
    _, status, usage = os.wait4(popen.pid, 0)
    seconds = time.monotonic() - started
    popen.returncode = os.waitstatus_to_exitcode(status)
    if popen.returncode != 0:
        raise RuntimeError(f"herald import exited with {popen.returncode}:\n{output[-3000:]}")
    return CliImport(seconds, output.strip(), usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)
