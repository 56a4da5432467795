"""The project's endpoints (``outhook_endpoints``): every statement on that table's configuration.

The signing secret is generated here, shown once, and kept sealed (:mod:`kernel.secret_box`) with the
project and endpoint as authenticated context, so a database dump holds no usable signing key.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from kernel.errors import NotFound
from kernel.outhooks.attempts import Attempt, latest
from kernel.outhooks.events import EventType
from kernel.outhooks.outbox import hold
from kernel.secret_box import SecretBox

#: A rotated secret may keep signing beside its successor for at most this long.
MAX_PREVIOUS_SECRET_VALIDITY = timedelta(days=7)
_SECRET_PREFIX = "whsec_"
_COLUMNS = """e.endpoint_id, e.url, e.description, e.event_types, e.enabled, e.disabled_reason,
    e.dropped_events, e.created_at, e.updated_at,
    (SELECT count(*) FROM outhook_deliveries d
     WHERE d.project_id = e.project_id AND d.endpoint_id = e.endpoint_id) AS pending_events"""


@dataclass(frozen=True, slots=True)
class Endpoint:
    endpoint_id: uuid.UUID
    url: str
    description: str
    event_types: list[EventType]
    enabled: bool
    disabled_reason: str
    dropped_events: int
    pending_events: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class EndpointChanges:
    """The fields an update writes; None leaves a field as it is."""

    url: str | None = None
    description: str | None = None
    event_types: list[EventType] | None = None
    enabled: bool | None = None


_SELECT = f"SELECT {_COLUMNS} FROM outhook_endpoints e WHERE e.project_id = $1"


def secret_context(project_id: uuid.UUID, endpoint_id: uuid.UUID) -> bytes:
    return f"{project_id}/{endpoint_id}/outhook".encode()


def _endpoint(row: asyncpg.Record) -> Endpoint:
    return Endpoint(
        row["endpoint_id"],
        row["url"],
        row["description"],
        [EventType(t) for t in row["event_types"]],
        row["enabled"],
        row["disabled_reason"],
        row["dropped_events"],
        row["pending_events"],
        row["created_at"],
        row["updated_at"],
    )


def _not_found() -> NotFound:
    return NotFound("no webhook endpoint with this id in the project", "endpoint_id")


class Endpoints:
    def __init__(self, pool: asyncpg.Pool, box: SecretBox) -> None:
        self._pool = pool
        self._box = box

    def _new_secret(self, project_id: uuid.UUID, endpoint_id: uuid.UUID) -> tuple[str, bytes]:
        secret = _SECRET_PREFIX + secrets.token_urlsafe(32)
        return secret, self._box.seal(secret.encode(), secret_context(project_id, endpoint_id))

    async def create(
        self, project_id: uuid.UUID, url: str, description: str, event_types: Sequence[EventType]
    ) -> tuple[Endpoint, str]:
        """The new endpoint and its signing secret (the only time it is returned)."""
        endpoint_id = uuid.uuid4()
        secret, sealed = self._new_secret(project_id, endpoint_id)
        async with self._pool.acquire() as conn:
            await conn.execute(
                """INSERT INTO outhook_endpoints
                       (project_id, endpoint_id, url, description, event_types, sealed_secret)
                   VALUES ($1, $2, $3, $4, $5, $6)""",
                project_id,
                endpoint_id,
                url,
                description,
                [t.value for t in event_types],
                sealed,
            )
            return await self._get(conn, project_id, endpoint_id), secret

    async def get(self, project_id: uuid.UUID, endpoint_id: uuid.UUID) -> Endpoint:
        async with self._pool.acquire() as conn:
            return await self._get(conn, project_id, endpoint_id)

    @staticmethod
    async def _get(conn: asyncpg.Connection, project_id: uuid.UUID, endpoint_id: uuid.UUID) -> Endpoint:
        row = await conn.fetchrow(f"{_SELECT} AND e.endpoint_id = $2", project_id, endpoint_id)
        if row is None:
            raise _not_found()
        return _endpoint(row)

    async def list(
        self, project_id: uuid.UUID, limit: int, after: tuple[datetime, uuid.UUID] | None
    ) -> list[Endpoint]:
        """Oldest first, from the (created_at, endpoint_id) position ``after``."""
        at, identifier = after or (None, None)
        rows = await self._pool.fetch(
            f"""{_SELECT} AND ($2::timestamptz IS NULL OR (e.created_at, e.endpoint_id) > ($2, $3))
                ORDER BY e.created_at, e.endpoint_id LIMIT $4""",
            project_id,
            at,
            identifier,
            limit,
        )
        return [_endpoint(row) for row in rows]

    async def update(
        self, project_id: uuid.UUID, endpoint_id: uuid.UUID, changes: EndpointChanges
    ) -> Endpoint:
        """Write ``changes``; enabling clears the failure record (a fresh start) and makes the waiting
        events due, disabling names the caller as the reason and parks them."""
        async with self._pool.acquire() as conn, conn.transaction():
            status = await conn.execute(
                """UPDATE outhook_endpoints SET
                       url = coalesce($3, url),
                       description = coalesce($4, description),
                       event_types = coalesce($5, event_types),
                       enabled = coalesce($6, enabled),
                       disabled_reason = CASE WHEN $6 THEN '' WHEN NOT $6 THEN 'disabled'
                                              ELSE disabled_reason END,
                       failing_since = CASE WHEN $6 THEN NULL ELSE failing_since END,
                       updated_at = now()
                   WHERE project_id = $1 AND endpoint_id = $2""",
                project_id,
                endpoint_id,
                changes.url,
                changes.description,
                None if changes.event_types is None else [t.value for t in changes.event_types],
                changes.enabled,
            )
            if status == "UPDATE 0":
                raise _not_found()
            if changes.enabled is not None:
                await hold(conn, project_id, endpoint_id, held=not changes.enabled)
            return await self._get(conn, project_id, endpoint_id)

    async def delete(self, project_id: uuid.UUID, endpoint_id: uuid.UUID) -> None:
        """Remove the endpoint, its undelivered events and its attempts (by cascade)."""
        status = await self._pool.execute(
            "DELETE FROM outhook_endpoints WHERE project_id = $1 AND endpoint_id = $2",
            project_id,
            endpoint_id,
        )
        if status == "DELETE 0":
            raise _not_found()

    async def rotate_secret(
        self, project_id: uuid.UUID, endpoint_id: uuid.UUID, previous_validity: timedelta
    ) -> tuple[Endpoint, str]:
        """A new secret; the old one keeps signing beside it for ``previous_validity``."""
        secret, sealed = self._new_secret(project_id, endpoint_id)
        async with self._pool.acquire() as conn:
            status = await conn.execute(
                """UPDATE outhook_endpoints SET
                       sealed_previous_secret = CASE WHEN $4 > interval '0' THEN sealed_secret END,
                       previous_secret_until = CASE WHEN $4 > interval '0' THEN now() + $4 END,
                       sealed_secret = $3, updated_at = now()
                   WHERE project_id = $1 AND endpoint_id = $2""",
                project_id,
                endpoint_id,
                sealed,
                previous_validity,
            )
            if status == "UPDATE 0":
                raise _not_found()
            return await self._get(conn, project_id, endpoint_id), secret

    async def attempts(
        self, project_id: uuid.UUID, endpoint_id: uuid.UUID, limit: int, before: int | None
    ) -> list[Attempt]:
        """The endpoint's last calls, newest first, before the attempt id ``before``."""
        async with self._pool.acquire() as conn:
            await self._get(conn, project_id, endpoint_id)
        return await latest(self._pool, project_id, endpoint_id, limit, before)


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how a deliverer calls an endpoint."""

    url: str
    #: The current secret, then the previous one while it still overlaps.
    secrets: list[str]


async def target(
    pool: asyncpg.Pool, box: SecretBox, project_id: uuid.UUID, endpoint_id: uuid.UUID
) -> Target | None:
    """The endpoint's URL and signing secrets; None if it was deleted or disabled since its events were
    leased."""
    row = await pool.fetchrow(
        """SELECT url, sealed_secret,
                  CASE WHEN previous_secret_until > now() THEN sealed_previous_secret END AS previous
           FROM outhook_endpoints WHERE project_id = $1 AND endpoint_id = $2 AND enabled""",
        project_id,
        endpoint_id,
    )
    if row is None:
        return None
    context = secret_context(project_id, endpoint_id)
    sealed = [row["sealed_secret"], *([row["previous"]] if row["previous"] is not None else [])]
    return Target(row["url"], [box.open(s, context).decode() for s in sealed])


async def record_success(conn: asyncpg.Connection, project_id: uuid.UUID, endpoint_id: uuid.UUID) -> None:
    await conn.execute(
        """UPDATE outhook_endpoints SET failing_since = NULL
           WHERE project_id = $1 AND endpoint_id = $2 AND failing_since IS NOT NULL""",
        project_id,
        endpoint_id,
    )


async def record_failure(
    conn: asyncpg.Connection, project_id: uuid.UUID, endpoint_id: uuid.UUID, disable_after: timedelta
) -> datetime | None:
    """Note a failed call; an endpoint failing for ``disable_after`` is disabled (reason "failing").
    Returns since when it failed if this call disabled it (its waiting events are parked then)."""
    row = await conn.fetchrow(
        """WITH before AS (
               SELECT failing_since,
                      enabled AND coalesce(failing_since <= now() - $3::interval, false) AS disable
               FROM outhook_endpoints WHERE project_id = $1 AND endpoint_id = $2 FOR NO KEY UPDATE)
           UPDATE outhook_endpoints e SET
               failing_since = coalesce(before.failing_since, now()),
               enabled = e.enabled AND NOT before.disable,
               disabled_reason = CASE WHEN before.disable THEN 'failing' ELSE e.disabled_reason END,
               updated_at = CASE WHEN before.disable THEN now() ELSE e.updated_at END
           FROM before WHERE e.project_id = $1 AND e.endpoint_id = $2
           RETURNING before.failing_since, before.disable AS disabled""",
        project_id,
        endpoint_id,
        disable_after,
    )
    if row is None or not row["disabled"]:
        return None
    await hold(conn, project_id, endpoint_id, held=True)
    failing_since: datetime = row["failing_since"]
    return failing_since


async def count_dropped(conn: asyncpg.Connection, dropped: dict[tuple[uuid.UUID, uuid.UUID], int]) -> None:
    if not dropped:
        return
    await conn.execute(
        """UPDATE outhook_endpoints e SET dropped_events = e.dropped_events + u.events
           FROM unnest($1::uuid[], $2::uuid[], $3::bigint[]) AS u(project_id, endpoint_id, events)
           WHERE e.project_id = u.project_id AND e.endpoint_id = u.endpoint_id""",
        [key[0] for key in dropped],
        [key[1] for key in dropped],
        list(dropped.values()),
    )
