"""TemplateService's operations on saved templates, for the API's servicer."""

from __future__ import annotations

import uuid

import asyncpg

from herald.v1 import templates_pb2 as pb
from kernel.api.paging import page_of, parse_time_position, read_page, time_position
from kernel.engage.templates.content import check_content
from kernel.engage.templates.messages import masked_paths, template_message, updated
from kernel.engage.templates.preview import render_for_profile
from kernel.engage.templates.sending import read_ref
from kernel.engage.templates.store import SavedTemplate, TemplateStore
from kernel.errors import InvalidArgument
from kernel.plugins import ChannelManager
from kernel.projects import Projects, parse_id


def _position(saved: SavedTemplate) -> list[str]:
    return time_position(saved.listed_at, saved.template_id)


class Templates:
    def __init__(
        self, pool: asyncpg.Pool, store: TemplateStore, projects: Projects, channels: ChannelManager
    ) -> None:
        self._pool = pool
        self._store = store
        self._projects = projects
        self._channels = channels

    async def create(self, project_id: uuid.UUID, request: pb.CreateTemplateRequest) -> pb.Template:
        content = check_content(request.template, "template")
        return template_message(await self._store.create(project_id, content))

    async def get(self, project_id: uuid.UUID, request: pb.GetTemplateRequest) -> pb.Template:
        if request.version < 0:
            raise InvalidArgument("0 (the latest) or a version number", "version")
        template_id = parse_id(request.template_id, "template_id")
        return template_message(await self._store.get(project_id, template_id, request.version))

    async def update(self, project_id: uuid.UUID, request: pb.UpdateTemplateRequest) -> pb.Template:
        template_id = parse_id(request.template.template_id, "template.template_id")
        fields = masked_paths(request)
        saved = await self._store.update(
            project_id, template_id, lambda current: updated(current, request.template, fields)
        )
        return template_message(saved)

    async def delete(self, project_id: uuid.UUID, request: pb.DeleteTemplateRequest) -> None:
        await self._store.delete(project_id, parse_id(request.template_id, "template_id"))

    async def list(self, project_id: uuid.UUID, request: pb.ListTemplatesRequest) -> pb.ListTemplatesResponse:
        page = read_page(request, parse_time_position)
        templates = await self._store.list(project_id, page.size + 1, page.after)
        listed, token = page_of(request, templates, page.size, _position)
        return pb.ListTemplatesResponse(
            templates=[template_message(saved) for saved in listed], next_page_token=token
        )

    async def render(
        self, project_id: uuid.UUID, request: pb.RenderTemplateRequest
    ) -> pb.RenderTemplateResponse:
        which = request.WhichOneof("source")
        if which is None:
            raise InvalidArgument("set saved or inline", "source")
        if which == "saved":
            saved = await read_ref(self._store, project_id, request.saved, "saved")
            content, version = saved.content, saved.version
        else:
            content, version = check_content(request.inline, "inline"), 0
        project = await self._projects.get(project_id)
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            answer = await render_for_profile(
                conn, self._channels, project_id, project.default_language, content, request, which
            )
        answer.version = version
        return answer
