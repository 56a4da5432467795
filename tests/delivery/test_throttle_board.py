"""The email domains' throttling, visible from any process: a sender worker publishes its throttle with its
heartbeat, and ChannelService.ListDomainThrottles of another kernel (API only, no worker of its own) shows
it merged across the live workers; ``herald sends watch`` shows the throttled domains of a send's email
channel. The deferral comes from the SparkPost emulator, answering 429 as SparkPost does."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from herald.v1 import channels_pb2, channels_pb2_grpc, projects_pb2_grpc
from kernel.delivery.throttle_board import merged
from kernel.server import RunningServer, running
from kernel.settings import Settings
from tests.cli_support import herald
from tests.conftest import ADMIN, ADMIN_KEY, ProjectKey, new_project
from tests.delivery.conftest import EMAIL, SMS, sender_worker
from tests.delivery.support import completed, person, send_request, until

LIMITS = {"domain_limits": {"busy.example": "600/min", "calm.example": "60/min"}}


@pytest.fixture(scope="module")
async def api_only(settings: Settings) -> AsyncIterator[RunningServer]:
    """A second kernel on the test database, with no sender worker of its own."""
    async with running(
        settings.model_copy(update={"worker_count": 0, "metrics_address": ""}), ADMIN_KEY
    ) as server:
        yield server


@pytest.fixture
async def api_channels(api_only: RunningServer) -> AsyncIterator[channels_pb2_grpc.ChannelServiceStub]:
    """ChannelService of the API-only kernel."""
    async with grpc.aio.insecure_channel(api_only.address) as client:
        yield channels_pb2_grpc.ChannelServiceStub(client)


async def throttled(
    stub: channels_pb2_grpc.ChannelServiceStub, project: ProjectKey, **fields: object
) -> dict[str, channels_pb2.DomainThrottle]:
    reply = await stub.ListDomainThrottles(
        channels_pb2.ListDomainThrottlesRequest(**fields), metadata=project.auth
    )
    return {domain.domain: domain for domain in reply.domains}


async def test_a_deferral_shows_its_domain_slowed_down_on_another_kernel(
    server, messages, profiles, configured, sparkpost, api_channels, channel
) -> None:
    await person(profiles, configured, "ann", email="ann@busy.example")
    sparkpost.fail_next(1, 429)
    async with sender_worker(server, **LIMITS) as worker:
        send = await messages.CreateSend(send_request(), metadata=configured.auth)
        await completed(messages, configured, send.send_id)

        async def slowed_down() -> bool:
            domains = await throttled(api_channels, configured)
            return "busy.example" in domains and domains["busy.example"].slowdown < 1.0

        await until(slowed_down, "the other kernel shows busy.example slowed down")
        domains = await throttled(api_channels, configured)
        share = worker.throttle.throttle.share
        busy, calm = domains["busy.example"], domains["calm.example"]
        assert 0.5 <= busy.slowdown < 0.6  # halved once, recovering over ten minutes
        assert busy.limit_per_second == 10.0
        assert busy.rate_per_second == pytest.approx(10.0 * share * busy.slowdown)
        assert "Too many requests" in busy.reason and not busy.reason_hidden
        assert busy.slowed_workers == 1
        assert time.time() < busy.slowed_until.ToSeconds() <= time.time() + 600
        assert (calm.slowdown, calm.limit_per_second, calm.reason, calm.slowed_workers) == (1.0, 1.0, "", 0)
        assert not calm.HasField("slowed_until")

        # Another project sees the domain slowed down (the budget is shared), not the provider's words.
        other = await new_project(projects_pb2_grpc.ProjectServiceStub(channel), "other")
        seen = (await throttled(api_channels, other))["busy.example"]
        assert seen.reason_hidden and seen.reason == ""
        assert seen.slowdown == pytest.approx(busy.slowdown, abs=0.01)  # recovering since the first read
        as_operator = await api_channels.ListDomainThrottles(
            channels_pb2.ListDomainThrottlesRequest(), metadata=ADMIN
        )
        assert [d.reason for d in as_operator.domains if d.domain == "busy.example"] == [busy.reason]
        # Only for channels that reach email domains.
        assert await throttled(api_channels, configured, channels=[SMS]) == {}
        assert "busy.example" in await throttled(api_channels, configured, channels=[SMS, EMAIL])
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await throttled(api_channels, configured, channels=["email.nowhere"])
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert refused.value.details().startswith("channels[0]:")
    # A worker that stopped takes its state with it.
    assert "busy.example" not in await throttled(api_channels, configured)


async def test_watch_shows_the_throttled_domains_of_the_sends_email_channel(
    server, messages, profiles, configured, sparkpost, api_only, tmp_path: Path
) -> None:
    await person(profiles, configured, "bob", email="bob@busy.example")
    sparkpost.fail_next(1, 429)
    async with sender_worker(server, **LIMITS):
        send = await messages.CreateSend(send_request(), metadata=configured.auth)
        await completed(messages, configured, send.send_id)
        watched = await herald(
            tmp_path,
            "sends",
            "watch",
            send.send_id,
            "--address",
            api_only.address,
            HERALD_API_KEY=configured.key,
        )
    assert watched.status == 0, watched.err
    lines = watched.out.splitlines()
    busy = next(line for line in lines if line.startswith("  throttled busy.example: "))
    assert "/s of 10.00/s, slowed down to x0." in busy and "(" in busy and "Too many requests" in busy, busy
    assert "  throttled calm.example: " in watched.out


def test_workers_add_up_to_the_domains_rate() -> None:
    """Two workers, half the budget each: one slowed a domain down, the other never named it."""
    slowed = {
        "domain": "busy.example",
        "limit": 10.0,
        "rate": 1.25,
        "slowdown": 0.25,
        "answer": "429 Too many requests",
        "project_id": "00000000-0000-0000-0000-000000000001",
        "until": 2_000_000_450.0,
    }
    (domain,) = merged([{"share": 0.5, "domains": [slowed]}, {"share": 0.5, "domains": []}])
    assert (domain.limit, domain.rate, domain.slowdown, domain.slowed_workers) == (10.0, 6.25, 0.25, 1)
    assert domain.answer == "429 Too many requests" and domain.until == 2_000_000_450.0
