"""The asyncpg pool every kernel component shares, with JSON codecs set once per connection."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg
import orjson

from kernel.settings import Settings
from kernel.storage.embedded import start_embedded_postgres
from kernel.storage.migrations import apply_migrations

#: Planner settings for Herald's own connections. The default random_page_cost (4) models spinning disks
#: and made PostgreSQL hash a project's whole identity table instead of probing its index once per
#: identifier: 34 ms instead of 4.5 ms for 1000 identifiers among 100,000 (measured). Herald's queries are
#: short OLTP statements, for which JIT compilation only adds latency.
#:
#: Every statement is planned with its actual parameters (``force_custom_plan``), at every execution. asyncpg
#: keeps each statement prepared on its connection, and from the sixth execution PostgreSQL may switch to
#: a generic plan made without the parameters, judged by estimates that do not know them: the outbox fill's
#: was a nested-loop anti join quadratic in the chunk size, which turned a chunk of a second into minutes
#: from the sixth chunk a connection ran. Which plan a statement gets must not depend on how many times its
#: connection ran it before; planning each execution costs microseconds on Herald's short statements,
#: against a cliff of orders of magnitude on any statement whose generic plan goes wrong.
SESSION_SETTINGS = {"random_page_cost": "1.1", "jit": "off", "plan_cache_mode": "force_custom_plan"}


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads, schema="pg_catalog"
        )


@dataclass(slots=True)
class Database:
    """A migrated database behind a pool; ``dsn`` is kept for tools that open their own connection."""

    dsn: str
    pool: asyncpg.Pool

    async def close(self) -> None:
        await self.pool.close()


async def resolve_dsn(settings: Settings) -> str:
    """The configured DSN, or the embedded server's (started in a thread: initdb blocks)."""
    if settings.database_url:
        return settings.database_url
    return await asyncio.to_thread(start_embedded_postgres, settings.data_dir)


async def open_database(settings: Settings) -> Database:
    """Connect, apply pending migrations, and return the pool."""
    dsn = await resolve_dsn(settings)
    await apply_migrations(dsn)
    pool = await create_pool(dsn, min_size=settings.db_pool_min_size, max_size=settings.db_pool_max_size)
    return Database(dsn=dsn, pool=pool)


async def create_pool(dsn: str, *, min_size: int, max_size: int) -> asyncpg.Pool:
    """A pool whose connections are set up as Herald's own are (planner settings, JSON codecs), so that
    a tool measuring Herald's statements gets the plans the kernel gets."""
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max(max_size, min_size),
        init=_init_connection,
        server_settings=SESSION_SETTINGS,
    )
