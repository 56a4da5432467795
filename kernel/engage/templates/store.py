"""Saved templates in the database: the only module that reads or writes ``templates`` and
``template_versions``. A version, once written, is never changed: an update writes the next one."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from kernel.engage.templates.content import TemplateContent, content_of, stored_content
from kernel.errors import NotFound

#: Where a listing stands: the (created_at, id) of the last template returned.
Position = tuple[datetime, uuid.UUID]

_VERSION = """SELECT t.template_id, t.created_at AS listed_at, v.version, v.name, v.content, v.created_at
FROM templates t JOIN template_versions v USING (project_id, template_id)"""


@dataclass(frozen=True, slots=True)
class SavedTemplate:
    template_id: uuid.UUID
    version: int
    content: TemplateContent
    #: When this version was saved.
    created_at: datetime
    #: When the template was first saved: the listing's order.
    listed_at: datetime


def _saved(row: asyncpg.Record) -> SavedTemplate:
    return SavedTemplate(
        row["template_id"],
        row["version"],
        content_of(row["name"], row["content"]),
        row["created_at"],
        row["listed_at"],
    )


class TemplateStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(self, project_id: uuid.UUID, content: TemplateContent) -> SavedTemplate:
        template_id = uuid.uuid4()
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO templates (project_id, template_id, latest_version) VALUES ($1, $2, 1)",
                project_id,
                template_id,
            )
            await self._insert_version(conn, project_id, template_id, 1, content)
            return await self._read(conn, project_id, template_id, 1)

    async def get(self, project_id: uuid.UUID, template_id: uuid.UUID, version: int = 0) -> SavedTemplate:
        """The version asked for, or the latest for 0; NotFound names the field that matches nothing."""
        async with self._pool.acquire() as conn:
            return await self._read(conn, project_id, template_id, version)

    async def update(
        self,
        project_id: uuid.UUID,
        template_id: uuid.UUID,
        change: Callable[[TemplateContent], TemplateContent],
    ) -> SavedTemplate:
        """Writes the next version: ``change`` applied to the latest (under the template's lock, so that
        two updates make two versions, each from the one before)."""
        async with self._pool.acquire() as conn, conn.transaction():
            latest = await conn.fetchval(
                """SELECT latest_version FROM templates WHERE project_id = $1 AND template_id = $2
                   FOR UPDATE""",
                project_id,
                template_id,
            )
            if latest is None:
                raise NotFound("no such template", "template_id")
            current = await self._read(conn, project_id, template_id, latest)
            await self._insert_version(conn, project_id, template_id, latest + 1, change(current.content))
            await conn.execute(
                "UPDATE templates SET latest_version = $3 WHERE project_id = $1 AND template_id = $2",
                project_id,
                template_id,
                latest + 1,
            )
            return await self._read(conn, project_id, template_id, latest + 1)

    async def delete(self, project_id: uuid.UUID, template_id: uuid.UUID) -> None:
        deleted = await self._pool.execute(
            "DELETE FROM templates WHERE project_id = $1 AND template_id = $2", project_id, template_id
        )
        if deleted == "DELETE 0":
            raise NotFound("no such template", "template_id")

    async def list(self, project_id: uuid.UUID, limit: int, after: Position | None) -> list[SavedTemplate]:
        """Up to ``limit`` templates' latest versions in creation order, those after ``after``."""
        created_at, template_id = after or (None, None)
        rows = await self._pool.fetch(
            f"""{_VERSION}
            WHERE t.project_id = $1 AND v.version = t.latest_version
              AND ($3::timestamptz IS NULL OR (t.created_at, t.template_id) > ($3, $4))
            ORDER BY t.created_at, t.template_id LIMIT $2""",
            project_id,
            limit,
            created_at,
            template_id,
        )
        return [_saved(row) for row in rows]

    @staticmethod
    async def _insert_version(
        conn: asyncpg.Connection,
        project_id: uuid.UUID,
        template_id: uuid.UUID,
        version: int,
        content: TemplateContent,
    ) -> None:
        await conn.execute(
            """INSERT INTO template_versions (project_id, template_id, version, name, content)
               VALUES ($1, $2, $3, $4, $5)""",
            project_id,
            template_id,
            version,
            content.name,
            stored_content(content),
        )

    @staticmethod
    async def _read(
        conn: asyncpg.Connection, project_id: uuid.UUID, template_id: uuid.UUID, version: int
    ) -> SavedTemplate:
        row = await conn.fetchrow(
            f"""{_VERSION}
            WHERE t.project_id = $1 AND t.template_id = $2
              AND v.version = CASE WHEN $3 = 0 THEN t.latest_version ELSE $3 END""",
            project_id,
            template_id,
            version,
        )
        if row is None:
            exists = await conn.fetchval(
                "SELECT true FROM templates WHERE project_id = $1 AND template_id = $2",
                project_id,
                template_id,
            )
            raise NotFound(
                "no such version" if exists else "no such template", "version" if exists else "template_id"
            )
        return _saved(row)
