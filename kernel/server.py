"""Assembles the gRPC server: servicers, health checking, reflection, graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from herald.v1 import (
    automations_pb2,
    automations_pb2_grpc,
    campaigns_pb2,
    campaigns_pb2_grpc,
    channels_pb2,
    channels_pb2_grpc,
    messages_pb2,
    messages_pb2_grpc,
    pressure_pb2,
    pressure_pb2_grpc,
    profiles_pb2,
    profiles_pb2_grpc,
    projects_pb2,
    projects_pb2_grpc,
    segments_pb2,
    segments_pb2_grpc,
    stats_pb2,
    stats_pb2_grpc,
    templates_pb2,
    templates_pb2_grpc,
    webhooks_pb2,
    webhooks_pb2_grpc,
)
from kernel.api.automations import AutomationServicer
from kernel.api.campaigns import CampaignServicer
from kernel.api.channels import ChannelServicer
from kernel.api.guard import CallGuard
from kernel.api.handler_table import HandlerTable
from kernel.api.limits import MAX_MESSAGE_BYTES
from kernel.api.messages import MessageServicer
from kernel.api.pressure import PressureServicer
from kernel.api.profiles import ProfileServicer
from kernel.api.projects import ProjectServicer
from kernel.api.segments import SegmentServicer
from kernel.api.stats import StatsServicer
from kernel.api.templates import TemplateServicer
from kernel.api.webhook_endpoints import WebhookEndpointServicer
from kernel.api_processes import ApiSiblings
from kernel.app import Kernel
from kernel.delivery.app_reports import AppReports
from kernel.delivery.feedback import FeedbackProcessor
from kernel.engage.segments import Segments, Vocabulary
from kernel.engage.templates import Templates, TemplateStore
from kernel.grpc_tls import server_credentials
from kernel.key_sources import admin_key_file, ensure_admin_key, note_key_file
from kernel.settings import Settings
from kernel.webhooks import WebhookServer, listening_address, local_url

log = logging.getLogger(__name__)

SERVICE_NAMES = (
    projects_pb2.DESCRIPTOR.services_by_name["ProjectService"].full_name,
    profiles_pb2.DESCRIPTOR.services_by_name["ProfileService"].full_name,
    channels_pb2.DESCRIPTOR.services_by_name["ChannelService"].full_name,
    messages_pb2.DESCRIPTOR.services_by_name["MessageService"].full_name,
    segments_pb2.DESCRIPTOR.services_by_name["SegmentService"].full_name,
    templates_pb2.DESCRIPTOR.services_by_name["TemplateService"].full_name,
    stats_pb2.DESCRIPTOR.services_by_name["StatsService"].full_name,
    webhooks_pb2.DESCRIPTOR.services_by_name["WebhookEndpointService"].full_name,
    campaigns_pb2.DESCRIPTOR.services_by_name["CampaignService"].full_name,
    automations_pb2.DESCRIPTOR.services_by_name["AutomationService"].full_name,
    pressure_pb2.DESCRIPTOR.services_by_name["PressureService"].full_name,
)


@dataclass
class RunningServer:
    kernel: Kernel
    server: grpc.aio.Server
    health: health.HealthServicer
    port: int
    webhooks: WebhookServer

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def stop(self, grace: float) -> None:
        """Refuse new calls (health NOT_SERVING), let in-flight ones finish for ``grace`` s, then close."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        await self.webhooks.stop()
        await self.kernel.close()


async def start(settings: Settings, admin_key: str) -> RunningServer:
    credentials = server_credentials(settings.grpc_tls_cert_file, settings.grpc_tls_key_file)
    kernel = await Kernel.open(settings, admin_key)
    kernel.start_scheduler()
    server = grpc.aio.server(
        interceptors=[CallGuard(kernel.auth)],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            # gRPC's default on Linux, relied upon by api_processes (kernel.api_processes).
            ("grpc.so_reuseport", 1),
        ],
    )
    # Every service goes into one table, which the server asks as its only generic handler (why: see
    # kernel.api.handler_table).
    handlers = HandlerTable()
    projects_pb2_grpc.add_ProjectServiceServicer_to_server(
        ProjectServicer(kernel.projects, kernel.auth), handlers
    )
    profiles_pb2_grpc.add_ProfileServiceServicer_to_server(ProfileServicer(kernel), handlers)
    channels_pb2_grpc.add_ChannelServiceServicer_to_server(
        ChannelServicer(kernel.channels, kernel.channel_configs, kernel.throttle_board), handlers
    )
    template_store = TemplateStore(kernel.db.pool)
    messages_pb2_grpc.add_MessageServiceServicer_to_server(
        MessageServicer(
            kernel.transactional,
            kernel.sends,
            kernel.db.pool,
            template_store,
            kernel.projects,
            AppReports(kernel.db.pool, kernel.channels, FeedbackProcessor(kernel.db.pool)),
        ),
        handlers,
    )
    templates_pb2_grpc.add_TemplateServiceServicer_to_server(
        TemplateServicer(Templates(kernel.db.pool, template_store, kernel.projects, kernel.channels)),
        handlers,
    )
    segments_pb2_grpc.add_SegmentServiceServicer_to_server(
        SegmentServicer(Segments(kernel.db.pool), Vocabulary.of(kernel.channels), kernel.limits), handlers
    )
    stats_pb2_grpc.add_StatsServiceServicer_to_server(StatsServicer(kernel.db.pool), handlers)
    webhooks_pb2_grpc.add_WebhookEndpointServiceServicer_to_server(
        WebhookEndpointServicer(kernel.webhook_endpoints), handlers
    )
    campaigns_pb2_grpc.add_CampaignServiceServicer_to_server(CampaignServicer(kernel.campaigns), handlers)
    automations_pb2_grpc.add_AutomationServiceServicer_to_server(
        AutomationServicer(kernel.automations), handlers
    )
    pressure_pb2_grpc.add_PressureServiceServicer_to_server(
        PressureServicer(kernel.db.pool, kernel.channels), handlers
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, handlers)
    for name in (*SERVICE_NAMES, ""):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), handlers
    )
    server.add_generic_rpc_handlers((handlers,))
    port = (
        server.add_insecure_port(settings.grpc_address)
        if credentials is None
        else server.add_secure_port(settings.grpc_address, credentials)
    )
    if port == 0:
        await kernel.close()
        raise RuntimeError(f"cannot listen on {settings.grpc_address}")
    webhooks = WebhookServer(
        kernel.channels,
        kernel.channel_configs,
        kernel.webhook_queue,
        settings.webhook_receive_concurrency,
        settings.webhook_bytes_per_second,
    )
    await webhooks.start(*listening_address(settings.webhook_address))
    if kernel.sandbox is not None:
        kernel.sandbox.receive_webhooks_at(webhooks.local_url)
    await server.start()
    log.info(
        "herald listening",
        extra={
            "address": settings.grpc_address,
            "port": port,
            "tls": credentials is not None,
            "webhook_port": webhooks.port,
        },
    )
    return RunningServer(kernel, server, health_servicer, port, webhooks)


