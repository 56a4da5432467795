"""The HTTP endpoint providers call back: ``POST /webhooks/<project id>/<channel name>``.

The channel's plugin verifies and parses the call with the project's stored configuration of the
channel (so each project can have its own webhook credentials); the kernel applies the events.
"""

from __future__ import annotations

import logging
import uuid

from aiohttp import web

from kernel.channels import ConfigError, WebhookRequest
from kernel.channels.configs import ChannelConfigs
from kernel.delivery.feedback import FeedbackProcessor
from kernel.errors import HeraldError
from kernel.plugins import ChannelManager, UnknownChannel

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 16 * 1024 * 1024


class WebhookServer:
    def __init__(
        self, channels: ChannelManager, configs: ChannelConfigs, feedback: FeedbackProcessor
    ) -> None:
        self._channels = channels
        self._configs = configs
        self._feedback = feedback
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post("/webhooks/{project_id}/{channel}", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.port = self._runner.addresses[0][1]

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
            return web.json_response({"error": "unknown project or channel"}, status=404)
        call = WebhookRequest(
            headers=dict(request.headers), body=await request.read(), query=dict(request.query)
        )
        try:
            events = self._channels.parse_feedback(spec.name, call, stored.config)
        except ConfigError as error:
            log.warning("webhook refused", extra={"channel": spec.name, "reason": str(error)})
            return web.json_response({"error": str(error)}, status=400)
        summary = await self._feedback.apply(project_id, spec, events)
        return web.json_response({"events": summary.events, "recorded": summary.recorded_on_profiles})
