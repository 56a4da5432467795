"""A sender worker: fills outboxes, claims batches, sends them through the channel plugins, records.

Per claimed batch (see :mod:`kernel.delivery.claims`): messages too old are expired, those of a channel
paused in the project are held back, the email domains' throttle admits what may go now (the rest is
deferred in the database to the time the throttle gives), sender_ext cuts provider batches by channel,
each batch is personalised and handed to its channel's sender (a bounded number in flight per channel),
and the outcome of the whole claimed batch is recorded at once (:mod:`kernel.delivery.results`); then a
channel whose answers in the send suggest a wrong configuration is paused
(:mod:`kernel.delivery.suspicion`). Several claimed batches are in flight at a time
(``worker_concurrency``): those are what a crash can send twice.

Transactional messages due again (a temporary failure, or a sender that died holding them) are claimed
beside the sends' batches, across projects, and sent with the content kept from their first attempt
(:mod:`kernel.delivery.payloads`), under the same retry policy and maximum age.

A worker runs three loops: heartbeat (throttle share, take-over of dead workers, gauges), outbox
filling, and sending. Time for pacing and throttling comes from ``clock`` (epoch seconds) so that tests
can drive it; database times (leases, retries) are the database's.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
import uuid
from collections import Counter as Tally
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from operator import attrgetter, itemgetter
from typing import Any

import asyncpg
from prometheus_client import Counter

from kernel.channels import (
    EMPTY,
    AddressKindSpec,
    ChannelSpec,
    FailureReason,
    MessageContent,
    OutboundMessage,
    Outcome,
    SendResult,
)
from kernel.channels.pauses import pause, paused_channels
from kernel.delivery import metrics
from kernel.delivery.channel_rates import hold_back, rate_of
from kernel.delivery.claims import ClaimQueries, Recipients, claim_transactional
from kernel.delivery.outbox import FillJob, OutboxFiller
from kernel.delivery.pacing import paced_claim
from kernel.delivery.payloads import outbound
from kernel.delivery.personalise import Personalise, Personaliser, missing
from kernel.delivery.registry import WorkerRegistry
from kernel.delivery.results import BatchOutcome, failure_reason, record, record_transactional
from kernel.delivery.retry import RetryPolicy
from kernel.delivery.send_definition import parse_send, read_definition
from kernel.delivery.send_state import reconcile
from kernel.delivery.senders import SenderPool, unsent
from kernel.delivery.suspicion import ConfigSuspicion
from kernel.delivery.templates import TemplateError
from kernel.delivery.throttling import DomainThrottle, address_form
from kernel.errors import HeraldError
from kernel.plugins import ChannelManager, UnknownChannel
from kernel.settings import Settings
from sender_ext import email_domain, group_batches

log = logging.getLogger(__name__)

#: How often an idle worker looks for work (new sends, due retries, a wave's next slot).
POLL_SECONDS = 0.2
#: Claimed rows: message_id, seq, channel, address, profile_id, attempts, age (see kernel.delivery.claims),
#: and for transactional messages, project_id and payload.
_ID, _SEQ, _CHANNEL, _ADDRESS, _PROFILE, _ATTEMPTS, _AGE, _PROJECT, _PAYLOAD = range(9)
_SPECIAL_VARIABLES = frozenset({"custom_id", "profile_id"})
_REJECTED = FailureReason.REJECTED.value


class BatchFailed(RuntimeError):
    """A batch's outcome could not be recorded: the worker restarts and takes its messages back."""


