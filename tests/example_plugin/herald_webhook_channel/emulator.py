"""A loopback stand-in for an SMS webhook gateway: checks the bearer token and the body, records messages."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Mapping
from typing import Any

import aiohttp
from aiohttp import web

_E164 = re.compile(r"\+[1-9][0-9]{7,14}")


class WebhookGatewayEmulator:
    def __init__(self, token: str, port: int = 0) -> None:
        self.token = token
        self.port = port
        self.endpoint = ""
        self.accepted: list[Mapping[str, Any]] = []
        self._failures: list[tuple[int, float | None, str]] = []
        self._latency = 0.0
        self._dead: set[str] = set()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._any_token = False

    async def __aenter__(self) -> WebhookGatewayEmulator:
        app = web.Application()
        app.router.add_post("/messages", self._receive)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.endpoint = f"http://127.0.0.1:{port}/messages"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(
        self, count: int, status: int, *, retry_after: float | None = None, error: str = ""
    ) -> None:
        self._failures.extend([(status, retry_after, error or "emulated failure")] * count)

    def enter_sandbox(self) -> Mapping[str, Any]:
        """Accept any bearer token (sandbox mode serves every project)."""
        self._any_token = True
        return {"url": "https://sms-gateway.invalid/messages", "token": self.token}

    def set_latency(self, seconds: float) -> None:
        self._latency = seconds

    def invalidate(self, address: str) -> None:
        self._dead.add(address)

    async def post_reports(self, url: str, reports: list[Mapping[str, Any]], webhook_token: str) -> int:
        """Post delivery reports to Herald's webhook endpoint as the gateway does, with the webhook token
        Herald generated for the project; returns the status."""
        headers = {"Authorization": f"Bearer {webhook_token}"}
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json=reports, headers=headers) as response,
        ):
            return response.status

    async def _receive(self, request: web.Request) -> web.Response:
        if self._latency:
            await asyncio.sleep(self._latency)
        authorization = request.headers.get("Authorization", "")
        if not authorization.startswith("Bearer ") or not (
            self._any_token or authorization == f"Bearer {self.token}"
        ):
            return web.json_response({"error": "bad token"}, status=401)
        if self._failures:
            status, retry_after, error = self._failures.pop(0)
            headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
            return web.json_response({"error": error}, status=status, headers=headers)
        body = await request.json()
        if not isinstance(body.get("to"), str) or not _E164.fullmatch(body["to"]) or not body.get("text"):
            return web.json_response({"error": "to must be E.164 and text non-empty"}, status=400)
        if body["to"] in self._dead:
            return web.json_response({"error": "unknown number"}, status=404)
        message_id = f"gw-{next(self._ids)}"
        self.accepted.append({**body, "id": message_id})
        return web.json_response({"id": message_id}, status=201)
