"""SendTransactional: one message, now, to a profile or a raw address, on one or several channels.

It proves the whole delivery path (template → channel plugin → provider → outcome) without the bulk
machinery. Each message gets a row in ``messages`` *before* it is sent, with its id (the provider's
idempotency key on any later attempt) and the rendered content (``payload``), leased for
``transactional_lease_seconds``. A temporary failure is recorded as a retry under the bulk sends' policy
(backoff, Retry-After, maximum age), and the sender workers send it again; if the kernel dies mid-send,
the lease runs out and a worker sends it then (see :func:`kernel.delivery.claims.claim_transactional`).
So nothing is silently lost.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg

from herald.v1 import messages_pb2 as pb
from kernel.channels import ChannelSender, ChannelSpec, OutboundMessage, Outcome, Reach, SendResult
from kernel.delivery.channel_rates import hold_back, rate_of
from kernel.delivery.payloads import payload
from kernel.delivery.results import BatchOutcome, failure_reason, record_transactional
from kernel.delivery.retry import RetryPolicy
from kernel.delivery.send_definition import check_channel_rules, check_channels
from kernel.delivery.senders import SenderPool, unsent
from kernel.delivery.suppressions import blocked_addresses
from kernel.delivery.templates import CompiledTemplate, TemplateError, compile_template
from kernel.delivery.trouble import ProviderTrouble
from kernel.errors import Aborted, InvalidArgument
from kernel.plugins import ChannelManager
from kernel.profiles.addresses import parse_address
from kernel.profiles.attributes import AttributeLimits, to_plain, validate_attributes
from kernel.profiles.refs import check_ref, resolve_one
from kernel.profiles.variables import template_variables
from kernel.request_ids import Answer, check_request_id
from kernel.settings import Settings

log = logging.getLogger(__name__)

IDEMPOTENCY_WINDOW = timedelta(hours=24)
#: The lease owner of a message while its SendTransactional call sends it.
OWNER = "transactional"
#: A message's status after its first attempt (see BatchOutcome.settle), as the caller sees it.
_STATUS = {
    "sent": pb.DELIVERY_STATUS_ACCEPTED,
    "retry": pb.DELIVERY_STATUS_RETRY_SCHEDULED,
    "failed": pb.DELIVERY_STATUS_FAILED,
    "expired": pb.DELIVERY_STATUS_FAILED,
}


@dataclass(slots=True)
class Recipient:
    """Whom the message goes to: a profile (with its template variables and addresses) or a raw address."""

    profile_id: uuid.UUID | None
    variables: dict[str, Any]
    #: address kind → [(address, details)], newest first.
    addresses: dict[str, list[tuple[str, dict[str, str]]]] = field(default_factory=dict)
    #: consent channels where the profile opted out of transactional messages.
    opted_out: set[str] = field(default_factory=set)

    @property
    def raw_address(self) -> str | None:
        """The address a message without a profile goes to."""
        if self.profile_id is not None:
            return None
        [(address, _)] = [target for targets in self.addresses.values() for target in targets]
        return address


class TransactionalSender:
    def __init__(
        self,
        pool: asyncpg.Pool,
        channels: ChannelManager,
        senders: SenderPool,
        limits: AttributeLimits,
        settings: Settings,
    ) -> None:
        self._pool = pool
        self._channels = channels
        self._senders = senders
        self._limits = limits
        self._retry = RetryPolicy(
            settings.retry_base_seconds, settings.retry_max_seconds, settings.message_max_age_seconds
        )
        self._rng = random.Random()
        self._lease = timedelta(seconds=settings.transactional_lease_seconds)
        self._trouble = ProviderTrouble(settings.log_repeat_window_seconds)

    async def send(
        self, project_id: uuid.UUID, request: pb.SendTransactionalRequest
    ) -> Answer[pb.SendTransactionalResponse]:
        specs = self._check_channels(request.channels)
        template = compile_template(request.template, transactional=True)
        for spec in specs:
            check_channel_rules(self._channels, spec, request.template, "template")
        data = to_plain(validate_attributes(request.data, self._limits, "data"))
        key = check_request_id(request.request_id)
        recipient = await self._recipient(project_id, request, specs)
        recipient.variables.update(data)
        if key:
            replay = await self._claim(project_id, key, recipient)
            if replay is not None:
                return Answer(replay, replayed=True)
        response = pb.SendTransactionalResponse()
        try:
            for spec in specs:
                await self._send_on(project_id, spec, recipient, template, response, key)
        except BaseException:
            # Once a message is planned, a worker sends it: a call repeated with the key must get the
            # answer as it stands (kept from the plan should this fail too), not send it a second time.
            if key and any(delivery.message_id for delivery in response.deliveries):
                await _store_answer(self._pool, project_id, key, response)
            elif key:
                await self._pool.execute(
                    "DELETE FROM transactional_requests WHERE project_id = $1 AND idempotency_key = $2",
                    project_id,
                    key,
                )
            raise
        if key:
            await _store_answer(self._pool, project_id, key, response)
        return Answer(response)

    def _check_channels(self, names: Sequence[str]) -> list[ChannelSpec]:
        return list(check_channels(names, self._channels))

    async def _recipient(
        self, project_id: uuid.UUID, request: pb.SendTransactionalRequest, specs: list[ChannelSpec]
    ) -> Recipient:
        which = request.WhichOneof("recipient")
        if which is None:
            raise InvalidArgument("set profile or address", "recipient")
        if which == "address":
            parsed = parse_address(request.address, "address", self._channels.address_kinds)
            for index, spec in enumerate(specs):
                reaches = spec.capabilities.address_kind
                if reaches != parsed.kind:
                    raise InvalidArgument(
                        f"{spec.name} reaches {reaches} addresses, not {parsed.kind}", f"channels[{index}]"
                    )
            return Recipient(None, {}, {parsed.kind: [(parsed.value, dict(parsed.details))]})
        ref = check_ref(request.profile, "profile")
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            profile_id, _ = await resolve_one(conn, project_id, ref, create=False)
            variables = await template_variables(conn, project_id, profile_id)
            addresses = await conn.fetch(
                """SELECT kind, value, details FROM profile_addresses
                   WHERE project_id = $1 AND profile_id = $2 ORDER BY updated_at DESC, value""",
                project_id,
                profile_id,
            )
            opted_out = await conn.fetch(
                """SELECT channel FROM profile_subscriptions WHERE project_id = $1 AND profile_id = $2
                   AND purpose = 'transactional' AND topic = '' AND status = 'opted_out'""",
                project_id,
                profile_id,
            )
        recipient = Recipient(profile_id, variables, opted_out={r["channel"] for r in opted_out})
        for address in addresses:
            recipient.addresses.setdefault(address["kind"], []).append((address["value"], address["details"]))
        return recipient

    async def _claim(
        self, project_id: uuid.UUID, key: str, recipient: Recipient
    ) -> pb.SendTransactionalResponse | None:
        """Reserve the request id; return the stored response if an earlier call already sent.

        The record names its recipient (profile, or raw address), so that erasing the person removes it.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """DELETE FROM transactional_requests
                   WHERE project_id = $1 AND idempotency_key = $2 AND created_at < now() - $3::interval""",
                project_id,
                key,
                IDEMPOTENCY_WINDOW,
            )
            claimed = await conn.fetchval(
                """INSERT INTO transactional_requests (project_id, idempotency_key, profile_id, address)
                   VALUES ($1, $2, $3, $4)
                   ON CONFLICT DO NOTHING RETURNING true""",
                project_id,
                key,
                recipient.profile_id,
                recipient.raw_address,
            )
            if claimed:
                return None
            stored = await conn.fetchval(
                "SELECT response FROM transactional_requests WHERE project_id = $1 AND idempotency_key = $2",
                project_id,
                key,
            )
        if stored is None:
            raise Aborted("a call with this request id is still sending; retry shortly", "request_id")
        return pb.SendTransactionalResponse.FromString(stored)

    async def _send_on(
        self,
        project_id: uuid.UUID,
        spec: ChannelSpec,
        recipient: Recipient,
        template: CompiledTemplate,
        response: pb.SendTransactionalResponse,
        key: str,
    ) -> None:
        """Send on one channel; its deliveries are added to ``response`` as they are known."""
        deliveries = response.deliveries
        kind = spec.capabilities.address_kind
        targets = recipient.addresses.get(kind, [])
        if self._channels.address_kind(spec).reach is Reach.NEWEST:
            targets = targets[:1]
        if not targets:
            deliveries.append(
                pb.Delivery(channel=spec.name, status=pb.DELIVERY_STATUS_NO_ADDRESS, reason="no_address")
            )
            return
        if spec.consent_scope in recipient.opted_out:
            deliveries.extend(_not_sent(spec, pb.DELIVERY_STATUS_SUPPRESSED, "opted_out") for _ in targets)
            return
        blocked = await blocked_addresses(
            self._pool, project_id, [(kind, a) for a, _ in targets], marketing=False
        )
        sendable = [(a, d) for a, d in targets if (kind, a) not in blocked]
        deliveries.extend(
            _not_sent(spec, pb.DELIVERY_STATUS_SUPPRESSED, blocked[(kind, a)])
            for a, _ in targets
            if (kind, a) in blocked
        )
        if not sendable:
            return
        sender = await self._senders.get(project_id, spec.name)
        try:
            content = template.render(recipient.variables)
        except TemplateError as error:
            deliveries.extend(
                _not_sent(spec, pb.DELIVERY_STATUS_FAILED, f"template: {error}") for _ in sendable
            )
            return
        messages = [OutboundMessage(str(uuid.uuid4()), a, content, address_details=d) for a, d in sendable]
        first = len(deliveries)
        # Until its outcome is recorded, a planned message is one a worker will retry.
        deliveries.extend(
            pb.Delivery(channel=spec.name, message_id=m.message_id, status=pb.DELIVERY_STATUS_RETRY_SCHEDULED)
            for m in messages
        )
        await self._plan(project_id, spec, recipient.profile_id, messages, response, key)
        await self._attempt(project_id, spec, sender, messages, deliveries[first:])

    async def first_attempt(
        self, project_id: uuid.UUID, spec: ChannelSpec, messages: list[OutboundMessage]
    ) -> list[pb.Delivery]:
        """The first attempt of messages planned with :func:`insert_leased` in a transaction of the
        caller's own (an automation's send step), as SendTransactional makes it after planning."""
        deliveries = [
            pb.Delivery(channel=spec.name, message_id=m.message_id, status=pb.DELIVERY_STATUS_RETRY_SCHEDULED)
            for m in messages
        ]
        sender = await self._senders.get(project_id, spec.name)
        await self._attempt(project_id, spec, sender, messages, deliveries)
        return deliveries

    async def _attempt(
        self,
        project_id: uuid.UUID,
        spec: ChannelSpec,
        sender: ChannelSender,
        messages: list[OutboundMessage],
        deliveries: Sequence[pb.Delivery],
    ) -> None:
        """The messages' first attempt: send, record the outcome, and set their ``deliveries`` to it.

        Beyond the channel's default rate, a message waits for a worker to send it (RETRY_SCHEDULED, reason
        ``channel_rate``)."""
        outcome = BatchOutcome()
        if rate_of(spec) is not None:
            ids = [uuid.UUID(message.message_id) for message in messages]
            granted = await hold_back(self._pool, project_id, spec, ids, outcome, time.time(), status="retry")
            for delivery in deliveries[granted:]:
                delivery.reason = "channel_rate"
            messages, deliveries = messages[:granted], deliveries[:granted]
        results: list[SendResult] = []
        size = spec.capabilities.max_batch_size
        for start in range(0, len(messages), size):
            batch = messages[start : start + size]
            try:
                results += await sender.send_batch(batch)
            except Exception as error:
                log.exception("SendTransactional: %s failed on a batch; retrying it later", spec.name)
                results += unsent(batch, f"sender error: {error!r}")
        for delivery, message, result in zip(deliveries, messages, results, strict=True):
            message_id = uuid.UUID(message.message_id)
            if result.outcome is Outcome.ACCEPTED:
                outcome.sent([message_id], [result.provider_id])
                status = "sent"
            else:
                status = outcome.settle(
                    spec,
                    message_id,
                    message.address,
                    result,
                    attempts=0,
                    age=0.0,
                    policy=self._retry,
                    rng=self._rng,
                )
                self._trouble.settled(status, spec.name, result.detail)
            delivery.status = _STATUS[status]
            delivery.provider_id = result.provider_id
            delivery.reason = _reason(status, result)
        async with self._pool.acquire() as conn:
            await record_transactional(conn, project_id, OWNER, outcome)

    async def _plan(
        self,
        project_id: uuid.UUID,
        spec: ChannelSpec,
        profile_id: uuid.UUID | None,
        messages: list[OutboundMessage],
        response: pb.SendTransactionalResponse,
        key: str,
    ) -> None:
        """Write the messages' rows, and with them ``response`` as the request id's answer so far:
        should this call never finish, a worker sends them, and a call repeated with the key learns it."""
        async with self._pool.acquire() as conn, conn.transaction():
            await insert_leased(
                conn, project_id, self._lease, [LeasedMessage(profile_id, spec.name, m) for m in messages]
            )
            if key:
                await _store_answer(conn, project_id, key, response)


