"""What the built-in channel plugins share: the aiohttp client session, Retry-After, bulk results, and
the emulator plumbing (fault injection, an aiohttp server on loopback, a standalone ``main``).

The fault-injection part (:class:`Faults`) is protocol-neutral, so the SMTP emulator uses it too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.utils
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self

import aiohttp
import orjson
from aiohttp import web

from kernel.channels import FailureReason, FeedbackRates, OutboundMessage, Outcome, SendResult

#: Provider calls are short; a stuck connection must turn into a RETRY, not hold a worker.
CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=10)
#: Errors that mean "the request may not have reached the provider": always retryable.
TRANSPORT_ERRORS = (aiohttp.ClientError, TimeoutError, OSError)


def client_session(*, connections: int, headers: Mapping[str, str] | None = None) -> aiohttp.ClientSession:
    """One keep-alive session per sender (create it inside the running loop, on first use)."""
    connector = aiohttp.TCPConnector(limit=connections, ttl_dns_cache=300, keepalive_timeout=60)
    return aiohttp.ClientSession(connector=connector, timeout=CLIENT_TIMEOUT, headers=headers)


async def read_json(response: aiohttp.ClientResponse) -> Mapping[str, Any]:
    """The JSON object a provider answered, or {} (an HTML error page from a proxy, an empty body)."""
    raw = await response.read()
    try:
        body = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, Mapping) else {}


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    with contextlib.suppress(ValueError):
        return max(0.0, float(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def retry(message: OutboundMessage, *, after: float | None = None, detail: str = "") -> SendResult:
    return SendResult(message.message_id, Outcome.RETRY, retry_after=after, detail=detail)


def retry_all(
    messages: Sequence[OutboundMessage], *, after: float | None = None, detail: str = ""
) -> list[SendResult]:
    return [retry(m, after=after, detail=detail) for m in messages]


def fail(message: OutboundMessage, reason: FailureReason, detail: str) -> SendResult:
    return SendResult(message.message_id, Outcome.FAILED, reason=reason, detail=detail)


def fail_all(messages: Sequence[OutboundMessage], reason: FailureReason, detail: str) -> list[SendResult]:
    return [fail(m, reason, detail) for m in messages]


@dataclass(frozen=True, slots=True)
class Failure:
    """One answer queued by ``fail_next``."""

    status: int
    retry_after: float | None
    error: str


class Faults:
    """``fail_next`` / ``set_latency`` / ``invalidate`` bookkeeping, and the sandbox's feedback rates,
    shared by every emulator."""

    def __init__(self) -> None:
        self._failures: deque[Failure] = deque()
        self.latency = 0.0
        self.invalid: set[str] = set()
        #: Sandbox mode: how often each outcome happens (None: the emulator reports nothing itself).
        self.rates: FeedbackRates | None = None

    def report_feedback(self, rates: FeedbackRates) -> None:
        """See the FeedbackEmulator protocol."""
        self.rates = rates

    def drawn_unregistered(self, token: str) -> bool:
        """A push token (or subscription) among the sandbox's share of dead ones."""
        return self.rates is not None and self.rates.unregistered_token(token)

    def fail_next(
        self, count: int, status: int, *, retry_after: float | None = None, error: str = ""
    ) -> None:
        self._failures.extend([Failure(status, retry_after, error)] * count)

    def set_latency(self, seconds: float) -> None:
        self.latency = seconds

    def invalidate(self, address: str) -> None:
        self.invalid.add(address)

    async def next_failure(self) -> Failure | None:
        """Wait the configured latency, then pop the next queued failure, if any."""
        if self.latency:
            await asyncio.sleep(self.latency)
        return self._failures.popleft() if self._failures else None


class HttpEmulator(Faults):
    """An aiohttp application on 127.0.0.1 (port 0 unless given) with a provider's routes.

    Subclasses declare ``routes()`` and shape injected failures in ``failure_response()``; handlers
    call ``await self.injected()`` where the provider would check its limits.
    """

    #: Largest request body the provider accepts (aiohttp's own default is 1 MiB).
    max_request_bytes = 1024**2

    def __init__(self, *, port: int = 0) -> None:
        super().__init__()
        self.endpoint = ""
        self.accepted: list[Mapping[str, Any]] = []
        self._port = port
        self._runner: web.AppRunner | None = None

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    def failure_response(self, failure: Failure) -> web.Response:
        raise NotImplementedError

    async def injected(self) -> web.Response | None:
        failure = await self.next_failure()
        if failure is None:
            return None
        response = self.failure_response(failure)
        if failure.retry_after is not None:
            response.headers["Retry-After"] = str(int(failure.retry_after))
        return response

    async def __aenter__(self) -> Self:
        app = web.Application(client_max_size=self.max_request_bytes)
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.endpoint = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def run_standalone(
    description: str,
    build: Callable[[argparse.Namespace], Any],
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
    argv: Sequence[str] | None = None,
) -> None:
    """``python -m plugins.<channel>.emulator --port N``: serve until interrupted, print the endpoint."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=0, help="loopback port (0: any free port)")
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)

    async def serve() -> None:
        async with build(args) as emulator:
            print(f"{description} listening on {emulator.endpoint}", flush=True)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