@contextlib.asynccontextmanager
async def running(settings: Settings, admin_key: str) -> AsyncIterator[RunningServer]:
    """A started server for the block's duration (what the tests use)."""
    running_server = await start(settings, admin_key)
    try:
        yield running_server
    finally:
        await running_server.stop(settings.shutdown_grace_seconds)


def herald_command() -> str:
    """How to run ``herald`` from here: the bare name when it is on PATH, else the virtualenv's script."""
    if shutil.which("herald"):
        return "herald"
    script = Path(sys.executable).with_name("herald")
    return os.path.relpath(script) if script.is_relative_to(Path.cwd()) else str(script)


def first_call_banner(settings: Settings, admin_key: str) -> str:
    cert = settings.grpc_tls_cert_file
    # A self-signed certificate is its own authority; one a CA signed needs that CA's file instead.
    cli_tls, grpcurl_tls = (f" --ca-file {cert}", f"-cacert {cert}") if cert else ("", "-plaintext")
    return (
        f"\nHerald generated an admin key (kept in {admin_key_file(settings)}):\n\n    {admin_key}\n\n"
        "Create your first project and API key:\n\n"
        f"    {herald_command()} project create 'My app'{cli_tls}\n\n"
        f"(or with grpcurl: grpcurl {grpcurl_tls} -H 'authorization: Bearer "
        f'{admin_key}\' -d \'{{"name": "My app"}}\' {settings.grpc_address} '
        "herald.v1.ProjectService/CreateProject)\n"
    )


#: Allocations between two collections of the youngest generation (CPython's default is 700). A bulk
#: batch's messages live until their provider answers, thousands of container objects each: at 700 every
#: one of them was walked by a young collection, again when promoted, and by the full collections their
#: promotions set off. At this threshold a young collection walks at most this many objects (a millisecond
#: or two), and most of a batch's objects are freed by their reference counts before one runs.
YOUNG_COLLECTION_THRESHOLD = 50_000


def tune_garbage_collector() -> None:
    """Move everything start-up allocated (modules, plugins, protobuf descriptors: most of the heap) out
    of the garbage collector's reach, and collect the young generation less often. A full collection
    otherwise walks all of the start-up heap: 40-54 ms pauses, several times a minute under load,
    measured as the p99 of single-event calls."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, older, oldest)


def announce_settings(settings: Settings, process: str) -> None:
    """Log the values this process runs with (secrets masked): what it does is then never a guess."""
    log.info("effective settings", extra={"role": process, "settings": settings.effective()})


async def serve(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then drain in-flight calls for ``shutdown_grace_seconds``."""
    announce_settings(settings, "serve")
    admin_key, generated = ensure_admin_key(settings)
    running_server = await start(settings, admin_key)
    note_key_file(settings, running_server.port)
    siblings = ApiSiblings()
    siblings.start(settings, running_server.port)
    tune_garbage_collector()
    if generated:
        print(first_call_banner(settings, admin_key), flush=True)
    await _until_signalled()
    log.info("shutting down", extra={"grace_seconds": settings.shutdown_grace_seconds})
    grace = settings.shutdown_grace_seconds
    await asyncio.gather(siblings.stop(grace), running_server.stop(grace))


async def work(settings: Settings) -> None:
    """``herald worker``: sender workers only (no API), until SIGINT/SIGTERM; then the batches in flight
    finish (for ``shutdown_grace_seconds``)."""
    announce_settings(settings, "worker")
    kernel = await Kernel.open(settings, admin_key="")
    if kernel.sandbox is not None:
        # This process receives no webhooks: its emulators report to the kernels' endpoint.
        kernel.sandbox.receive_webhooks_at(local_url(settings.webhook_address))
    tune_garbage_collector()
    log.info("herald worker running", extra={"workers": settings.worker_count})
    await _until_signalled()
    await kernel.close()


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
