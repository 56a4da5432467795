"""Sandbox mode: with no provider account and no channel configured, messages go end to end through
every channel plugin to its emulator."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from herald.v1 import (
    channels_pb2,
    channels_pb2_grpc,
    messages_pb2,
    messages_pb2_grpc,
    projects_pb2_grpc,
)
from kernel.server import RunningServer, running
from kernel.settings import Settings
from tests import emulatorless_plugin
from tests.channel_addresses import ADDRESSES
from tests.conftest import ADMIN_KEY, ProjectKey, new_project


@pytest.fixture(scope="module")
async def sandboxed(settings: Settings) -> AsyncIterator[RunningServer]:
    """A second kernel on the same database, in sandbox mode."""
    sandbox_settings = settings.model_copy(update={"sandbox": True, "metrics_address": ""})
    async with running(sandbox_settings, ADMIN_KEY) as server:
        yield server


@pytest.fixture(scope="module")
async def sandbox_channel(sandboxed: RunningServer) -> AsyncIterator[grpc.aio.Channel]:
    """A client channel to the sandboxed kernel."""
    async with grpc.aio.insecure_channel(sandboxed.address) as client:
        yield client


async def test_every_channel_has_a_running_emulator(sandboxed: RunningServer) -> None:
    sandbox = sandboxed.kernel.sandbox
    assert sandbox is not None
    assert set(sandbox.emulators) == {spec.name for spec in sandboxed.kernel.channels.channels()}
    assert all(endpoint for endpoint in sandbox.endpoints.values())


@pytest.mark.parametrize("channel", sorted(ADDRESSES))
async def test_unconfigured_channel_delivers_to_its_emulator(
    sandboxed: RunningServer, sandbox_channel: grpc.aio.Channel, channel: str
) -> None:
    project: ProjectKey = await new_project(projects_pb2_grpc.ProjectServiceStub(sandbox_channel))
    emulator = sandboxed.kernel.sandbox.emulators[channel]
    before = len(emulator.accepted)
    reply = await messages_pb2_grpc.MessageServiceStub(sandbox_channel).SendTransactional(
        messages_pb2.SendTransactionalRequest(
            address=ADDRESSES[channel],
            channels=[channel],
            template=messages_pb2.MessageTemplate(
                subject="Hi", text="Hello from the sandbox", title="Hi", body="Hello"
            ),
        ),
        metadata=project.auth,
    )
    assert [d.status for d in reply.deliveries] == [messages_pb2.DELIVERY_STATUS_ACCEPTED], reply
    assert len(emulator.accepted) == before + 1
    shown = await channels_pb2_grpc.ChannelServiceStub(sandbox_channel).GetChannelConfig(
        channels_pb2.GetChannelConfigRequest(channel=channel), metadata=project.auth
    )
    assert shown.config, "the sandbox default configuration is what the project uses"


async def test_a_channel_without_an_emulator_is_left_out_with_a_warning(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.syspath_prepend(emulatorless_plugin.install(tmp_path))
    caplog.set_level(logging.WARNING, logger="kernel.sandbox")
    sandbox_settings = settings.model_copy(update={"sandbox": True, "metrics_address": ""})
    async with running(sandbox_settings, ADMIN_KEY) as server:
        loaded = {spec.name for spec in server.kernel.channels.channels()}
        emulated = set(server.kernel.sandbox.emulators)
    assert emulatorless_plugin.CHANNEL in loaded
    assert emulated == loaded - {emulatorless_plugin.CHANNEL}
    warnings = [r.getMessage() for r in caplog.records if emulatorless_plugin.CHANNEL in r.getMessage()]
    assert warnings == [
        f"sandbox: {emulatorless_plugin.CHANNEL} is left out, its plugin ships no emulator: it has no"
        " sandbox configuration, and a project that configures it sends to its real provider"
    ]
