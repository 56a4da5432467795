"""CampaignService: campaigns written, scheduled, cancelled, read, listed and tested."""

from __future__ import annotations

import grpc

from herald.v1 import campaigns_pb2 as pb
from herald.v1 import campaigns_pb2_grpc, messages_pb2
from kernel.api.paging import page_of, parse_time_position, read_page, time_position
from kernel.api.replays import answer
from kernel.api.status import rpc
from kernel.auth import Caller
from kernel.engage.campaigns import Campaigns
from kernel.engage.campaigns.store import CampaignRow
from kernel.engage.campaigns.views import to_message


class CampaignServicer(campaigns_pb2_grpc.CampaignServiceServicer):
    def __init__(self, campaigns: Campaigns) -> None:
        self.campaigns = campaigns

    @rpc()
    async def CreateCampaign(
        self, request: pb.CreateCampaignRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Campaign:
        return answer(context, await self.campaigns.create(caller.project, request))

    @rpc()
    async def UpdateCampaign(
        self, request: pb.UpdateCampaignRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Campaign:
        return await self.campaigns.update(caller.project, request)

    @rpc()
    async def ScheduleCampaign(
        self, request: pb.ScheduleCampaignRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Campaign:
        return await self.campaigns.schedule(caller.project, request.campaign_id)

    @rpc()
    async def CancelCampaign(
        self, request: pb.CancelCampaignRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Campaign:
        return await self.campaigns.cancel(caller.project, request.campaign_id)

    @rpc()
    async def GetCampaign(
        self, request: pb.GetCampaignRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Campaign:
        return await self.campaigns.get(caller.project, request.campaign_id)

    @rpc()
    async def ListCampaigns(
        self, request: pb.ListCampaignsRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.ListCampaignsResponse:
        page = read_page(request, parse_time_position)
        rows = await self.campaigns.list(caller.project, list(request.states), page.size + 1, page.after)
        listed, token = page_of(request, rows, page.size, _position)
        return pb.ListCampaignsResponse(campaigns=[to_message(row) for row in listed], next_page_token=token)

    @rpc()
    async def SendTestCampaign(
        self, request: pb.SendTestCampaignRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> messages_pb2.Send:
        return await self.campaigns.send_test(caller.project, request)


def _position(row: CampaignRow) -> list[str]:
    return time_position(row.created_at, row.campaign_id)
