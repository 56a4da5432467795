"""What gRPC's asyncio server alone spends per unary call, with the methods registered on the server (as
the generated ``add_*Servicer_to_server`` functions do) or served from one table (kernel.api.handler_table).

    .venv/bin/python benchmarks/grpc_dispatch_bench.py [--rate 1000] [--seconds 8] [--runs 3] [--services 11]

A server process of its own (uvloop, as ``herald serve``) answers an echo method, no Herald code in the
call, with ``--services`` services of 7 methods registered besides it (Herald has 11 services, health and
reflection: about 80 methods). h2load offers ``--rate`` calls/s for ``--seconds`` from 20 connections;
the server's CPU time per answered call is printed for each way, alternating run by run, then their ratio.
With the machine shared, the CPU per call is the figure to compare, not the latency. The last line
printed is the JSON summary.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
import orjson
import psutil
from h2load_runner import ensure_h2load
from herald_process import free_port

from kernel.api.handler_table import HandlerTable

SERVICE = "bench.Echo"
METHODS_PER_SERVICE = 7
CONNECTIONS = 20
WAYS = ("registered", "table")


async def _echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    return request


def _add_service(target: grpc.aio.Server | HandlerTable, name: str) -> None:
    """What a generated ``add_*Servicer_to_server`` does with a service of METHODS_PER_SERVICE methods."""
    handlers = {f"M{n}": grpc.unary_unary_rpc_method_handler(_echo) for n in range(METHODS_PER_SERVICE)}
    target.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, handlers),))
    target.add_registered_method_handlers(name, handlers)


async def _serve(port: int, way: str, services: int) -> None:
    server = grpc.aio.server()
    target: grpc.aio.Server | HandlerTable = server if way == "registered" else HandlerTable()
    for number in range(services):
        _add_service(target, f"bench.Other{number}")
    _add_service(target, SERVICE)
    if isinstance(target, HandlerTable):
        server.add_generic_rpc_handlers((target,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def _run(h2load: str, way: str, args: argparse.Namespace, folder: Path) -> dict[str, float]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), way, str(args.services)],
        cwd=Path(__file__).parent.parent,
    )
    try:
        _wait_listening(port)
        body = folder / "body.bin"
        body.write_bytes(b"\x00" + (16).to_bytes(4, "big") + b"x" * 16)
        process = psutil.Process(server.pid)
        before = sum(process.cpu_times()[:2])
        output = subprocess.run(
            [
                h2load,
                f"--clients={CONNECTIONS}",
                "--max-concurrent-streams=100",
                f"--rps={args.rate / CONNECTIONS:g}",
                f"--duration={args.seconds}",
                f"--data={body}",
                "--header=content-type: application/grpc",
                "--header=te: trailers",
                f"http://127.0.0.1:{port}/{SERVICE}/M0",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        cpu = sum(process.cpu_times()[:2]) - before
    finally:
        server.kill()
        server.wait()
    answered = int(next(line for line in output.splitlines() if line.startswith("requests:")).split()[7])
    return {"answered": answered, "server_us_per_call": round(cpu / answered * 1e6, 1)}


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 1):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit("the echo server did not start")


def main() -> int:
    if sys.argv[1:2] == ["--serve"]:
        import uvloop

        uvloop.run(_serve(int(sys.argv[2]), sys.argv[3], int(sys.argv[4])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=1000, help="calls/s offered")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--services", type=int, default=11, help="other services besides the echo")
    args = parser.parse_args()
    h2load = ensure_h2load()
    costs: dict[str, list[float]] = {way: [] for way in WAYS}
    with tempfile.TemporaryDirectory(prefix="herald-grpc-dispatch-") as folder:
        for run in range(1, args.runs + 1):
            for way in WAYS:
                load = psutil.getloadavg()[0]
                figures = _run(h2load, way, args, Path(folder))
                costs[way].append(figures["server_us_per_call"])
                print(
                    f"run {run} {way:10}: {figures['answered']:,} calls answered, "
                    f"{figures['server_us_per_call']} us of server CPU per call (load average {load:.1f})",
                    flush=True,
                )
    medians = {way: statistics.median(values) for way, values in costs.items()}
    ratio = round(medians["table"] / medians["registered"], 3)
    print(f"median us per call: registered {medians['registered']}, table {medians['table']} ({ratio}x)")
    summary = {"benchmark": "grpc_dispatch", "rate": args.rate, "methods": (args.services + 1) * 7}
    print(orjson.dumps({**summary, **{f"{w}_us_per_call": costs[w] for w in WAYS}, "ratio": ratio}).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
