"""``herald demo``'s kernel: a sandboxed kernel of its own, on the embedded PostgreSQL of the demo's data
folder, started for the tour and stopped after it, whether it succeeded, failed or was interrupted.

It never runs on a configured ``database_url``: the demo writes a project of synthetic customers, and an
operator's database is no place for them. Its addresses are free loopback ports, so a ``make run`` kernel
may be running beside it; the data folder is its own (``herald-demo`` by default), kept afterwards so
that a kernel started on it shows the demo's projects, and each run adds a project of its own.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc

from kernel.demo.tour import Tour, TourOptions
from kernel.key_sources import ensure_admin_key
from kernel.server import RunningServer, running
from kernel.settings import Settings


@dataclass(frozen=True, slots=True)
class Say:
    """Prints a progress line, with the seconds since the demo started."""

    started: float

    def __call__(self, line: str) -> None:
        print(f"[{time.monotonic() - self.started:5.1f}s] {line}", flush=True)


def demo_settings(settings: Settings, options: TourOptions) -> Settings:
    """The operator's settings, run the demo's way: sandbox mode, embedded database in the demo's folder,
    free loopback ports in plaintext (the demo is its only client), no metrics, workers that send and
    apply the providers' reports (the demo's kernel is alone), and the scheduler polling every second so
    that the winner is chosen soon after the test period."""
    return settings.model_copy(
        update={
            "sandbox": True,
            "channel_endpoints": {},
            "data_dir": options.folder,
            "grpc_address": "127.0.0.1:0",
            "grpc_tls_cert_file": "",
            "grpc_tls_key_file": "",
            "webhook_address": "127.0.0.1:0",
            "metrics_address": "",
            "scheduler_poll_seconds": 1.0,
            "worker_count": max(settings.worker_count, 1),
            "webhook_workers": max(settings.webhook_workers, 1),
        }
    )


def settled_on(server: RunningServer) -> Callable[[uuid.UUID], Awaitable[None]]:
    """Waits for the sandbox's emulators to post their reports and the kernel to apply them."""

    async def settled(project_id: uuid.UUID) -> None:
        assert server.kernel.sandbox is not None
        await server.kernel.sandbox.feedback_settled()
        await server.kernel.webhook_queue.drain(project_id)

    return settled


async def run_demo(settings: Settings, options: TourOptions) -> str:
    """The whole demo; returns the campaign's id. The embedded PostgreSQL it started is stopped when this
    returns or raises (cancelled by Ctrl-C included)."""
    say = Say(time.monotonic())
    settings = demo_settings(settings, options)
    options.folder.mkdir(parents=True, exist_ok=True)
    admin_key, _ = ensure_admin_key(settings)
    say(f"starting a sandboxed kernel on the embedded PostgreSQL in {options.folder / 'postgres'}")
    try:
        async with running(settings, admin_key) as server:
            say(f"kernel listening on {server.address}; every channel delivers to its provider's emulator")
            async with grpc.aio.insecure_channel(server.address) as channel:
                tour = Tour(channel, server.address, admin_key, options, say, settled_on(server))
                return await tour.run()
    finally:
        say("kernel and embedded PostgreSQL stopped")
