"""Saved segments, counts and previews, as the API asks for them (checked domain values in, records out)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg

from kernel.engage.segments import queries, store
from kernel.engage.segments.conditions import Condition
from kernel.engage.segments.freeze import inline
from kernel.engage.segments.statistics import ensure_statistics
from kernel.engage.segments.store import SavedSegment


class Segments:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(
        self, project_id: uuid.UUID, name: str, description: str, condition: Condition, field: str
    ) -> SavedSegment:
        async with self._pool.acquire() as conn:
            await inline(conn, project_id, condition, field)
            saved = await store.create(conn, project_id, name, description, condition)
            await ensure_statistics(conn, condition)
        return saved

    async def get(self, project_id: uuid.UUID, segment_id: uuid.UUID, version: int = 0) -> SavedSegment:
        async with self._pool.acquire() as conn:
            return await store.get(conn, project_id, segment_id, version)

    async def update(
        self,
        project_id: uuid.UUID,
        segment_id: uuid.UUID,
        name: str | None,
        description: str | None,
        condition: Condition | None,
        field: str,
    ) -> SavedSegment:
        """A new condition may not reference the segment itself, directly or through others."""
        async with self._pool.acquire() as conn:
            if condition is not None:
                await inline(conn, project_id, condition, field, within=str(segment_id))
            saved = await store.update(conn, project_id, segment_id, name, description, condition)
            if condition is not None:
                await ensure_statistics(conn, condition)
        return saved

    async def delete(self, project_id: uuid.UUID, segment_id: uuid.UUID) -> None:
        async with self._pool.acquire() as conn:
            await store.delete(conn, project_id, segment_id)

    async def page(
        self, project_id: uuid.UUID, limit: int, after: tuple[datetime, uuid.UUID] | None
    ) -> list[SavedSegment]:
        return await store.page(self._pool, project_id, limit, after)

    async def count(self, project_id: uuid.UUID, condition: Condition, field: str) -> tuple[int, datetime]:
        """The number of profiles matching now, and that instant."""
        now = datetime.now(UTC)
        async with self._pool.acquire() as conn:
            inlined = await inline(conn, project_id, condition, field)
            return await queries.count(conn, project_id, inlined, now), now

    async def preview(
        self,
        project_id: uuid.UUID,
        condition: Condition,
        field: str,
        limit: int,
        after: uuid.UUID | None,
        keys: Sequence[str],
    ) -> list[asyncpg.Record]:
        async with self._pool.acquire() as conn:
            inlined = await inline(conn, project_id, condition, field)
            return await queries.preview(conn, project_id, inlined, datetime.now(UTC), limit, after, keys)
