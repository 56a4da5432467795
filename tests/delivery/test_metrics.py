"""Prometheus metrics: the endpoint serves them, a send moves the counters it should, the gauges read
from the database say the same on every process, and a worker's throttle shows its state."""

from __future__ import annotations

import aiohttp
import pytest
from prometheus_client import REGISTRY

from herald.v1 import messages_pb2
from tests.delivery.conftest import EMAIL, sender_worker
from tests.delivery.support import completed, person, scrape, send_request, until, wait_for


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_send_shows_in_the_metrics(messages, profiles, configured, sparkpost, worker, server) -> None:
    for index in range(3):
        await person(profiles, configured, f"p{index}", email=f"p{index}@example.com")
    sent = sample("herald_messages_sent_total", channel=EMAIL, domain="other")
    retried = sample("herald_message_retries_total", channel=EMAIL, domain="other")
    requests = sample("herald_provider_request_seconds_count", channel=EMAIL)
    sparkpost.fail_next(1, 503)
    send = await messages.CreateSend(send_request(), metadata=configured.auth)
    await completed(messages, configured, send.send_id)
    assert sample("herald_messages_sent_total", channel=EMAIL, domain="other") == sent + 3
    assert sample("herald_message_retries_total", channel=EMAIL, domain="other") == retried + 3
    assert sample("herald_provider_request_seconds_count", channel=EMAIL) == requests + 2

    url = f"http://127.0.0.1:{server.kernel.metrics.port}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        text = await response.text()
    for name in (
        "herald_messages_sent_total",
        "herald_outbox_pending_messages",
        "herald_live_workers",
        "herald_provider_request_seconds_bucket",
    ):
        assert name in text


def send_series(scraped, send_id: str) -> dict[str, float]:
    return {
        dict(labels)["status"]: value
        for (name, labels), value in scraped.items()
        if name == "herald_send_messages" and ("send_id", send_id) in labels
    }


async def test_a_kernel_without_workers_reports_what_the_workers_hold(
    messages, profiles, configured, sparkpost, server
) -> None:
    """The kernel's own workers are stopped (an API-only kernel); the worker's heartbeat never comes
    round again during the test: what the endpoint says comes from the database."""
    for index in range(5):
        await person(profiles, configured, f"q{index}", email=f"q{index}@example.com")
    sparkpost.fail_next(1000, 503)
    async with sender_worker(server, heartbeat_seconds=3600, lease_seconds=7200, retry_base_seconds=600):
        send = await messages.CreateSend(send_request(), metadata=configured.auth)
        await wait_for(messages, configured, send.send_id, lambda s: s.retries == 5)
        scraped = await scrape(server)
        assert scraped["herald_outbox_pending_messages", frozenset()] >= 5
        assert send_series(scraped, send.send_id) == {"sent": 0, "failed": 0, "pending": 5}
        assert scraped["herald_live_workers", frozenset()] >= 1
        rate = (
            "herald_send_rate_messages_per_second",
            frozenset(send_labels(configured, send.send_id).items()),
        )
        assert scraped[rate] == 0
        await messages.CancelSend(
            messages_pb2.CancelSendRequest(send_id=send.send_id), metadata=configured.auth
        )
        assert send_series(await scrape(server), send.send_id) == {}


def send_labels(project, send_id: str) -> dict[str, str]:
    return {"project_id": str(project.project_id), "send_id": send_id}


async def test_a_deferring_domain_shows_slowed_down(
    messages, profiles, configured, sparkpost, server
) -> None:
    for index in range(3):
        await person(profiles, configured, f"s{index}", email=f"s{index}@slow.example")
    sparkpost.fail_next(1, 429)
    limits = {"domain_limits": {"slow.example": "600/min"}}
    async with sender_worker(server, **limits) as worker:
        send = await messages.CreateSend(send_request(), metadata=configured.auth)
        await completed(messages, configured, send.send_id)
        labels = frozenset({"worker": worker.worker_id, "domain": "slow.example"}.items())
        await until(
            lambda: has_sample(server, "herald_domain_slowdown_factor", labels), "the throttle's gauges"
        )
        scraped = await scrape(server)
        slowdown = scraped["herald_domain_slowdown_factor", labels]
        assert 0.5 <= slowdown < 0.6  # halved once, recovering over ten minutes
        share = worker.throttle.throttle.share
        rate = scraped["herald_domain_rate_messages_per_second", labels]
        assert rate == pytest.approx(10 * share * slowdown, rel=0.05)


async def has_sample(server, name: str, labels: frozenset[tuple[str, str]]) -> bool:
    return (name, labels) in await scrape(server)


def throttle_deferred(scraped) -> float:
    return scraped.get(("herald_deferred_messages", frozenset({"reason": "domain throttle"}.items())), 0.0)


async def test_deferred_counts_the_messages_held_back(
    messages, profiles, configured, sparkpost, server
) -> None:
    """Each message held back by its domain's throttle counts once, for as long as it waits."""
    for index in range(4):
        await person(profiles, configured, f"h{index}", email=f"h{index}@hold.example")
    before = throttle_deferred(await scrape(server))
    async with sender_worker(server, domain_limits={"hold.example": "1/hour"}):
        send = await messages.CreateSend(send_request(), metadata=configured.auth)
        await wait_for(messages, configured, send.send_id, lambda s: s.sent == 1 and s.planned == 4)
        for _ in range(3):  # however often it is looked at
            assert throttle_deferred(await scrape(server)) - before == 3
        await messages.CancelSend(
            messages_pb2.CancelSendRequest(send_id=send.send_id), metadata=configured.auth
        )
        assert throttle_deferred(await scrape(server)) == before
