"""Projects (tenants) and their API keys."""

from __future__ import annotations

import uuid
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import asyncpg
from google.protobuf.duration_pb2 import Duration

from kernel.auth import new_secret
from kernel.errors import InvalidArgument, NotFound
from kernel.text import check_no_control_characters

MAX_NAME_LENGTH = 200
MAX_RETENTION_DAYS = 36_500
SECONDS_PER_DAY = 86_400
#: Where a listing stands: the (created_at, id) of the last item returned.
Position = tuple[datetime, uuid.UUID]


@dataclass(frozen=True, slots=True)
class Project:
    project_id: uuid.UUID
    name: str
    timezone: str
    inactivity_retention_days: int
    created_at: datetime
    #: A BCP 47 tag, or "" for none (see kernel.engage.templates.languages).
    default_language: str = ""


@dataclass(frozen=True, slots=True)
class ProjectChanges:
    """What an update writes; None keeps the stored value."""

    name: str | None = None
    timezone: str | None = None
    inactivity_retention_days: int | None = None
    default_language: str | None = None


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: uuid.UUID
    project_id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


@cache
def _known_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_name(name: str, field: str = "name") -> str:
    name = name.strip()
    if not name:
        raise InvalidArgument("must not be empty", field)
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidArgument(f"at most {MAX_NAME_LENGTH} characters", field)
    return check_no_control_characters(name, field)


def check_timezone(timezone: str, field: str = "settings.timezone") -> str:
    if timezone not in _known_timezones():
        raise InvalidArgument(f"{timezone!r} is not an IANA time zone (e.g. 'Europe/Paris')", field)
    return timezone


def check_retention(retention: Duration, field: str = "settings.inactivity_retention") -> int:
    """The retention in whole days, as stored: the purge counts in days, so a span it cannot honour
    exactly (a fraction of a day) is refused rather than rounded."""
    days, remainder = divmod(retention.seconds, SECONDS_PER_DAY)
    if remainder or retention.nanos or not 0 <= days <= MAX_RETENTION_DAYS:
        raise InvalidArgument(
            f"must be a whole number of days ({SECONDS_PER_DAY}s each) from 0 to {MAX_RETENTION_DAYS:,}",
            field,
        )
    return days


def retention_duration(days: int) -> Duration | None:
    """The API's form of a stored retention: unset for 0 (keep forever)."""
    return Duration(seconds=days * SECONDS_PER_DAY) if days else None


def parse_id(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidArgument("must be a UUID", field) from None


def _project(row: asyncpg.Record) -> Project:
    return Project(
        row["project_id"],
        row["name"],
        row["timezone"],
        row["inactivity_retention_days"],
        row["created_at"],
        row["default_language"],
    )


def _api_key(row: asyncpg.Record) -> ApiKey:
    return ApiKey(
        row["key_id"], row["project_id"], row["name"], row["prefix"], row["created_at"], row["revoked_at"]
    )


class Projects:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(
        self, name: str, timezone: str, retention_days: int, default_language: str = ""
    ) -> tuple[Project, ApiKey, str]:
        """Create a project with its first API key; returns the key's secret (shown once)."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                """INSERT INTO projects
                       (project_id, name, timezone, inactivity_retention_days, default_language)
                   VALUES ($1, $2, $3, $4, $5) RETURNING *""",
                uuid.uuid4(),
                name,
                timezone,
                retention_days,
                default_language,
            )
            project = _project(row)
            key, secret = await self._insert_key(conn, project.project_id, "default")
        return project, key, secret

    async def get(self, project_id: uuid.UUID, conn: asyncpg.Connection | None = None) -> Project:
        """``conn``: a caller's connection to read on (in its transaction), sparing a pool connection's
        acquire and reset (e.g. each send step of an automation's walk)."""
        row = await (conn or self._pool).fetchrow("SELECT * FROM projects WHERE project_id = $1", project_id)
        if row is None:
            raise NotFound("no such project", "project_id")
        return _project(row)

    async def list(self, limit: int, after: Position | None) -> list[Project]:
        """Up to ``limit`` projects in creation order, those after ``after`` (a project's position)."""
        created_at, project_id = after or (None, None)
        rows = await self._pool.fetch(
            """SELECT * FROM projects WHERE $2::timestamptz IS NULL OR (created_at, project_id) > ($2, $3)
               ORDER BY created_at, project_id LIMIT $1""",
            limit,
            created_at,
            project_id,
        )
        return [_project(r) for r in rows]

    async def update(self, project_id: uuid.UUID, changes: ProjectChanges) -> Project:
        """Changes the fields that ``changes`` sets (None leaves a field as it is)."""
        row = await self._pool.fetchrow(
            """UPDATE projects SET name = coalesce($2, name), timezone = coalesce($3, timezone),
                   inactivity_retention_days = coalesce($4, inactivity_retention_days),
                   default_language = coalesce($5, default_language), updated_at = now()
               WHERE project_id = $1 RETURNING *""",
            project_id,
            changes.name,
            changes.timezone,
            changes.inactivity_retention_days,
            changes.default_language,
        )
        if row is None:
            raise NotFound("no such project", "project_id")
        return _project(row)

    async def create_key(self, project_id: uuid.UUID, name: str) -> tuple[ApiKey, str]:
        async with self._pool.acquire() as conn:
            await self._require(conn, project_id)
            return await self._insert_key(conn, project_id, name)

    async def list_keys(self, project_id: uuid.UUID, limit: int, after: Position | None) -> list[ApiKey]:
        """Up to ``limit`` of the project's keys in creation order, those after ``after``."""
        created_at, key_id = after or (None, None)
        async with self._pool.acquire() as conn:
            await self._require(conn, project_id)
            rows = await conn.fetch(
                """SELECT * FROM api_keys WHERE project_id = $1
                     AND ($3::timestamptz IS NULL OR (created_at, key_id) > ($3, $4))
                   ORDER BY created_at, key_id LIMIT $2""",
                project_id,
                limit,
                created_at,
                key_id,
            )
        return [_api_key(r) for r in rows]

    async def revoke_key(self, project_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
        row = await self._pool.fetchrow(
            """UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
               WHERE project_id = $1 AND key_id = $2 RETURNING *""",
            project_id,
            key_id,
        )
        if row is None:
            raise NotFound("no such API key in this project", "key_id")
        return _api_key(row)

    @staticmethod
    async def _require(conn: asyncpg.Connection, project_id: uuid.UUID) -> None:
        if not await conn.fetchval("SELECT true FROM projects WHERE project_id = $1", project_id):
            raise NotFound("no such project", "project_id")

    @staticmethod
    async def _insert_key(conn: asyncpg.Connection, project_id: uuid.UUID, name: str) -> tuple[ApiKey, str]:
        secret, prefix, digest = new_secret()
        row = await conn.fetchrow(
            """INSERT INTO api_keys (project_id, key_id, name, prefix, secret_sha256)
               VALUES ($1, $2, $3, $4, $5) RETURNING *""",
            project_id,
            uuid.uuid4(),
            name,
            prefix,
            digest,
        )
        return _api_key(row), secret
