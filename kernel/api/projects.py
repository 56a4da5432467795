"""ProjectService: tenants and API keys, for the operator (admin key)."""

from __future__ import annotations

import grpc

from herald.v1 import projects_pb2 as pb
from herald.v1 import projects_pb2_grpc
from kernel.api.status import rpc
from kernel.api.timestamps import from_datetime
from kernel.auth import Authenticator, Caller
from kernel.errors import PermissionDenied
from kernel.projects import (
    ApiKey,
    Project,
    Projects,
    check_name,
    check_retention,
    check_timezone,
    parse_id,
)


def project_message(project: Project) -> pb.Project:
    return pb.Project(
        project_id=str(project.project_id),
        name=project.name,
        settings=pb.ProjectSettings(
            timezone=project.timezone, inactivity_retention_days=project.inactivity_retention_days
        ),
        created_at=from_datetime(project.created_at),
    )


def api_key_message(key: ApiKey) -> pb.ApiKey:
    message = pb.ApiKey(
        key_id=str(key.key_id),
        project_id=str(key.project_id),
        name=key.name,
        prefix=key.prefix,
        created_at=from_datetime(key.created_at),
    )
    if key.revoked_at is not None:
        message.revoked_at.CopyFrom(from_datetime(key.revoked_at))
    return message


class ProjectServicer(projects_pb2_grpc.ProjectServiceServicer):
    def __init__(self, projects: Projects, auth: Authenticator) -> None:
        self.projects = projects
        self.auth = auth

    @rpc(admin=True)
    async def CreateProject(
        self, request: pb.CreateProjectRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.CreateProjectResponse:
        settings = request.settings
        project, key, secret = await self.projects.create(
            check_name(request.name),
            check_timezone(settings.timezone) if settings.timezone else "UTC",
            check_retention(settings.inactivity_retention_days),
        )
        return pb.CreateProjectResponse(
            project=project_message(project), api_key=api_key_message(key), api_key_secret=secret
        )

    @rpc(admin_or_project=True)
    async def GetProject(
        self, request: pb.GetProjectRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Project:
        project_id = parse_id(request.project_id, "project_id")
        if not caller.is_admin and caller.project_id != project_id:
            raise PermissionDenied("an API key can only read its own project")
        return project_message(await self.projects.get(project_id))

    @rpc(admin=True)
    async def ListProjects(
        self, request: pb.ListProjectsRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.ListProjectsResponse:
        return pb.ListProjectsResponse(projects=[project_message(p) for p in await self.projects.list()])

    @rpc(admin=True)
    async def UpdateProjectSettings(
        self, request: pb.UpdateProjectSettingsRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Project:
        project = await self.projects.update_settings(
            parse_id(request.project_id, "project_id"),
            check_timezone(request.timezone, "timezone") if request.HasField("timezone") else None,
            check_retention(request.inactivity_retention_days, "inactivity_retention_days")
            if request.HasField("inactivity_retention_days")
            else None,
        )
        return project_message(project)

    @rpc(admin=True)
    async def CreateApiKey(
        self, request: pb.CreateApiKeyRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.CreateApiKeyResponse:
        key, secret = await self.projects.create_key(
            parse_id(request.project_id, "project_id"), check_name(request.name)
        )
        return pb.CreateApiKeyResponse(api_key=api_key_message(key), secret=secret)

    @rpc(admin=True)
    async def ListApiKeys(
        self, request: pb.ListApiKeysRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.ListApiKeysResponse:
        keys = await self.projects.list_keys(parse_id(request.project_id, "project_id"))
        return pb.ListApiKeysResponse(api_keys=[api_key_message(k) for k in keys])

    @rpc(admin=True)
    async def RevokeApiKey(
        self, request: pb.RevokeApiKeyRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.ApiKey:
        project_id = parse_id(request.project_id, "project_id")
        key = await self.projects.revoke_key(project_id, parse_id(request.key_id, "key_id"))
        self.auth.forget_project_keys(project_id)
        return api_key_message(key)