@dataclass(frozen=True, slots=True)
class LeasedMessage:
    """A message to store leased to its first attempt, with its profile (None: an address alone)."""

    profile_id: uuid.UUID | None
    channel: str
    message: OutboundMessage


async def insert_leased(
    conn: asyncpg.Connection, project_id: uuid.UUID, lease: timedelta, messages: Sequence[LeasedMessage]
) -> None:
    """Write the messages' rows (one statement for all), leased to their first attempt: due again when the
    lease runs out, and then sent by a sender worker, should the caller never record an outcome (it died
    mid-send). SendTransactional's messages, and an automation batch's send steps'."""
    if not messages:
        return
    await conn.execute(
        """INSERT INTO messages
               (project_id, message_id, profile_id, channel, address, status, lease_owner, lease_until,
                next_attempt_at, first_attempt_at, payload)
           SELECT $1, m.message_id, m.profile_id, m.channel, m.address, 'leased', $2, now() + $3::interval,
                  now() + $3::interval, now(), m.payload
           FROM unnest($4::uuid[], $5::uuid[], $6::text[], $7::text[], $8::jsonb[])
               AS m(message_id, profile_id, channel, address, payload)""",
        project_id,
        OWNER,
        lease,
        [uuid.UUID(m.message.message_id) for m in messages],
        [m.profile_id for m in messages],
        [m.channel for m in messages],
        [m.message.address for m in messages],
        [payload(m.message) for m in messages],
    )


async def _store_answer(
    db: asyncpg.Pool | asyncpg.Connection,
    project_id: uuid.UUID,
    key: str,
    response: pb.SendTransactionalResponse,
) -> None:
    """Keep ``response`` as the answer to a call repeated with the request id."""
    await db.execute(
        "UPDATE transactional_requests SET response = $3 WHERE project_id = $1 AND idempotency_key = $2",
        project_id,
        key,
        response.SerializeToString(),
    )


def _reason(status: str, result: SendResult) -> str:
    if status == "failed":
        return failure_reason(result)
    return "expired" if status == "expired" else ""


def _not_sent(spec: ChannelSpec, status: int, reason: str) -> pb.Delivery:
    return pb.Delivery(channel=spec.name, status=status, reason=reason)
