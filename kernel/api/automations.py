"""AutomationService: automations saved as versions, activated, paused, archived, read and listed."""

from __future__ import annotations

import grpc

from herald.v1 import automations_pb2 as pb
from herald.v1 import automations_pb2_grpc
from kernel.api.field_masks import masked_fields
from kernel.api.paging import page_of, parse_time_position, read_page, time_position
from kernel.api.replays import answer
from kernel.api.status import rpc
from kernel.auth import Caller
from kernel.engage.automations import Automations
from kernel.engage.automations.service import UPDATABLE
from kernel.engage.automations.store import AutomationRow
from kernel.engage.automations.views import to_message
from kernel.errors import InvalidArgument

_MASK_PATHS = {path: (path,) for path in UPDATABLE}


class AutomationServicer(automations_pb2_grpc.AutomationServiceServicer):
    def __init__(self, automations: Automations) -> None:
        self.automations = automations

    @rpc()
    async def CreateAutomation(
        self, request: pb.CreateAutomationRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Automation:
        return answer(context, await self.automations.create(caller.project, request))

    @rpc()
    async def UpdateAutomation(
        self, request: pb.UpdateAutomationRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Automation:
        if not request.update_mask.paths:
            raise InvalidArgument("name the fields to change", "update_mask")
        masked_fields(request.update_mask.paths, _MASK_PATHS)
        return await self.automations.update(caller.project, request)

    @rpc()
    async def ActivateAutomation(
        self, request: pb.ActivateAutomationRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Automation:
        return await self.automations.activate(caller.project, request.automation_id)

    @rpc()
    async def PauseAutomation(
        self, request: pb.PauseAutomationRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Automation:
        return await self.automations.pause(caller.project, request.automation_id)

    @rpc()
    async def ArchiveAutomation(
        self, request: pb.ArchiveAutomationRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Automation:
        return await self.automations.archive(caller.project, request.automation_id)

    @rpc()
    async def GetAutomation(
        self, request: pb.GetAutomationRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Automation:
        return await self.automations.get(caller.project, request.automation_id)

    @rpc()
    async def ListAutomations(
        self, request: pb.ListAutomationsRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.ListAutomationsResponse:
        page = read_page(request, parse_time_position)
        rows = await self.automations.list(caller.project, list(request.states), page.size + 1, page.after)
        listed, token = page_of(request, rows, page.size, _position)
        return pb.ListAutomationsResponse(
            automations=[to_message(row) for row in listed], next_page_token=token
        )


def _position(row: AutomationRow) -> list[str]:
    return time_position(row.created_at, row.automation_id)
