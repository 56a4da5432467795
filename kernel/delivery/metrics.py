"""Prometheus metrics of bulk delivery, and the endpoint that serves them (``GET /metrics``).

The metric objects live at module level in the client's default registry, as the Prometheus client
intends: every worker of a process adds to the same series. Email domains become label values only when
the operator named them in the settings (limits or warm-up); every other domain is ``other``, so the
number of series stays bounded whatever the audience. Non-email channels have no domain (``""``).
Rates (messages per second per channel and domain) are PromQL's job: ``rate(herald_messages_sent_total[1m])``.
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Collection, Iterable

import asyncpg
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

log = logging.getLogger(__name__)

SENT = Counter("herald_messages_sent", "Messages accepted by the provider.", ["channel", "domain"])
RETRIED = Counter("herald_message_retries", "Temporary failures, each retried later.", ["channel", "domain"])
FAILED = Counter(
    "herald_message_failures", "Messages refused for good by the provider.", ["channel", "reason"]
)
EXPIRED = Counter("herald_messages_expired", "Messages given up after the maximum age.", ["channel"])
# Read from the database when scraped (kernel.delivery.database_gauges): every process says the same.
PAUSED_CHANNELS = Gauge(
    "herald_paused_channels",
    "Projects in which the channel is paused: a send's answers suggested a wrong configuration "
    "(reason config_suspect; GetSend says why).",
    ["channel"],
)
QUEUE_DEPTH = Gauge(
    "herald_outbox_pending_messages", "Messages of running sends not yet final (waiting, leased, retrying)."
)
LIVE_WORKERS = Gauge("herald_live_workers", "Sender workers with a recent heartbeat, across all processes.")
DEFERRED = Gauge(
    "herald_deferred_messages",
    "Messages of running sends held back before any attempt, each counted once: by a domain throttle, "
    "a channel's rate or a paused channel (reason).",
    ["reason"],
)
SEND_MESSAGES = Gauge(
    "herald_send_messages",
    "A running send's messages by status (sent, failed, pending); a send that is over has none.",
    ["project_id", "send_id", "status"],
)
SEND_RATE = Gauge(
    "herald_send_rate_messages_per_second",
    "A running send's messages sent per second since it was created.",
    ["project_id", "send_id"],
)
# A worker's own throttle state, set at each heartbeat; domains named in the settings only.
DOMAIN_RATE = Gauge(
    "herald_domain_rate_messages_per_second",
    "The rate a worker currently allows an email domain: its limit, times the worker's share, times "
    "its slow-down factor.",
    ["worker", "domain"],
)
DOMAIN_SLOWDOWN = Gauge(
    "herald_domain_slowdown_factor",
    "A domain's slow-down factor in a worker (1: full speed; halved at each deferral episode, then "
    "recovering).",
    ["worker", "domain"],
)
PROVIDER_LATENCY = Histogram(
    "herald_provider_request_seconds",
    "Time a channel's provider took to answer one batch.",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)


class DomainLabels:
    """The ``domain`` label of an address: a named domain, ``other``, or ``""`` off email."""

    def __init__(self, named: Collection[str]) -> None:
        self._named = frozenset(named)

    def __call__(self, domain: str) -> str:
        if not domain:
            return ""
        return domain if domain in self._named else "other"


def count_by_domain(counter: Counter, channel: str, domains: Iterable[str], labels: DomainLabels) -> None:
    """Add one per message of ``channel`` under its domain's label (``domains``: one per message), with
    one call per distinct label: a batch is counted at once, not message by message."""
    by_label: Tally[str] = Tally()
    for domain, amount in Tally(domains).items():
        by_label[labels(domain)] += amount
    for label, amount in by_label.items():
        counter.labels(channel, label).inc(amount)


class MetricsServer:
    """``GET /metrics`` on its own address (host:port; port 0 picks one, see ``port``).

    ``refresh`` runs before each scrape: it sets the gauges read from the database.
    An address already taken (a second Herald process on the host with the default port) is logged
    loudly and leaves this process without an endpoint: metrics must not stop deliveries.
    """

    def __init__(self, refresh: Callable[[], Awaitable[None]]) -> None:
        self._runner: web.AppRunner | None = None
        self._refresh = refresh
        self.port = 0

    async def start(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, host.strip("[]"), int(port)).start()
        except OSError as error:
            log.error(
                "metrics are not served: cannot listen on %s (%s); set HERALD_METRICS_ADDRESS", address, error
            )
            await self.stop()
            return
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        try:
            await self._refresh()
        except (OSError, asyncpg.PostgresError):
            log.exception("metrics: the gauges read from the database keep their last values")
        response = web.Response(body=generate_latest(REGISTRY))
        response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        response.charset = "utf-8"
        return response
