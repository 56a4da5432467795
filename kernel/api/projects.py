"""ProjectService: tenants and API keys, for the operator (admin key)."""

from __future__ import annotations

import grpc

from herald.v1 import projects_pb2 as pb
from herald.v1 import projects_pb2_grpc
from kernel.api.admin_log import admin_change, key_fields
from kernel.api.paging import page_of, parse_time_position, read_page, time_position
from kernel.api.project_updates import default_language, project_changes
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
    retention_duration,
)


def project_message(project: Project) -> pb.Project:
    return pb.Project(
        project_id=str(project.project_id),
        name=project.name,
        settings=pb.ProjectSettings(
            timezone=project.timezone,
            inactivity_retention=retention_duration(project.inactivity_retention_days),
            default_language=project.default_language,
        ),
        created_at=from_datetime(project.created_at),
    )


def api_key_message(key: ApiKey, secret: str = "") -> pb.ApiKey:
    """``secret``: only in the answer of the call that created the key."""
    message = pb.ApiKey(
        key_id=str(key.key_id),
        project_id=str(key.project_id),
        name=key.name,
        prefix=key.prefix,
        created_at=from_datetime(key.created_at),
        secret=secret,
    )
    if key.revoked_at is not None:
        message.revoked_at.CopyFrom(from_datetime(key.revoked_at))
    return message


def _project_position(project: Project) -> list[str]:
    return time_position(project.created_at, project.project_id)


def _key_position(key: ApiKey) -> list[str]:
    return time_position(key.created_at, key.key_id)


class ProjectServicer(projects_pb2_grpc.ProjectServiceServicer):
    def __init__(self, projects: Projects, auth: Authenticator) -> None:
        self.projects = projects
        self.auth = auth

    @rpc(admin=True)
    async def CreateProject(
        self, request: pb.CreateProjectRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Project:
        settings = request.settings
        project, key, secret = await self.projects.create(
            check_name(request.name),
            check_timezone(settings.timezone) if settings.timezone else "UTC",
            check_retention(settings.inactivity_retention),
            default_language(settings, "settings.default_language"),
        )
        admin_change("project created", context, project_name=project.name, **key_fields(key))
        message = project_message(project)
        message.initial_api_key.CopyFrom(api_key_message(key, secret))
        return message

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
        page = read_page(request, parse_time_position)
        projects = await self.projects.list(page.size + 1, page.after)
        listed, token = page_of(request, projects, page.size, _project_position)
        return pb.ListProjectsResponse(projects=[project_message(p) for p in listed], next_page_token=token)

    @rpc(admin=True)
    async def UpdateProject(
        self, request: pb.UpdateProjectRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.Project:
        project_id = parse_id(request.project.project_id, "project.project_id")
        project = await self.projects.update(project_id, project_changes(request))
        admin_change(
            "project updated", context, project_id=project_id, fields=list(request.update_mask.paths)
        )
        return project_message(project)

    @rpc(admin=True)
    async def CreateApiKey(
        self, request: pb.CreateApiKeyRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.ApiKey:
        key, secret = await self.projects.create_key(
            parse_id(request.project_id, "project_id"), check_name(request.name)
        )
        admin_change("key created", context, **key_fields(key))
        return api_key_message(key, secret)

    @rpc(admin=True)
    async def ListApiKeys(
        self, request: pb.ListApiKeysRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.ListApiKeysResponse:
        project_id = parse_id(request.project_id, "project_id")
        page = read_page(request, parse_time_position)
        keys = await self.projects.list_keys(project_id, page.size + 1, page.after)
        listed, token = page_of(request, keys, page.size, _key_position)
        return pb.ListApiKeysResponse(api_keys=[api_key_message(k) for k in listed], next_page_token=token)

    @rpc(admin=True)
    async def RevokeApiKey(
        self, request: pb.RevokeApiKeyRequest, context: grpc.aio.ServicerContext, caller: Caller
    ) -> pb.ApiKey:
        project_id = parse_id(request.project_id, "project_id")
        key = await self.projects.revoke_key(project_id, parse_id(request.key_id, "key_id"))
        self.auth.forget_project_keys(project_id)
        admin_change("key revoked", context, **key_fields(key))
        return api_key_message(key)