@dataclass(eq=False)
class SendRuntime:
    """What a worker keeps about one running send: its channels, personalisers, claim queries, cursor."""

    project_id: uuid.UUID
    send_id: uuid.UUID
    specs: list[ChannelSpec]
    #: The address kind each channel reaches.
    kinds: list[AddressKindSpec]
    personalisers: list[Personaliser]
    queries: ClaimQueries
    paced: bool
    index: dict[str, int] = field(init=False)
    #: Per channel: how sender_ext reads its addresses (the domain throttle takes the mailbox ones).
    forms: list[int] = field(init=False)
    #: The channels (positions) with a default rate, which the kernel enforces (see channel_rates).
    rated: list[int] = field(init=False)
    max_sizes: list[int] = field(init=False)
    #: Per channel: the personaliser bound to the profile rows (profile_id, custom_id, v0, v1, ...).
    personalise: list[Personalise] = field(init=False)
    #: The values of a message whose profile is gone (merged away or erased since the outbox was filled).
    absent: tuple[Any, ...] = field(init=False)
    #: The templates read custom_id or profile_id, which the rows do not carry as the templates see them.
    special: bool = field(init=False)
    #: Last seq claimed by this worker (first attempts are claimed after it).
    cursor: int = 0
    #: Monotonic time after which the cursor may go back to the start (for messages skipped earlier).
    rescan_after: float = 0.0
    #: Clock time before which the wave has nothing to release.
    not_before: float = 0.0
    #: Monotonic time since which claims found nothing, and before which the counts are not checked.
    idle_since: float | None = None
    check_after: float = 0.0
    #: The send's channels paused in its project (kernel.channels.pauses): nothing goes out on them.
    paused: frozenset[str] = frozenset()

    @property
    def held(self) -> bool:
        """Every channel of the send is paused: there is nothing to claim."""
        return len(self.paused) == len(self.specs)

    def __post_init__(self) -> None:
        self.index = {spec.name: position for position, spec in enumerate(self.specs)}
        self.forms = [address_form(kind) for kind in self.kinds]
        self.rated = [position for position, spec in enumerate(self.specs) if rate_of(spec) is not None]
        self.max_sizes = [spec.capabilities.max_batch_size for spec in self.specs]
        wants = frozenset().union(*(p.variables for p in self.personalisers)) & _SPECIAL_VARIABLES
        self.special = bool(wants)
        names = [name if name in wants else None for name in ("profile_id", "custom_id")]
        layout = [*names, *self.queries.variables]
        self.personalise = [personaliser.bind(layout) for personaliser in self.personalisers]
        self.absent = missing(len(layout))

    def values(self, rows: list[asyncpg.Record], profiles: Mapping[uuid.UUID, asyncpg.Record]) -> list[Any]:
        """Each message's template variables, as the personalisers are bound to read them: its profile row
        as it is, unless the templates read custom_id or profile_id (then as text)."""
        profile_ids = map(itemgetter(_PROFILE), rows)
        if not self.special:
            absent = self.absent
            return [profiles.get(profile_id, absent) for profile_id in profile_ids]
        return [self._special(profiles.get(profile_id)) for profile_id in profile_ids]

    def _special(self, profile: asyncpg.Record | None) -> Sequence[Any]:
        if profile is None:
            return self.absent
        values = list(profile)
        values[0] = str(values[0])
        values[1] = values[1] or ""
        return values


def send_runtime(row: Mapping[str, Any], channels: ChannelManager) -> SendRuntime | None:
    """A running send as a worker keeps it, from its ``sends`` row (project_id, send_id, definition,
    paced); None, logged, if its definition no longer reads (a channel plugin was removed)."""
    try:
        definition = parse_send(read_definition(row["definition"]), channels, "")
    except (HeraldError, UnknownChannel):
        log.exception("send %s cannot be read (was a channel plugin removed?)", row["send_id"])
        return None
    specs = list(definition.channels)
    personalisers = [
        Personaliser(definition.templates[spec.name], placeholder=spec.capabilities.placeholder)
        for spec in specs
    ]
    attributes = sorted(frozenset().union(*(p.variables for p in personalisers)) - _SPECIAL_VARIABLES)
    detail_kinds = {kind.name for kind in definition.kinds if kind.carries_details}
    return SendRuntime(
        row["project_id"],
        row["send_id"],
        specs,
        list(definition.kinds),
        personalisers,
        ClaimQueries(attributes, sorted(detail_kinds)),
        row["paced"],
    )


