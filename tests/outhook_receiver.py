"""A customer's system receiving Herald's outgoing webhooks: a real aiohttp server on loopback (the
outside world, which the tests may play), recording each call and answering as the test decides."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web


@dataclass(frozen=True)
class Call:
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = orjson.loads(self.body)
        return events


@dataclass
class Receiver:
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    #: Statuses to answer, in order; 200 once used up.
    answers: list[int] = field(default_factory=list)
    #: While set, calls wait for it to be released before answering (a hanging endpoint).
    hold: asyncio.Event | None = None
    #: Calls waiting on ``hold`` right now.
    held: int = 0
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.hold is not None:
            await self._note(lambda: None, held=1)
            try:
                await self.hold.wait()
            finally:
                self.held -= 1
        status = self.answers.pop(0) if self.answers else 200
        await self._note(lambda: self.calls.append(Call(dict(request.headers), body, status)))
        return web.Response(status=status, text="ok" if status < 300 else "unavailable")

    async def _note(self, change: Callable[[], None], held: int = 0) -> None:
        async with self._changed:
            change()
            self.held += held
            self._changed.notify_all()

    def delivered(self) -> list[dict[str, Any]]:
        """The events of the calls answered 2xx, in arrival order."""
        return [event for call in self.calls if call.status < 300 for event in call.events]

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait for ``condition`` to hold (a safety bound stops a test that would wait forever)."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(condition), 30)
            except TimeoutError:
                raise AssertionError(f"still waiting; received {self.calls}") from None


async def receiving() -> AsyncIterator[Receiver]:
    """A started receiver at ``/hooks`` on a free loopback port, stopped afterwards."""
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hooks", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    receiver.url = f"http://127.0.0.1:{port}/hooks"
    try:
        yield receiver
    finally:
        if receiver.hold is not None:
            receiver.hold.set()
        await runner.cleanup()
