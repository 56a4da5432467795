"""ChannelService: the loaded channel plugins, each project's configuration of them, and the email domains
the sender workers throttle (the deliveries of every channel that reaches addresses with a domain)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from operator import attrgetter

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2

from herald.v1 import channels_pb2 as pb
from herald.v1 import channels_pb2_grpc
from kernel.api.paging import page_of, read_page
from kernel.api.status import rpc
from kernel.api.timestamps import from_datetime
from kernel.auth import Caller
from kernel.channels import ChannelSpec
from kernel.channels.configs import ChannelConfigs, StoredConfig
from kernel.delivery.throttle_board import DomainThrottling, ThrottleBoard
from kernel.errors import InvalidArgument
from kernel.plugins import ChannelManager, UnknownChannel


def channel_info(spec: ChannelSpec) -> pb.ChannelInfo:
    caps = spec.capabilities
    return pb.ChannelInfo(
        name=spec.name,
        description=spec.description,
        consent_scope=spec.consent_scope,
        capabilities=pb.ChannelCapabilities(
            address_kind=caps.address_kind,
            max_batch_size=caps.max_batch_size,
            max_payload_bytes=caps.max_payload_bytes,
            silent_push=caps.silent_push,
            per_recipient_substitution=caps.per_recipient_substitution,
            default_rate_per_second=caps.default_rate_per_second or 0.0,
        ),
        config_fields=dict(spec.config_fields),
    )


def _config_message(
    stored: StoredConfig, spec: ChannelSpec, project_id: uuid.UUID, manager: ChannelManager
) -> pb.ChannelConfig:
    config = struct_pb2.Struct()
    config.update(stored.masked(spec))
    message = pb.ChannelConfig(
        channel=stored.channel, config=config, updated_at=from_datetime(stored.updated_at)
    )
    credentials = manager.webhook_credentials(spec.name, stored.config, stored.webhook_secret)
    if credentials:
        message.webhook.path = f"/webhooks/{project_id}/{spec.name}"
        message.webhook.credentials.update(credentials)
    return message


def _plain_numbers(value: object) -> object:
    """Struct holds every number as a double; give plugins 587, not 587.0, where the number is whole."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_numbers(v) for v in value]
    return value


def _parse_name_position(position: list[str]) -> str:
    (name,) = position
    return name


def _channel_name(name: str) -> str:
    if not name:
        raise InvalidArgument("must not be empty", "channel")
    return name


def _domain_throttle(throttling: DomainThrottling, caller: Caller) -> pb.DomainThrottle:
    message = pb.DomainThrottle(
        domain=throttling.domain,
        limit_per_second=throttling.limit or 0.0,
        rate_per_second=throttling.rate or 0.0,
        slowdown=throttling.slowdown,
        slowed_workers=throttling.slowed_workers,
    )
    if throttling.answer is not None:
        if caller.is_admin or throttling.project_id == caller.project_id:
            message.reason = throttling.answer
        else:
            message.reason_hidden = True
    if throttling.until is not None:
        message.slowed_until.CopyFrom(from_datetime(datetime.fromtimestamp(throttling.until, UTC)))
    return message


class ChannelServicer(channels_pb2_grpc.ChannelServiceServicer):
    def __init__(self, manager: ChannelManager, configs: ChannelConfigs, throttles: ThrottleBoard) -> None:
        self.manager = manager
        self.configs = configs
        self.throttles = throttles

    @rpc(admin_or_project=True)
    async def ListChannels(
        self, request: pb.ListChannelsRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.ListChannelsResponse:
        page = read_page(request, _parse_name_position)
        specs = sorted(self.manager.channels(), key=attrgetter("name"))
        following = [spec for spec in specs if page.after is None or spec.name > page.after]
        listed, token = page_of(request, following[: page.size + 1], page.size, lambda spec: [spec.name])
        return pb.ListChannelsResponse(
            channels=[channel_info(spec) for spec in listed], next_page_token=token
        )

    @rpc()
    async def SetChannelConfig(
        self, request: pb.SetChannelConfigRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.ChannelConfig:
        name = _channel_name(request.channel)
        if not request.HasField("config"):
            raise InvalidArgument("must be set", "config")
        config = _plain_numbers(json_format.MessageToDict(request.config))
        stored = await self.configs.set(caller.project, name, config)  # type: ignore[arg-type]
        return _config_message(stored, self.configs.spec(name), caller.project, self.manager)

    @rpc()
    async def GetChannelConfig(
        self, request: pb.GetChannelConfigRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.ChannelConfig:
        name = _channel_name(request.channel)
        stored = await self.configs.get(caller.project, name)
        return _config_message(stored, self.configs.spec(name), caller.project, self.manager)

    @rpc()
    async def DeleteChannelConfig(
        self, request: pb.DeleteChannelConfigRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> empty_pb2.Empty:
        await self.configs.delete(caller.project, _channel_name(request.channel))
        return empty_pb2.Empty()

    @rpc(admin_or_project=True)
    async def ListDomainThrottles(
        self, request: pb.ListDomainThrottlesRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.ListDomainThrottlesResponse:
        page = read_page(request, _parse_name_position)
        if request.channels and not self._reach_domains(request.channels):
            return pb.ListDomainThrottlesResponse()
        domains = [d for d in await self.throttles.domains() if page.after is None or d.domain > page.after]
        listed, token = page_of(request, domains[: page.size + 1], page.size, lambda d: [d.domain])
        return pb.ListDomainThrottlesResponse(
            domains=[_domain_throttle(throttling, caller) for throttling in listed],
            next_page_token=token,
        )

    def _reach_domains(self, names: Sequence[str]) -> bool:
        """Whether one of the named channels reaches addresses with a domain (INVALID_ARGUMENT naming an
        unknown one)."""
        reach = False
        for index, name in enumerate(names):
            try:
                spec = self.manager.channel(name)
            except UnknownChannel:
                raise InvalidArgument(f"unknown channel {name!r}", f"channels[{index}]") from None
            reach |= self.manager.address_kind(spec).has_domain
        return reach