class SenderWorker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        channels: ChannelManager,
        senders: SenderPool,
        settings: Settings,
        worker_id: str,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._pool = pool
        self._channels = channels
        self._senders = senders
        self._settings = settings
        self.worker_id = worker_id
        self._clock = clock
        self._rng = rng or random.Random()
        self._lease = timedelta(seconds=settings.lease_seconds)
        self._transactional_lease = timedelta(seconds=settings.transactional_lease_seconds)
        #: Monotonic time before which transactional messages are not looked for (none were due).
        self._transactional_after = 0.0
        self._registry = WorkerRegistry(pool, worker_id, self._lease)
        self._filler = OutboxFiller(pool, worker_id, settings.outbox_chunk_size, self._lease)
        self._throttle = DomainThrottle(settings)
        self._retry = RetryPolicy(
            settings.retry_base_seconds, settings.retry_max_seconds, settings.message_max_age_seconds
        )
        self._domains = metrics.DomainLabels({*settings.domain_limits, *settings.domain_warmup})
        self._suspicion = ConfigSuspicion(
            settings.config_suspect_pause_failures, settings.config_suspect_pause_ratio
        )
        self._channel_slots: dict[str, asyncio.Semaphore] = {}
        self._sends: dict[tuple[uuid.UUID, uuid.UUID], SendRuntime] = {}
        self._broken: set[tuple[uuid.UUID, uuid.UUID]] = set()
        self._inflight: set[asyncio.Task[None]] = set()
        self._failed = asyncio.Event()

    @property
    def throttle(self) -> DomainThrottle:
        """This worker's per-domain throttle (its limits, share and slow-downs)."""
        return self._throttle

    async def run(self) -> None:
        """Work until cancelled; then let the batches in flight finish and leave the registry."""
        self._failed.clear()
        try:
            await self._heartbeat()
            if taken := await self._registry.take_back():
                log.warning(
                    "sender worker %s: %s messages of an earlier run are due again", self.worker_id, taken
                )
            async with asyncio.TaskGroup() as group:
                group.create_task(self._forever(self._heartbeat, self._settings.heartbeat_seconds))
                group.create_task(self._fill_loop())
                group.create_task(self._send_loop())
                group.create_task(self._stop_when_failed())
        finally:
            await asyncio.shield(self._drain())

    async def _stop_when_failed(self) -> None:
        await self._failed.wait()
        raise BatchFailed(f"sender worker {self.worker_id}: a batch could not be finished")

    async def _drain(self) -> None:
        """Let the batches in flight finish (for the shutdown grace); leave the registry only if they all
        did: the messages of a batch abandoned here are taken over once this worker's heartbeat is stale."""
        if self._inflight:
            _, abandoned = await asyncio.wait(self._inflight, timeout=self._settings.shutdown_grace_seconds)
            for task in abandoned:
                task.cancel()
            if abandoned:
                return
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            await self._registry.leave()

    # --- heartbeat -------------------------------------------------------------------------------

    @staticmethod
    async def _forever(step: Callable[[], Any], every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await step()
            except (OSError, asyncpg.PostgresError):
                log.exception("sender worker: heartbeat failed; trying again")

    async def _heartbeat(self) -> None:
        live = await self._registry.beat()
        self._throttle.refresh(self._clock(), live)
        dead, taken = await self._registry.bury_dead()
        if dead:
            log.warning("sender workers %s are dead: took over %s of their messages", dead, taken)
            for runtime in self._sends.values():
                runtime.rescan_after = 0.0
        metrics.LIVE_WORKERS.set(live)
        metrics.QUEUE_DEPTH.set(await self._registry.pending_messages())

    # --- outbox filling --------------------------------------------------------------------------

    async def _fill_loop(self) -> None:
        while True:
            job = await self._filler.take()
            if job is None:
                await asyncio.sleep(POLL_SECONDS)
                continue
            await self._fill(job)

    async def _fill(self, job: FillJob) -> None:
        request = read_definition(job.definition)
        try:
            definition = parse_send(request, self._channels, "")
        except (HeraldError, UnknownChannel):
            log.exception("send %s cannot be read (was a channel plugin removed?)", job.send_id)
            await asyncio.sleep(POLL_SECONDS)
            return
        while not await self._filler.fill_chunk(job, definition):
            pass

    # --- sending ---------------------------------------------------------------------------------

    async def _send_loop(self) -> None:
        slots = asyncio.Semaphore(self._settings.worker_concurrency)
        refreshed = 0.0
        while True:
            if time.monotonic() - refreshed > POLL_SECONDS:
                await self._refresh_sends()
                refreshed = time.monotonic()
            busy = False
            for runtime in list(self._sends.values()):
                if runtime.not_before > self._clock() or runtime.held:
                    continue
                if await self._start(slots, partial(self._claim, runtime), partial(self._process, runtime)):
                    runtime.idle_since = None
                    busy = True
                else:
                    await self._when_idle(runtime)
            if time.monotonic() >= self._transactional_after:
                if await self._start(slots, self._claim_transactional, self._resend_transactional):
                    busy = True
                else:
                    self._transactional_after = time.monotonic() + POLL_SECONDS
            if not busy:
                await asyncio.sleep(POLL_SECONDS)

    async def _start(
        self,
        slots: asyncio.Semaphore,
        claim: Callable[[], Awaitable[list[asyncpg.Record] | None]],
        process: Callable[[list[asyncpg.Record]], Awaitable[None]],
    ) -> bool:
        """Claim a batch when a slot is free and process it in a task of its own; False if none was due."""
        await slots.acquire()
        try:
            batch = await claim()
        except BaseException:
            slots.release()
            raise
        if not batch:
            slots.release()
            return False
        task = asyncio.create_task(process(batch))
        self._inflight.add(task)
        task.add_done_callback(lambda done: self._finished(done, slots))
        return True

    async def _when_idle(self, runtime: SendRuntime) -> None:
        """A send with nothing to claim for a lease period: check its counts against its rows (messages
        of erased people leave the outbox), so that it can complete."""
        now = time.monotonic()
        if runtime.idle_since is None:
            runtime.idle_since = now
            return
        lease = self._lease.total_seconds()
        if now - runtime.idle_since < lease or now < runtime.check_after:
            return
        runtime.check_after = now + lease
        async with self._pool.acquire() as conn:
            if gone := await reconcile(conn, runtime.project_id, runtime.send_id):
                log.info("send %s: %s messages left the outbox (erased)", runtime.send_id, gone)

    def _finished(self, task: asyncio.Task[None], slots: asyncio.Semaphore) -> None:
        slots.release()
        self._inflight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Its messages stay leased by this worker id: stop, so that the supervisor starts this worker
            # again and it takes them back (see run).
            log.error(
                "sender worker %s: a batch failed; restarting", self.worker_id, exc_info=task.exception()
            )
            self._failed.set()

    async def _refresh_sends(self) -> None:
        rows = await self._pool.fetch(
            """SELECT project_id, send_id, definition, pace_count IS NOT NULL AS paced FROM sends
               WHERE state = 'running'"""
        )
        running = {(row["project_id"], row["send_id"]): row for row in rows}
        for key in set(self._sends) - set(running):
            del self._sends[key]
            self._suspicion.drop_send(*key)
        for key, row in running.items():
            if key not in self._sends and key not in self._broken:
                runtime = send_runtime(row, self._channels)
                if runtime is None:
                    self._broken.add(key)
                else:
                    self._sends[key] = runtime
        paused = await paused_channels(self._pool)
        for runtime in self._sends.values():
            now = frozenset(spec.name for spec in runtime.specs if (runtime.project_id, spec.name) in paused)
            for channel in now ^ runtime.paused:  # paused or lifted since: judge on fresh answers
                self._suspicion.forget(runtime.project_id, channel)
            runtime.paused = now
        projects = Tally(channel for _, channel in paused)
        for spec in self._channels.channels():
            metrics.PAUSED_CHANNELS.labels(spec.name).set(projects[spec.name])

    async def _claim(self, runtime: SendRuntime) -> list[asyncpg.Record] | None:
        """The next batch's rows; their profiles are read by the batch's own task (:meth:`_process`), so
        that the claims, which the send loop makes one after the other, are all it waits for."""
        size = self._settings.worker_batch_size
        async with self._pool.acquire() as conn:
            if runtime.paced:
                claimed = await paced_claim(
                    conn,
                    runtime.project_id,
                    runtime.send_id,
                    self._clock(),
                    size,
                    lambda limit: self._claim_some(conn, runtime, limit),
                )
                runtime.not_before = claimed.next_at
                rows = claimed.rows
            else:
                rows = await self._claim_some(conn, runtime, size)
            return rows or None

    async def _claim_some(
        self, conn: asyncpg.Connection, runtime: SendRuntime, limit: int
    ) -> list[asyncpg.Record]:
        """Due messages first, then first attempts after the cursor."""
        queries, project_id, send_id = runtime.queries, runtime.project_id, runtime.send_id
        rows = await queries.due(conn, project_id, send_id, limit, self.worker_id, self._lease)
        if len(rows) < limit:
            first = await queries.first_attempts(
                conn, project_id, send_id, runtime.cursor, limit - len(rows), self.worker_id, self._lease
            )
            if first:
                runtime.cursor = max(runtime.cursor, max(row[_SEQ] for row in first))
            if len(first) < limit - len(rows) and time.monotonic() > runtime.rescan_after:
                # The end of what is planned: look from the start next time, at most once per lease, for
                # messages skipped while another claim held them (and then let go).
                runtime.cursor = 0
                runtime.rescan_after = time.monotonic() + self._lease.total_seconds()
            rows = [*rows, *first]
        return rows

    async def _process(self, runtime: SendRuntime, rows: list[asyncpg.Record]) -> None:
        profile_ids = list({row[_PROFILE] for row in rows if row[_PROFILE] is not None})
        async with self._pool.acquire() as conn:
            recipients = await runtime.queries.recipients(conn, runtime.project_id, profile_ids)
        outcome = BatchOutcome()
        now = self._clock()
        live = self._expire_old(rows, outcome)
        if runtime.paused:
            for position, row in enumerate(rows):
                if live[position] and row[_CHANNEL] in runtime.paused:
                    # Claimed before the pause was seen, or a channel paused beside others of the send:
                    # held back, looked at again a lease period later.
                    hold = self._lease.total_seconds()
                    outcome.add(row[_ID], "planned", attempted=False, detail="channel paused", delay=hold)
                    live[position] = 0
        if len(runtime.specs) == 1:  # a send's rows are of its channels
            channels = [0] * len(rows)
        else:
            channels = [runtime.index[row[_CHANNEL]] for row in rows]
        forms = bytes(runtime.forms[channel] for channel in channels)
        admission = self._throttle.throttle.take_batch(forms, [row[_ADDRESS] for row in rows], now, live)
        if admission.go != live:  # some live rows were deferred
            for position, row in enumerate(rows):
                if live[position] and not admission.go[position]:
                    delay = admission.not_before[position] - now
                    outcome.add(row[_ID], "planned", attempted=False, detail="domain throttle", delay=delay)
                    metrics.DEFERRED.labels(self._domains(email_domain(row[_ADDRESS]))).inc()
        if runtime.rated:
            await self._hold_to_channel_rates(runtime, rows, channels, admission.go, outcome, now)
        batches = group_batches(channels, runtime.max_sizes, admission.go)
        verdicts = await asyncio.gather(
            *(
                self._send(
                    runtime,
                    channel,
                    rows if len(members) == len(rows) else [rows[i] for i in members],
                    recipients,
                    outcome,
                )
                for channel, members in batches.batches()
            )
        )
        # A failure here leaves the batch leased by this worker: the next run of this worker id takes it
        # back (take_back), and a dead worker's is taken over; either way it may be sent again.
        async with self._pool.acquire() as conn:
            await record(
                conn, runtime.project_id, runtime.send_id, self.worker_id, outcome, paced=runtime.paced
            )
        for verdict in verdicts:
            if verdict is not None:
                await self._pause(runtime, *verdict)

    def _expire_old(self, rows: list[asyncpg.Record], outcome: BatchOutcome) -> bytearray:
        """Messages tried before and now past the maximum age expire; returns which rows are live (1)."""
        live = bytearray(b"\x01") * len(rows)
        max_age = self._retry.max_age_seconds
        for position, row in enumerate(rows):
            if row[_ATTEMPTS] and row[_AGE] > max_age:
                outcome.add(row[_ID], "expired", attempted=False, detail="older than the maximum age")
                metrics.EXPIRED.labels(row[_CHANNEL]).inc()
                live[position] = 0
        return live

    # --- transactional messages ------------------------------------------------------------------

    async def _claim_transactional(self) -> list[asyncpg.Record]:
        async with self._pool.acquire() as conn:
            return await claim_transactional(
                conn, self._settings.worker_batch_size, self.worker_id, self._transactional_lease
            )

    async def _resend_transactional(self, rows: list[asyncpg.Record]) -> None:
        """Send claimed transactional messages again, project by project (each records its outcome)."""
        by_project: dict[uuid.UUID, list[asyncpg.Record]] = defaultdict(list)
        for row in rows:
            by_project[row[_PROJECT]].append(row)
        await asyncio.gather(*(self._resend_project(project, batch) for project, batch in by_project.items()))

    async def _resend_project(self, project_id: uuid.UUID, rows: list[asyncpg.Record]) -> None:
        outcome = BatchOutcome()
        by_channel: dict[str, list[asyncpg.Record]] = defaultdict(list)
        for row, live in zip(rows, self._expire_old(rows, outcome), strict=True):
            if not live:
                continue
            if row[_PAYLOAD] is None:  # planned by a kernel older than these retries, during an upgrade
                outcome.add(row[_ID], "expired", attempted=False, detail="its content was not kept")
                continue
            by_channel[row[_CHANNEL]].append(row)
        batches = []
        for name, channel_rows in by_channel.items():
            try:
                spec = self._channels.channel(name)
            except UnknownChannel:
                for row in channel_rows:
                    detail = f"channel {name} is not installed any more"
                    outcome.add(row[_ID], "failed", attempted=False, reason=_REJECTED, detail=detail)
                continue
            size = spec.capabilities.max_batch_size
            batches += [
                (spec, channel_rows[start : start + size]) for start in range(0, len(channel_rows), size)
            ]
        await asyncio.gather(*(self._resend(project_id, spec, batch, outcome) for spec, batch in batches))
        async with self._pool.acquire() as conn:
            await record_transactional(conn, project_id, self.worker_id, outcome)

    async def _resend(
        self, project_id: uuid.UUID, spec: ChannelSpec, rows: list[asyncpg.Record], outcome: BatchOutcome
    ) -> None:
        """Deliver one provider batch of transactional messages (all of ``spec``), as first rendered."""
        if rate_of(spec) is not None:
            ids, now = [row[_ID] for row in rows], self._clock()
            granted = await hold_back(self._pool, project_id, spec, ids, outcome, now, status="retry")
            rows = rows[:granted]
            if not rows:
                return
        messages = [outbound(row[_ID], row[_ADDRESS], row[_PAYLOAD]) for row in rows]
        results = await self._deliver(project_id, spec, messages)
        self._account(spec, rows, messages, results, outcome)

    async def _hold_to_channel_rates(
        self,
        runtime: SendRuntime,
        rows: list[asyncpg.Record],
        channels: list[int],
        go: bytearray,
        outcome: BatchOutcome,
        now: float,
    ) -> None:
        """Let through at most the project's budget of each rated channel (``go`` updated); the other rows
        are planned again for when the budget will have refilled for them, one interval apart."""
        for channel in runtime.rated:
            members = [position for position, own in enumerate(channels) if own == channel and go[position]]
            if not members:
                continue
            ids = [rows[position][_ID] for position in members]
            project_id, spec = runtime.project_id, runtime.specs[channel]
            granted = await hold_back(self._pool, project_id, spec, ids, outcome, now, status="planned")
            for position in members[granted:]:
                go[position] = 0

    # --- delivery --------------------------------------------------------------------------------

    async def _send(
        self,
        runtime: SendRuntime,
        channel: int,
        rows: list[asyncpg.Record],
        recipients: Recipients,
        outcome: BatchOutcome,
    ) -> tuple[ChannelSpec, str] | None:
        """Personalise and deliver one provider batch (``rows`` all of channel ``channel``); returns the
        channel and the reason to pause it when its answers in this send now suggest a wrong
        configuration (paused once the batch's outcome is recorded)."""
        spec = runtime.specs[channel]
        personalise = runtime.personalise[channel]
        values = runtime.values(rows, recipients.profiles)
        try:
            personalised = list(map(personalise, values))
        except TemplateError:  # some recipients cannot be rendered: sort them out, one by one
            rows, personalised = self._renderable(spec, rows, values, personalise, outcome)
            if not rows:
                return None
        details = recipients.details
        messages = [
            OutboundMessage(
                str(row[_ID]),
                row[_ADDRESS],
                content,
                (details.get((row[_PROFILE], row[_ADDRESS])) or EMPTY) if details else EMPTY,
                substitution,
            )
            for row, (content, substitution) in zip(rows, personalised, strict=True)
        ]
        results = await self._deliver(runtime.project_id, spec, messages)
        self._account(spec, rows, messages, results, outcome)
        if spec.name in runtime.paused:
            return None
        reason = self._suspicion.observe(runtime.project_id, runtime.send_id, spec.name, results)
        return None if reason is None else (spec, reason)

    async def _pause(self, runtime: SendRuntime, spec: ChannelSpec, reason: str) -> None:
        """Pause the channel for the send's project: recorded, so that every worker honours it."""
        async with self._pool.acquire() as conn:
            made = await pause(conn, runtime.project_id, spec.name, reason, runtime.send_id)
        if made:
            log.warning("channel %s paused in project %s: %s", spec.name, runtime.project_id, reason)
        runtime.paused |= {spec.name}
        self._suspicion.forget(runtime.project_id, spec.name)

    @staticmethod
    def _renderable(
        spec: ChannelSpec,
        rows: list[asyncpg.Record],
        values: list[Any],
        personalise: Personalise,
        outcome: BatchOutcome,
    ) -> tuple[list[asyncpg.Record], list[tuple[MessageContent, dict[str, str] | None]]]:
        """The rows whose templates render, with their contents; the others fail (``template``)."""
        kept, personalised = [], []
        for row, recipient in zip(rows, values, strict=True):
            try:
                personalised.append(personalise(recipient))
            except TemplateError as error:
                outcome.add(row[_ID], "failed", attempted=False, reason="template", detail=str(error))
                metrics.FAILED.labels(spec.name, "template").inc()
                continue
            kept.append(row)
        return kept, personalised

    async def _deliver(
        self, project_id: uuid.UUID, spec: ChannelSpec, messages: list[OutboundMessage]
    ) -> list[SendResult]:
        slots = self._channel_slots.get(spec.name)
        if slots is None:
            limit = self._settings.channel_concurrency.get(
                spec.name, self._settings.default_channel_concurrency
            )
            slots = self._channel_slots[spec.name] = asyncio.Semaphore(limit)
        async with slots:
            started = time.perf_counter()
            try:
                sender = await self._senders.get(project_id, spec.name)
                results = await sender.send_batch(messages)
            except HeraldError as error:
                return unsent(messages, f"channel unavailable: {error}")
            except Exception as error:
                log.exception("sender worker: %s failed on a batch; retrying it later", spec.name)
                return unsent(messages, f"sender error: {error!r}")
            metrics.PROVIDER_LATENCY.labels(spec.name).observe(time.perf_counter() - started)
        return results

    def _account(
        self,
        spec: ChannelSpec,
        rows: list[asyncpg.Record],
        messages: list[OutboundMessage],
        results: list[SendResult],
        outcome: BatchOutcome,
    ) -> None:
        """Turn the provider's answers into the batch outcome, metrics and throttle feedback."""
        if len(results) != len(rows):
            raise ValueError(f"{spec.name} answered {len(results)} results for {len(rows)} messages")
        email = self._channels.address_kind(spec).has_domain
        outcomes = list(map(attrgetter("outcome"), results))
        if outcomes.count(Outcome.ACCEPTED) == len(outcomes):  # the usual: no row needs a look of its own
            outcome.sent(list(map(itemgetter(_ID), rows)), list(map(attrgetter("provider_id"), results)))
            self._count(metrics.SENT, spec.name, email, list(map(itemgetter(_ADDRESS), rows)))
            return
        sent_ids, provider_ids, sent_addresses, retry_addresses = [], [], [], []
        now = self._clock()
        for row, message, result in zip(rows, messages, results, strict=True):
            if result.outcome is Outcome.ACCEPTED:
                sent_ids.append(row[_ID])
                provider_ids.append(result.provider_id)
                sent_addresses.append(row[_ADDRESS])
                continue
            status = outcome.settle(
                spec,
                row[_ID],
                message.address,
                result,
                attempts=row[_ATTEMPTS],
                age=row[_AGE],
                policy=self._retry,
                rng=self._rng,
            )
            if status == "failed":
                metrics.FAILED.labels(spec.name, failure_reason(result)).inc()
                continue
            retry_addresses.append(row[_ADDRESS])
            if email:
                self._throttle.throttle.slow_down(email_domain(row[_ADDRESS]), now)
            if status == "expired":
                metrics.EXPIRED.labels(spec.name).inc()
        outcome.sent(sent_ids, provider_ids)
        self._count(metrics.SENT, spec.name, email, sent_addresses)
        self._count(metrics.RETRIED, spec.name, email, retry_addresses)

    def _count(self, counter: Counter, channel: str, email: bool, addresses: list[str]) -> None:
        """One per address, by (channel, domain label); off email the domain is empty."""
        domains = map(email_domain, addresses) if email else itertools.repeat("", len(addresses))
        metrics.count_by_domain(counter, channel, domains, self._domains)
