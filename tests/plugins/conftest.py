"""Fixtures shared by the channel-plugin tests."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
from aiohttp import web

from kernel.channels import ChannelSender, ConfigError, WebhookRequest
from kernel.plugins import ChannelManager


@pytest.fixture(scope="session")
def manager() -> ChannelManager:
    """The plugin manager with every channel installed through the entry-point group."""
    return ChannelManager()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def refused_field(manager: ChannelManager, channel: str, config: Mapping[str, Any]) -> str:
    """The key a refused configuration names (the test fails if the configuration is accepted)."""
    with pytest.raises(ConfigError) as raised:
        manager.validate_config(channel, config)
    return raised.value.field


@contextlib.asynccontextmanager
async def channel_sender(
    manager: ChannelManager, channel: str, config: Mapping[str, Any], endpoint: str | None = None
) -> AsyncIterator[ChannelSender]:
    """A sender for the validated ``config`` (pointed at ``endpoint``), closed on exit."""
    sender = manager.sender(channel, manager.validate_config(channel, config), endpoint)
    try:
        yield sender
    finally:
        await sender.close()


@contextlib.asynccontextmanager
async def standalone_emulator(module: str, *arguments: str) -> AsyncIterator[str]:
    """Run ``python -m <module> --port 0 <arguments>`` and yield the endpoint it prints."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, "--port", "0", *arguments, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        yield line.decode().rsplit(" ", 1)[-1].strip()
    finally:
        process.terminate()
        await process.wait()


class WebhookTarget:
    """A loopback HTTP target that records what providers (emulators) post to it."""

    def __init__(self) -> None:
        self.url = ""
        self.received: list[WebhookRequest] = []

    async def _receive(self, request: web.Request) -> web.Response:
        self.received.append(
            WebhookRequest(
                headers=dict(request.headers),
                body=await request.read(),
                query=dict(request.query),
                url=str(request.url),
            )
        )
        return web.Response(text="ok")


@pytest.fixture
async def webhook_target() -> AsyncIterator[WebhookTarget]:
    """Receives webhook posts on 127.0.0.1 at ``.url`` and keeps them as WebhookRequests."""
    target = WebhookTarget()
    app = web.Application()
    app.router.add_post("/{tail:.*}", target._receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    target.url = f"http://{host}:{port}/webhooks"
    try:
        yield target
    finally:
        await runner.cleanup()
