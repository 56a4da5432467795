"""Open-loop gRPC load from h2load: a fixed rate of calls to one method, every call's latency logged.

The load generator matters on a 2-core machine: a Python gRPC client spends about as much CPU per call
as the kernel does, so it takes the kernel's second core. h2load (Debian's nghttp2-client, installed on
demand) is written in C and speaks HTTP/2, which is all gRPC needs: it sends a length-prefixed request
read from a file, open loop, at a fixed rate, and logs every request's latency. It reads the file again
(``pread``) for each request, so a process rewriting part of the file makes the requests differ.
gRPC reports errors in trailers that h2load does not read: a benchmark checks its outcome in the
database.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from google.protobuf.message import Message
from herald_process import Kernel

CLIENTS = 4
#: Seconds of calls before the measured ones.
WARM_UP = 2


def ensure_h2load() -> str:
    found = shutil.which("h2load")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-q", "nghttp2-client"], check=True, capture_output=True)
    return shutil.which("h2load") or sys.exit("h2load is not available")


def grpc_frame(request: Message) -> bytes:
    """One gRPC message: a 5-byte prefix (not compressed, big-endian length), then the request."""
    data = request.SerializeToString()
    return b"\x00" + len(data).to_bytes(4, "big") + data


@dataclass(frozen=True)
class Load:
    answered_ms: list[float]
    failed: int
    elapsed: float
    # h2load's own last line.
    summary: str

    def percentiles(self) -> dict[str, float]:
        cuts = statistics.quantiles(self.answered_ms, n=100)
        return {"p50_ms": round(cuts[49], 1), "p90_ms": round(cuts[89], 1), "p99_ms": round(cuts[98], 1)}


def open_loop(h2load: str, kernel: Kernel, path: str, body: Path, rate: float, seconds: int) -> Load:
    """``rate`` calls/s of ``body`` (a gRPC frame) to the method ``path`` for ``seconds`` (after
    WARM_UP s), from CLIENTS connections.

    h2load's rate mode wakes each connection every 10 ms and sends the calls due in one write: they read
    the body at the same instant (see :func:`paced_loop` for calls that must differ)."""
    log = body.with_suffix(".log")
    started = time.monotonic()
    output = subprocess.run(
        _command(h2load, kernel, path, body, log, CLIENTS, rate, seconds),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return _load(_rows(log), time.monotonic() - started, output)


def paced_loop(h2load: str, kernel: Kernel, path: str, bodies: list[Path], rate: float, seconds: int) -> Load:
    """Like :func:`open_loop`, from one h2load process (one connection) per body, each sending one call
    per 10 ms tick (at most 100 calls/s each): a process rewriting each body between two ticks makes
    every call differ."""
    if rate / len(bodies) > 100:
        raise ValueError(f"{len(bodies)} bodies send {rate:g} calls/s: at most 100 calls/s each")
    logs = [body.with_suffix(".log") for body in bodies]
    started = time.monotonic()
    processes = [
        subprocess.Popen(
            _command(h2load, kernel, path, body, log, 1, rate / len(bodies), seconds),
            stdout=subprocess.PIPE,
            text=True,
        )
        for body, log in zip(bodies, logs, strict=True)
    ]
    outputs = [process.communicate()[0] for process in processes]
    if any(process.returncode for process in processes):
        sys.exit(f"h2load failed: {[process.returncode for process in processes]}")
    rows = [row for log in logs for row in _rows(log)]
    return _load(rows, time.monotonic() - started, outputs[0])


def _command(
    h2load: str, kernel: Kernel, path: str, body: Path, log: Path, clients: int, rate: float, seconds: int
) -> list[str]:
    return [
        h2load,
        f"--clients={clients}",
        "--max-concurrent-streams=200",
        f"--rps={rate / clients:g}",
        f"--duration={seconds}",
        f"--warm-up-time={WARM_UP}",
        f"--data={body}",
        f"--log-file={log}",
        "--header=content-type: application/grpc",
        "--header=te: trailers",
        f"--header=authorization: Bearer {kernel.api_key}",
        f"http://{kernel.address}{path}",
    ]


def _rows(log: Path) -> list[list[str]]:
    """h2load's log: start, status, duration in microseconds."""
    return [line.split("\t") for line in log.read_text().splitlines() if line]


def _load(rows: list[list[str]], elapsed: float, output: str) -> Load:
    answered = [int(r[2]) / 1000 for r in rows if r[1] == "200"]
    last = output.strip().splitlines()[-1] if output.strip() else ""
    return Load(answered, len(rows) - len(answered), elapsed, last)
