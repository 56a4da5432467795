"""TemplateService: saved templates with languages and versions, and their preview (RenderTemplate)."""

from __future__ import annotations

import grpc
from google.protobuf.empty_pb2 import Empty

from herald.v1 import templates_pb2 as pb
from herald.v1 import templates_pb2_grpc
from kernel.api.status import rpc
from kernel.auth import Caller
from kernel.engage.templates import Templates


class TemplateServicer(templates_pb2_grpc.TemplateServiceServicer):
    def __init__(self, templates: Templates) -> None:
        self.templates = templates

    @rpc()
    async def CreateTemplate(
        self, request: pb.CreateTemplateRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Template:
        return await self.templates.create(caller.project, request)

    @rpc()
    async def GetTemplate(
        self, request: pb.GetTemplateRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Template:
        return await self.templates.get(caller.project, request)

    @rpc()
    async def UpdateTemplate(
        self, request: pb.UpdateTemplateRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Template:
        return await self.templates.update(caller.project, request)

    @rpc()
    async def DeleteTemplate(
        self, request: pb.DeleteTemplateRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> Empty:
        await self.templates.delete(caller.project, request)
        return Empty()

    @rpc()
    async def ListTemplates(
        self, request: pb.ListTemplatesRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.ListTemplatesResponse:
        return await self.templates.list(caller.project, request)

    @rpc()
    async def RenderTemplate(
        self, request: pb.RenderTemplateRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.RenderTemplateResponse:
        return await self.templates.render(caller.project, request)
