"""The HTTP endpoint providers call back: ``POST /webhooks/<project id>/<channel name>``.

The channel's plugin verifies each call against the project's configuration of the channel and the
webhook credential Herald generated for it; a call it does not vouch for is answered 401 and nothing
of it is kept. A verified call is stored as received and answered 200 at once: the events are parsed
and applied later, from the database (:mod:`kernel.delivery.webhook_queue`). The answer says nothing
about the events, so it cannot tell a caller which addresses belong to customers.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from aiohttp import web

from kernel.channels import ConfigError, WebhookRequest
from kernel.channels.configs import ChannelConfigs
from kernel.delivery.webhook_queue import WebhookQueue
from kernel.errors import HeraldError
from kernel.plugins import ChannelManager, UnknownChannel

log = logging.getLogger(__name__)


class BodyPace:
    """Spreads the reading of webhook bodies over time: at most ``bytes_per_second`` for the whole
    endpoint. Every byte stored is also written to PostgreSQL's log, which the API's commits wait for:
    an unpaced burst of large posts slows every API call. A provider sending faster than this is held
    back by TCP (its post takes longer), not refused."""

    def __init__(self, bytes_per_second: int) -> None:
        self._seconds_per_byte = 1 / bytes_per_second
        self._next = 0.0

    async def take(self, size: int) -> None:
        """Wait for the time slot of ``size`` more bytes."""
        now = asyncio.get_running_loop().time()
        start = max(now, self._next)
        self._next = start + size * self._seconds_per_byte
        if start > now:
            await asyncio.sleep(start - now)


async def _read_at_most(request: web.Request, limit: int, pace: BodyPace) -> bytes | None:
    """The body, or None as soon as it proves longer than ``limit`` (the rest is never read)."""
    chunks = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            return None
        await pace.take(len(chunk))
        chunks.append(chunk)
    return b"".join(chunks)


def listening_address(address: str) -> tuple[str, int]:
    """The host and port of a ``host:port`` setting (an IPv6 host in brackets or not)."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def local_url(address: str) -> str:
    """Where this host reaches the webhook endpoint of a kernel listening on ``address`` (host:port)."""
    host, port = listening_address(address)
    return f"http://{_local_host(host)}:{port}"


def _local_host(listening: str) -> str:
    """The address this host reaches a server at that listens on ``listening`` (every interface: its
    loopback)."""
    if listening in ("", "0.0.0.0"):
        return "127.0.0.1"
    if listening == "::":
        return "[::1]"
    return f"[{listening}]" if ":" in listening else listening


def _refusal(request: web.Request, status: int, error: str) -> web.Response:
    """The answer to a call refused, and its log line: the path (project and channel it claims) and the
    caller, never the body (the log's repeat filter keeps a flood of them to a line a minute per error)."""
    log.warning(
        "webhook refused: %s",
        error,
        extra={"status": status, "path": request.path, "remote": request.remote},
    )
    return web.json_response({"error": error}, status=status)


class WebhookServer:
    def __init__(
        self,
        channels: ChannelManager,
        configs: ChannelConfigs,
        queue: WebhookQueue,
        receive_concurrency: int,
        bytes_per_second: int,
    ) -> None:
        self._channels = channels
        self._configs = configs
        self._queue = queue
        self._receiving = asyncio.Semaphore(receive_concurrency)
        self._pace = BodyPace(bytes_per_second)
        self._runner: web.AppRunner | None = None
        self.port = 0
        #: Where this host reaches the endpoint, once it listens (``http://127.0.0.1:8080``).
        self.local_url = ""

    async def start(self, host: str, port: int) -> None:
        largest = max((spec.max_webhook_bytes for spec in self._channels.channels()), default=0)
        app = web.Application(client_max_size=largest)
        app.router.add_post("/webhooks/{project_id}/{channel}", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.port = self._runner.addresses[0][1]
        self.local_url = local_url(f"{host}:{self.port}")

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        try:
            project_id = uuid.UUID(request.match_info["project_id"])
            spec = self._channels.channel(request.match_info["channel"])
            stored = await self._configs.get(project_id, spec.name)
        except (ValueError, UnknownChannel, HeraldError):
            # One answer for every unknown: the endpoint does not reveal which projects or channels exist.
            return _refusal(request, 404, "unknown project or channel")
        limit = spec.max_webhook_bytes
        if request.content_length is not None and request.content_length > limit:
            return _refusal(request, 413, f"larger than the {limit} bytes this channel's provider sends")
        # Bodies are read and stored a few at a time: a burst of large posts waits here (in the
        # kernel's socket buffers) instead of holding memory and the API's database connections.
        async with self._receiving:
            body = await _read_at_most(request, limit, self._pace)
            if body is None:
                return _refusal(request, 413, f"larger than the {limit} bytes this channel's provider sends")
            call = WebhookRequest(
                headers=dict(request.headers), body=body, query=dict(request.query), url=str(request.url)
            )
            try:
                genuine = self._channels.verify_webhook(spec.name, call, stored.config, stored.webhook_secret)
            except ConfigError:
                genuine = False
            if not genuine:
                return _refusal(request, 401, "the call does not carry this channel's webhook credentials")
            await self._queue.put(project_id, spec.name, call)
        return web.Response(status=200)
