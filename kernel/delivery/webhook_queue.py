"""Verified webhook calls wait in the database (``webhook_batches``) until a kernel applies them.

The endpoint only verifies and stores a call, then answers: the provider has its 2xx at once (SparkPost
gives up on a post after 10 s and sends the batch again), and a burst of large batches is parsed and
applied at the pace of ``webhook_workers`` per kernel instead of competing with API calls for the event
loop and the database connections. Batches are claimed with ``FOR UPDATE SKIP LOCKED``, so every kernel
of a deployment helps, and deleted in the transaction that applied them, so a crash or a restart applies
a batch again; feedback is idempotent (timeline events are keyed by the provider's event id,
suppressions and opt-outs are upserts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

import asyncpg
from yarl import URL

from kernel.channels import ConfigError, WebhookRequest
from kernel.channels.configs import ChannelConfigs
from kernel.delivery.feedback import FeedbackProcessor
from kernel.errors import HeraldError
from kernel.plugins import ChannelManager, UnknownChannel

log = logging.getLogger(__name__)

#: A batch whose application failed this many times (a database error, a plugin's bug) is dropped.
MAX_ATTEMPTS = 8
#: Seconds before a failed batch is tried again, doubled at each attempt.
_RETRY_BASE_SECONDS = 5.0
#: Headers that authenticated the call: checked already, never stored.
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


def _json_text(value: str) -> str:
    """``value`` as jsonb stores it: a header that was not UTF-8 (aiohttp keeps such bytes as lone
    surrogates, which no JSON encoder takes) gets replacement characters."""
    return value.encode("utf-8", "replace").decode()


_BATCH = "SELECT project_id, batch_id, channel, url, headers, body, attempts FROM webhook_batches"
_CLAIM = f"{_BATCH} WHERE not_before <= now() ORDER BY not_before, batch_id LIMIT 1 FOR UPDATE SKIP LOCKED"
# Every batch of a project, due or not, but those tried already; one another kernel holds is waited for
# (then it is gone, applied).
_CLAIM_OF_PROJECT = f"""{_BATCH} WHERE project_id = $1 AND NOT batch_id = any($2::bigint[])
                        ORDER BY batch_id LIMIT 1 FOR UPDATE"""

_DELETE = "DELETE FROM webhook_batches WHERE project_id = $1 AND batch_id = $2"


class WebhookQueue:
    def __init__(
        self,
        pool: asyncpg.Pool,
        channels: ChannelManager,
        configs: ChannelConfigs,
        feedback: FeedbackProcessor,
        *,
        workers: int,
        poll_seconds: float,
    ) -> None:
        self._pool = pool
        self._channels = channels
        self._configs = configs
        self._feedback = feedback
        self._workers = workers
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def put(self, project_id: uuid.UUID, channel: str, request: WebhookRequest) -> None:
        """Store a verified call for the workers (of any kernel) to apply."""
        headers = {
            str(k): _json_text(v) for k, v in request.headers.items() if k.lower() not in _CREDENTIAL_HEADERS
        }
        await self._pool.execute(
            """INSERT INTO webhook_batches (project_id, channel, url, headers, body)
               VALUES ($1, $2, $3, $4, $5)""",
            project_id,
            channel,
            request.url,
            headers,
            request.body,
        )
        self._wake.set()

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._work(), name=f"webhook-worker-{n}") for n in range(self._workers)
        ]

    async def stop(self) -> None:
        """Stop the workers; a batch being applied is rolled back and stays for the next kernel."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def drain(self, project_id: uuid.UUID) -> None:
        """Wait until no batch of ``project_id`` is waiting or being applied (tests, tools)."""
        query = "SELECT EXISTS (SELECT 1 FROM webhook_batches WHERE project_id = $1)"
        while True:
            if not await self._pool.fetchval(query, project_id):
                return
            await asyncio.sleep(0.02)

    async def apply_pending(self, project_id: uuid.UUID) -> None:
        """Apply, now, every batch of ``project_id`` received so far.

        An erasure calls it first: a batch waiting here holds addresses in its raw body, and applied
        before the erasure its events are erased with the person instead of outliving them. A batch that
        fails is postponed as usual (and tried once here).
        """
        tried: list[int] = []
        async with self._pool.acquire() as conn:
            while (batch_id := await self._apply_one(conn, _CLAIM_OF_PROJECT, project_id, tried)) is not None:
                tried.append(batch_id)

    async def _work(self) -> None:
        while True:
            self._wake.clear()
            try:
                if await self._apply_next():
                    continue
            except Exception:
                # The database is unavailable, or a bug: keep the worker, try again after the pause.
                log.exception("webhook worker failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)

    async def _apply_next(self) -> bool:
        """Apply the oldest due batch no other worker holds; False when there is none."""
        async with self._pool.acquire() as conn:
            return await self._apply_one(conn, _CLAIM) is not None

    async def _apply_one(self, conn: asyncpg.Connection, claim: str, *args: object) -> int | None:
        """Claim a batch with ``claim``, apply it and delete it (or postpone it if that fails); returns
        its id, None when the claim found none."""
        batch = None
        try:
            async with conn.transaction():
                batch = await conn.fetchrow(claim, *args)
                if batch is None:
                    return None
                await self._apply(conn, batch)
                await conn.execute(_DELETE, batch["project_id"], batch["batch_id"])
        except Exception:
            if batch is None:
                raise
            log.exception("webhook batch %s of %s failed", batch["batch_id"], batch["channel"])
            await self._postpone(conn, batch)
        return batch["batch_id"]

    async def _apply(self, conn: asyncpg.Connection, batch: asyncpg.Record) -> None:
        project_id, channel = batch["project_id"], batch["channel"]
        try:
            spec = self._channels.channel(channel)
            stored = await self._configs.get(project_id, channel)
        except (UnknownChannel, HeraldError) as error:
            log.warning("webhook batch %s of %s dropped: %s", batch["batch_id"], channel, error)
            return
        url = batch["url"]
        request = WebhookRequest(
            headers=batch["headers"], body=batch["body"], query=dict(URL(url).query), url=url
        )
        try:
            # In a thread: a large batch is milliseconds of pure-Python parsing, which the event loop
            # (API calls) need not wait for in one piece.
            events = await asyncio.to_thread(self._channels.parse_feedback, channel, request, stored.config)
        except ConfigError as error:
            log.warning("webhook batch %s of %s dropped: %s", batch["batch_id"], channel, error)
            return
        except Exception:
            # A plugin's bug fails the same way every time: trying the batch again would not help.
            log.exception("webhook batch %s of %s dropped: its plugin failed", batch["batch_id"], channel)
            return
        summary = await self._feedback.apply(conn, project_id, spec, events)
        log.debug(
            "webhook batch %s of %s: %s events applied, %s on timelines",
            batch["batch_id"],
            channel,
            summary.events,
            summary.recorded_on_profiles,
        )

    @staticmethod
    async def _postpone(conn: asyncpg.Connection, batch: asyncpg.Record) -> None:
        attempts = batch["attempts"] + 1
        if attempts >= MAX_ATTEMPTS:
            log.error(
                "webhook batch %s of %s dropped after %s attempts",
                batch["batch_id"],
                batch["channel"],
                attempts,
            )
            await conn.execute(_DELETE, batch["project_id"], batch["batch_id"])
            return
        await conn.execute(
            """UPDATE webhook_batches SET attempts = $3, not_before = now() + make_interval(secs => $4)
               WHERE project_id = $1 AND batch_id = $2""",
            batch["project_id"],
            batch["batch_id"],
            attempts,
            _RETRY_BASE_SECONDS * 2 ** (attempts - 1),
        )
