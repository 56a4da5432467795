"""MessageService: sending messages, one now (SendTransactional) or in bulk (the send RPCs)."""

from __future__ import annotations

import asyncpg
import grpc
from google.protobuf import empty_pb2

from herald.v1 import messages_pb2 as pb
from herald.v1 import messages_pb2_grpc
from kernel.api.replays import answer
from kernel.api.status import rpc
from kernel.auth import Caller
from kernel.delivery.app_reports import AppReports
from kernel.delivery.send_listing import list_sends
from kernel.delivery.sends import Sends
from kernel.delivery.transactional import TransactionalSender
from kernel.engage.templates import TemplateStore, send_translations
from kernel.projects import Projects
from kernel.request_ids import check_client_request_id


class MessageServicer(messages_pb2_grpc.MessageServiceServicer):
    def __init__(
        self,
        transactional: TransactionalSender,
        sends: Sends,
        pool: asyncpg.Pool,
        templates: TemplateStore,
        projects: Projects,
        app_reports: AppReports,
    ) -> None:
        self.transactional = transactional
        self.app_reports = app_reports
        self.sends = sends
        self.pool = pool
        self.templates = templates
        self.projects = projects

    @rpc()
    async def SendTransactional(
        self, request: pb.SendTransactionalRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.SendTransactionalResponse:
        return answer(context, await self.transactional.send(caller.project, request))

    @rpc()
    async def CreateSend(
        self, request: pb.CreateSendRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Send:
        check_client_request_id(request.request_id)
        saved = await send_translations(self.templates, self.projects, caller.project, request)
        return answer(context, await self.sends.create(caller.project, request, saved))

    @rpc()
    async def GetSend(
        self, request: pb.GetSendRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Send:
        return await self.sends.get(caller.project, request.send_id)

    @rpc()
    async def ListSends(
        self, request: pb.ListSendsRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.ListSendsResponse:
        return await list_sends(self.pool, caller.project, request)

    @rpc()
    async def PauseSend(
        self, request: pb.PauseSendRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Send:
        return await self.sends.pause(caller.project, request.send_id)

    @rpc()
    async def ResumeSend(
        self, request: pb.ResumeSendRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Send:
        return await self.sends.resume(caller.project, request.send_id)

    @rpc()
    async def CancelSend(
        self, request: pb.CancelSendRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Send:
        return await self.sends.cancel(caller.project, request.send_id)

    @rpc()
    async def RecordMessageOpened(
        self, request: pb.RecordMessageOpenedRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> empty_pb2.Empty:
        await self.app_reports.opened(caller.project, request.message_id)
        return empty_pb2.Empty()
