"""Which failures mean "the database cannot be reached right now", as opposed to a bug or bad input.

A call that fails this way may well succeed when retried a little later (PostgreSQL restarting, failing
over, or refusing connections): the API answers it UNAVAILABLE, the status clients' retry policies retry.
"""

from __future__ import annotations

import asyncpg

#: The connection is refused, reset or timed out (OSError covers ConnectionRefusedError, TimeoutError...);
#: it was closed under a query (ConnectionDoesNotExistError) or the pool is closed (both InterfaceError);
#: it was lost (class 08); the server is starting up or shutting down (57P01-57P03); or it has no
#: connection slot left (53300).
DATABASE_UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)
