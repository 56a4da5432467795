"""Posting the outbox: a background task in every kernel (API and ``herald worker`` alike).

Each round leases the due events of one endpoint (:func:`kernel.outhooks.outbox.claim`: SKIP LOCKED, so
kernels share the work and never post the same event at once), posts them as one signed JSON array, and
settles them in one transaction with the attempt's log entry. An event is posted twice only if its kernel
died between the endpoint's answer and that transaction (its lease then runs out and another kernel posts
it again, with the same id).

A dead or slow endpoint costs the kernel nothing but waiting sockets: every call has a total timeout,
this kernel calls at most ``outhook_endpoint_concurrency`` at once per endpoint and
``outhook_concurrency`` in all, and the API's event loop never waits for any of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg
import orjson

from kernel.delivery.retry import RetryPolicy
from kernel.outhooks import attempts, endpoints, outbox
from kernel.outhooks.outbox import Lease, Pending
from kernel.outhooks.public_network import socket_factory
from kernel.outhooks.signing import HEADER, signature_header
from kernel.secret_box import SecretBox
from kernel.settings import Settings

log = logging.getLogger(__name__)

USER_AGENT = "Herald-Webhooks/1"
#: A lease outlives its call's timeout by this much: the answer still has to be recorded.
_LEASE_MARGIN_SECONDS = 30.0
#: How often the events too old to retry are dropped.
_EXPIRY_INTERVAL_SECONDS = 60.0
#: Characters of a refusing answer's body kept in the attempt's log.
_ERROR_CHARACTERS = 300


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    error: str
    retry_after: float | None
    seconds: float

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _event_json(project_id: uuid.UUID, event: Pending) -> bytes:
    return orjson.dumps(
        {
            "id": str(event.event_id),
            "type": event.event_type,
            "created_at": event.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "project_id": str(project_id),
            "data": event.data,
        }
    )


def fitting(project_id: uuid.UUID, events: Sequence[Pending], max_bytes: int) -> tuple[list[Pending], bytes]:
    """The leading events whose JSON array fits in ``max_bytes`` (at least one), and that body."""
    parts: list[bytes] = []
    size = 2
    for event in events:
        part = _event_json(project_id, event)
        if parts and size + len(part) + 1 > max_bytes:
            break
        parts.append(part)
        size += len(part) + 1
    return list(events[: len(parts)]), b"[" + b",".join(parts) + b"]"


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


class Deliverer:
    def __init__(self, pool: asyncpg.Pool, box: SecretBox, settings: Settings) -> None:
        self._pool = pool
        self._box = box
        self._settings = settings
        self._owner = uuid.uuid4()
        self._retry = RetryPolicy(
            settings.outhook_retry_base_seconds,
            settings.outhook_retry_max_seconds,
            settings.outhook_max_age_seconds,
        )
        self._rng = random.Random()
        self._max_age = timedelta(seconds=settings.outhook_max_age_seconds)
        self._lease = timedelta(seconds=settings.outhook_timeout_seconds + _LEASE_MARGIN_SECONDS)
        self._slots = asyncio.Semaphore(settings.outhook_concurrency)
        #: Calls in flight per endpoint, in this kernel.
        self._calling: Counter[uuid.UUID] = Counter()
        self._calls: set[asyncio.Task[None]] = set()
        self._call_ended = asyncio.Event()

    async def run(self) -> None:
        """Post due events until cancelled."""
        timeout = aiohttp.ClientTimeout(total=self._settings.outhook_timeout_seconds)
        connector = aiohttp.TCPConnector(
            limit=self._settings.outhook_concurrency,
            socket_factory=socket_factory(self._settings.outhook_private_networks),
        )
        next_expiry = 0.0
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            try:
                while True:
                    try:
                        if time.monotonic() >= next_expiry:
                            await self._drop_expired()
                            next_expiry = time.monotonic() + _EXPIRY_INTERVAL_SECONDS
                        if await self._start_one(session):
                            continue
                    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                        # The database is unreachable or failing: the events wait in it, and so do we.
                        log.warning("outgoing webhooks wait for the database: %s", error)
                    await self._idle()
            finally:
                for call in list(self._calls):
                    call.cancel()
                for call in list(self._calls):
                    with contextlib.suppress(asyncio.CancelledError):
                        await call

    async def _idle(self) -> None:
        """Until the next poll, or until a call ends (its endpoint may have more due events)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._settings.outhook_poll_seconds):
                await self._call_ended.wait()
        self._call_ended.clear()

    async def _start_one(self, session: aiohttp.ClientSession) -> bool:
        """Lease one endpoint's due events and post them in a task of their own; False if none is due."""
        await self._slots.acquire()
        try:
            busy = [
                e
                for e, calls in self._calling.items()
                if calls >= self._settings.outhook_endpoint_concurrency
            ]
            lease = await outbox.claim(
                self._pool, self._owner, busy, self._settings.outhook_batch_size, self._lease
            )
        except BaseException:
            self._slots.release()
            raise
        if lease is None:
            self._slots.release()
            return False
        self._calling[lease.endpoint_id] += 1
        call = asyncio.create_task(self._call(session, lease), name=f"outhook {lease.endpoint_id}")
        self._calls.add(call)
        call.add_done_callback(lambda _: self._finished(call, lease.endpoint_id))
        return True

    def _finished(self, call: asyncio.Task[None], endpoint_id: uuid.UUID) -> None:
        self._calls.discard(call)
        self._calling[endpoint_id] -= 1
        if not self._calling[endpoint_id]:
            del self._calling[endpoint_id]
        self._slots.release()
        self._call_ended.set()

    async def _call(self, session: aiohttp.ClientSession, lease: Lease) -> None:
        try:
            await self._post_and_settle(session, lease)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The lease runs out and the events are posted again: nothing is lost.
            log.exception("outgoing webhook delivery failed", extra={"endpoint_id": str(lease.endpoint_id)})

    async def _post_and_settle(self, session: aiohttp.ClientSession, lease: Lease) -> None:
        target = await endpoints.target(self._pool, self._box, lease.project_id, lease.endpoint_id)
        if target is None:
            await outbox.release(self._pool, self._owner, lease, lease.events)
            return
        posted, body = fitting(lease.project_id, lease.events, self._settings.outhook_batch_bytes)
        if len(posted) < len(lease.events):
            await outbox.release(self._pool, self._owner, lease, lease.events[len(posted) :])
        attempted_at = datetime.now(UTC)
        answer = await self._post(session, target, body)
        attempt = max(event.attempts for event in posted) + 1
        async with self._pool.acquire() as conn, conn.transaction():
            if answer.ok:
                await outbox.remove(conn, self._owner, lease, posted)
                await endpoints.record_success(conn, lease.project_id, lease.endpoint_id)
                next_retry = None
            else:
                next_retry = await self._reschedule(conn, lease, posted, answer)
            await attempts.record(
                conn,
                lease.project_id,
                lease.endpoint_id,
                attempts.Attempt(
                    attempted_at,
                    sorted({event.event_type for event in posted}),
                    [event.event_id for event in posted],
                    answer.status,
                    answer.error,
                    answer.seconds * 1000,
                    attempt,
                    next_retry,
                ),
                self._settings.outhook_attempts_kept,
            )

    async def _post(self, session: aiohttp.ClientSession, target: endpoints.Target, body: bytes) -> _Answer:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            HEADER: signature_header(target.secrets, int(time.time()), body),
        }
        started = time.monotonic()
        try:
            async with session.post(
                target.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                error = (
                    ""
                    if response.status < 300
                    else (await response.content.read(_ERROR_CHARACTERS)).decode("utf-8", "replace")
                )
                return _Answer(response.status, error, _retry_after(response), time.monotonic() - started)
        except TimeoutError:
            error = f"no answer within {self._settings.outhook_timeout_seconds:g} s"
        except aiohttp.ClientError as failure:
            error = f"{type(failure).__name__}: {failure}"
        return _Answer(0, error, None, time.monotonic() - started)

    async def _reschedule(
        self, conn: asyncpg.Connection, lease: Lease, posted: Sequence[Pending], answer: _Answer
    ) -> datetime | None:
        """Retry each event after its backoff, or drop it (counted) once past ``outhook_max_age_seconds``;
        note the endpoint's failure (which may disable it). Returns the earliest retry, if any."""
        delays = {
            event.event_id: self._retry.delay(event.attempts + 1, answer.retry_after, self._rng)
            for event in posted
        }
        dropped, next_retry = await outbox.retry_or_drop(conn, self._owner, lease, delays, self._max_age)
        if dropped:
            await endpoints.count_dropped(conn, {(lease.project_id, lease.endpoint_id): dropped})
        fields = {"project_id": str(lease.project_id), "endpoint_id": str(lease.endpoint_id)}
        log.warning("outgoing webhook call failed: %s", answer.error or f"HTTP {answer.status}", extra=fields)
        failing_since = await endpoints.record_failure(
            conn,
            lease.project_id,
            lease.endpoint_id,
            timedelta(seconds=self._settings.outhook_disable_after_seconds),
        )
        if failing_since is not None:
            log.warning(
                "outgoing webhook endpoint disabled: every call failed since %s",
                failing_since.isoformat(),
                extra=fields,
            )
        return next_retry

    async def _drop_expired(self) -> None:
        max_age = self._max_age
        async with self._pool.acquire() as conn, conn.transaction():
            dropped = await outbox.drop_expired(conn, max_age)
            await endpoints.count_dropped(conn, dropped)
        for (project_id, endpoint_id), events in dropped.items():
            log.warning(
                "outgoing webhook events dropped after %s s undelivered: %s",
                f"{max_age.total_seconds():g}",
                events,
                extra={"project_id": str(project_id), "endpoint_id": str(endpoint_id)},
            )
