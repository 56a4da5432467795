"""Prometheus metrics: the endpoint serves them, and a send moves the counters it should."""

from __future__ import annotations

import aiohttp
from prometheus_client import REGISTRY

from tests.delivery.conftest import EMAIL
from tests.delivery.support import completed, person, send_request


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
