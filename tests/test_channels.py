"""ChannelService: loaded plugins and their capabilities, per-project configuration sealed at rest."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2

from herald.v1 import channels_pb2, channels_pb2_grpc
from tests.conftest import ADMIN, ProjectKey, rpc_error

EXAMPLE = "sms.webhook"


@pytest.fixture(scope="session")
def channels(channel: grpc.aio.Channel) -> channels_pb2_grpc.ChannelServiceStub:
    """ChannelService client."""
    return channels_pb2_grpc.ChannelServiceStub(channel)


def struct(**values: object) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


async def test_out_of_tree_plugin_is_discovered_with_its_capabilities(channels, project: ProjectKey) -> None:
    listed = await channels.ListChannels(channels_pb2.ListChannelsRequest(), metadata=project.auth)
    by_name = {c.name: c for c in listed.channels}
    example = by_name[EXAMPLE]
    assert example.consent_scope == "sms"
    assert example.capabilities.address_kind == "phone"
    assert example.capabilities.max_batch_size == 50
    assert example.capabilities.max_payload_bytes == 1600
    assert set(example.config_fields) == {"url", "token"}
    admin_view = await channels.ListChannels(channels_pb2.ListChannelsRequest(), metadata=ADMIN)
    assert [c.name for c in admin_view.channels] == [c.name for c in listed.channels]


async def test_channels_are_listed_by_name_in_pages(channels, project: ProjectKey) -> None:
    everything = await channels.ListChannels(channels_pb2.ListChannelsRequest(), metadata=project.auth)
    names = [c.name for c in everything.channels]
    assert names == sorted(names) and not everything.next_page_token
    paged, token = [], ""
    while True:
        page = await channels.ListChannels(
            channels_pb2.ListChannelsRequest(page_size=2, page_token=token), metadata=project.auth
        )
        assert len(page.channels) <= 2
        paged += [c.name for c in page.channels]
        token = page.next_page_token
        if not token:
            break
    assert paged == names
    error = await rpc_error(
        channels.ListChannels(channels_pb2.ListChannelsRequest(page_token="x!"), metadata=project.auth)
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("page_token:")


async def test_config_is_validated_by_the_plugin_and_nothing_stored_on_error(channels, project, db) -> None:
    error = await rpc_error(
        channels.SetChannelConfig(
            channels_pb2.SetChannelConfigRequest(channel=EXAMPLE, config=struct(url="ftp://x", token="t")),
            metadata=project.auth,
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("config.url:")
    assert (
        await db.fetchval("SELECT count(*) FROM channel_configs WHERE project_id = $1", project.project_id)
        == 0
    )
    error = await rpc_error(
        channels.SetChannelConfig(
            channels_pb2.SetChannelConfigRequest(channel="carrier.pigeon", config=struct()),
            metadata=project.auth,
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("channel:")
    error = await rpc_error(
        channels.SetChannelConfig(
            channels_pb2.SetChannelConfigRequest(channel=EXAMPLE), metadata=project.auth
        )
    )
    assert error.details().startswith("config:")


async def test_config_is_sealed_masked_and_scoped_to_the_project(
    channels, project, other_project, db
) -> None:
    config = struct(url="https://gateway.example/messages", token="very-secret-token")
    stored = await channels.SetChannelConfig(
        channels_pb2.SetChannelConfigRequest(channel=EXAMPLE, config=config), metadata=project.auth
    )
    assert stored.config["token"] == "********"
    assert stored.config["url"] == "https://gateway.example/messages"
    sealed = await db.fetchval(
        "SELECT sealed_config FROM channel_configs WHERE project_id = $1 AND channel = $2",
        project.project_id,
        EXAMPLE,
    )
    assert b"very-secret-token" not in sealed and b"gateway.example" not in sealed

    fetched = await channels.GetChannelConfig(
        channels_pb2.GetChannelConfigRequest(channel=EXAMPLE), metadata=project.auth
    )
    assert fetched == stored
    error = await rpc_error(
        channels.GetChannelConfig(
            channels_pb2.GetChannelConfigRequest(channel=EXAMPLE), metadata=other_project.auth
        )
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND

    # A sealed value copied into another project's row does not open there.
    await db.execute(
        "INSERT INTO channel_configs (project_id, channel, sealed_config) VALUES ($1, $2, $3)",
        other_project.project_id,
        EXAMPLE,
        sealed,
    )
    error = await rpc_error(
        channels.GetChannelConfig(
            channels_pb2.GetChannelConfigRequest(channel=EXAMPLE), metadata=other_project.auth
        )
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION

    deleted = await channels.DeleteChannelConfig(
        channels_pb2.DeleteChannelConfigRequest(channel=EXAMPLE), metadata=project.auth
    )
    assert deleted == empty_pb2.Empty()
    # Idempotent: deleting what is not configured is no error.
    again = await channels.DeleteChannelConfig(
        channels_pb2.DeleteChannelConfigRequest(channel=EXAMPLE), metadata=project.auth
    )
    assert again == empty_pb2.Empty()
    error = await rpc_error(
        channels.GetChannelConfig(
            channels_pb2.GetChannelConfigRequest(channel=EXAMPLE), metadata=project.auth
        )
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
