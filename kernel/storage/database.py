"""The asyncpg pool every kernel component shares, with JSON codecs set once per connection."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import asyncpg
import orjson

from kernel.settings import Settings
from kernel.storage.embedded import EmbeddedPostgres, start_embedded_postgres, supervise
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
#: For a transaction whose statements are all keyed by ids (and unnested arrays of them): a plan made
#: without the parameters is the one they get with them, so it is made once per connection rather than at
#: every execution, which costs these short statements more than their work.
GENERIC_PLANS = "SET LOCAL plan_cache_mode = force_generic_plan"


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
    #: The embedded server this process holds and supervises, when no database_url is configured.
    embedded: EmbeddedPostgres | None = None
    _supervisor: asyncio.Task[None] | None = None

    async def close(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        await self.pool.close()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.release)


async def open_database(settings: Settings) -> Database:
    """Connect (to the embedded server, started in a thread since initdb blocks, when no database_url is
    configured), apply pending migrations, and return the pool."""
    if settings.database_url:
        return await _connect(settings, settings.database_url)
    embedded = await asyncio.to_thread(start_embedded_postgres, settings.data_dir)
    try:
        database = await _connect(settings, embedded.dsn)
    except BaseException:
        await asyncio.to_thread(embedded.release)
        raise
    database.embedded = embedded
    database._supervisor = asyncio.create_task(supervise(embedded), name="embedded-postgres")
    return database


async def _connect(settings: Settings, dsn: str) -> Database:
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
