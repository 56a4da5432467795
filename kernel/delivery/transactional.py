"""SendTransactional: one message, now, to a profile or a raw address, on one or several channels.

It proves the whole delivery path (template → channel plugin → provider → outcome) without the bulk
machinery. Each message gets a row in ``messages`` *before* it is sent, leased for a few minutes: if the
kernel dies mid-send, the bulk sender's lease expiry picks it up, so nothing is silently lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg

from herald.v1 import messages_pb2 as pb
from kernel.channels import ChannelSpec, OutboundMessage, Outcome, SendResult
from kernel.delivery.outcomes import Attempt, record_outcomes
from kernel.delivery.send_definition import check_channel_rules, check_channels
from kernel.delivery.senders import SenderPool
from kernel.delivery.suppressions import blocked_addresses
from kernel.delivery.templates import CompiledTemplate, TemplateError, compile_template
from kernel.errors import Aborted, InvalidArgument
from kernel.plugins import ChannelManager
from kernel.profiles.addresses import parse_address
from kernel.profiles.attributes import AttributeLimits, to_plain, validate_attributes
from kernel.profiles.refs import check_ref, resolve_one

IDEMPOTENCY_WINDOW = timedelta(hours=24)
MAX_IDEMPOTENCY_KEY_LENGTH = 128
LEASE = timedelta(minutes=5)
#: Address kinds where a profile's every address is reached (devices); for the others, the newest one.
_ALL_DEVICES = frozenset({"apns_token", "fcm_token", "web_push"})
_STATUS = {
    Outcome.ACCEPTED: pb.DELIVERY_STATUS_ACCEPTED,
    Outcome.RETRY: pb.DELIVERY_STATUS_RETRY_SCHEDULED,
    Outcome.FAILED: pb.DELIVERY_STATUS_FAILED,
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
        self, pool: asyncpg.Pool, channels: ChannelManager, senders: SenderPool, limits: AttributeLimits
    ) -> None:
        self._pool = pool
        self._channels = channels
        self._senders = senders
        self._limits = limits

    async def send(
        self, project_id: uuid.UUID, request: pb.SendTransactionalRequest
    ) -> pb.SendTransactionalResponse:
        specs = self._check_channels(request.channels)
        template = compile_template(request.template, transactional=True)
        for spec in specs:
            check_channel_rules(self._channels, spec, request.template, "template")
        data = to_plain(validate_attributes(request.data, self._limits, "data"))
        key = _check_key(request.idempotency_key)
        recipient = await self._recipient(project_id, request, specs)
        recipient.variables.update(data)
        if key:
            replay = await self._claim(project_id, key, recipient)
            if replay is not None:
                return replay
        try:
            response = pb.SendTransactionalResponse()
            for spec in specs:
                response.deliveries.extend(await self._send_on(project_id, spec, recipient, template))
        except BaseException:
            if key:
                await self._pool.execute(
                    "DELETE FROM transactional_requests WHERE project_id = $1 AND idempotency_key = $2",
                    project_id,
                    key,
                )
            raise
        if key:
            await self._pool.execute(
                """UPDATE transactional_requests SET response = $3
                   WHERE project_id = $1 AND idempotency_key = $2""",
                project_id,
                key,
                response.SerializeToString(),
            )
        return response

    def _check_channels(self, names: Sequence[str]) -> list[ChannelSpec]:
        return list(check_channels(names, self._channels))

    async def _recipient(
        self, project_id: uuid.UUID, request: pb.SendTransactionalRequest, specs: list[ChannelSpec]
    ) -> Recipient:
        which = request.WhichOneof("recipient")
        if which is None:
            raise InvalidArgument("set profile or address", "recipient")
        if which == "address":
            parsed = parse_address(request.address, "address")
            for index, spec in enumerate(specs):
                reaches = spec.capabilities.address_kind.value
                if reaches != parsed.kind:
                    raise InvalidArgument(
                        f"{spec.name} reaches {reaches} addresses, not {parsed.kind}", f"channels[{index}]"
                    )
            details = {"p256dh": parsed.p256dh, "auth": parsed.auth} if parsed.p256dh else {}
            return Recipient(None, {}, {parsed.kind: [(parsed.value, details)]})
        ref = check_ref(request.profile, "profile")
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            profile_id, _ = await resolve_one(conn, project_id, ref, create=False)
            row = await conn.fetchrow(
                "SELECT custom_id, attributes FROM profiles WHERE project_id = $1 AND profile_id = $2",
                project_id,
                profile_id,
            )
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
        variables = {
            **to_plain(row["attributes"]),
            "custom_id": row["custom_id"] or "",
            "profile_id": str(profile_id),
        }
        recipient = Recipient(profile_id, variables, opted_out={r["channel"] for r in opted_out})
        for address in addresses:
            recipient.addresses.setdefault(address["kind"], []).append((address["value"], address["details"]))
        return recipient

    async def _claim(
        self, project_id: uuid.UUID, key: str, recipient: Recipient
    ) -> pb.SendTransactionalResponse | None:
        """Reserve the idempotency key; return the stored response if an earlier call already sent.

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
            raise Aborted(
                "a call with this idempotency key is still sending; retry shortly", "idempotency_key"
            )
        response = pb.SendTransactionalResponse.FromString(stored)
        response.replayed = True
        return response

    async def _send_on(
        self, project_id: uuid.UUID, spec: ChannelSpec, recipient: Recipient, template: CompiledTemplate
    ) -> list[pb.Delivery]:
        kind = spec.capabilities.address_kind.value
        targets = recipient.addresses.get(kind, [])
        if kind not in _ALL_DEVICES:
            targets = targets[:1]
        if not targets:
            return [pb.Delivery(channel=spec.name, status=pb.DELIVERY_STATUS_NO_ADDRESS, reason="no_address")]
        if spec.consent_channel in recipient.opted_out:
            return [_not_sent(spec, pb.DELIVERY_STATUS_SUPPRESSED, "opted_out") for _ in targets]
        blocked = await blocked_addresses(
            self._pool, project_id, [(kind, a) for a, _ in targets], marketing=False
        )
        sendable = [(a, d) for a, d in targets if (kind, a) not in blocked]
        deliveries = [
            _not_sent(spec, pb.DELIVERY_STATUS_SUPPRESSED, blocked[(kind, a)])
            for a, _ in targets
            if (kind, a) in blocked
        ]
        if not sendable:
            return deliveries
        sender = await self._senders.get(project_id, spec.name)
        try:
            content = template.render(recipient.variables)
        except TemplateError as error:
            return deliveries + [
                _not_sent(spec, pb.DELIVERY_STATUS_FAILED, f"template: {error}") for _ in sendable
            ]
        messages = [OutboundMessage(str(uuid.uuid4()), a, content, address_details=d) for a, d in sendable]
        await self._plan(project_id, spec, recipient.profile_id, messages)
        results: list[SendResult] = []
        size = spec.capabilities.max_batch_size
        for start in range(0, len(messages), size):
            results += await sender.send_batch(messages[start : start + size])
        attempts = [
            Attempt(uuid.UUID(m.message_id), m.address, r) for m, r in zip(messages, results, strict=True)
        ]
        async with self._pool.acquire() as conn, conn.transaction():
            await record_outcomes(conn, project_id, spec, attempts)
        return deliveries + [
            pb.Delivery(
                channel=spec.name,
                message_id=r.message_id,
                status=_STATUS[r.outcome],
                provider_id=r.provider_id,
                reason=r.reason.value if r.reason else "",
            )
            for r in results
        ]

    async def _plan(
        self,
        project_id: uuid.UUID,
        spec: ChannelSpec,
        profile_id: uuid.UUID | None,
        messages: list[OutboundMessage],
    ) -> None:
        await self._pool.executemany(
            """INSERT INTO messages
                   (project_id, message_id, profile_id, channel, address, status, lease_owner, lease_until)
               VALUES ($1, $2, $3, $4, $5, 'leased', 'transactional', now() + $6::interval)""",
            [
                (project_id, uuid.UUID(m.message_id), profile_id, spec.name, m.address, LEASE)
                for m in messages
            ],
        )


def _not_sent(spec: ChannelSpec, status: int, reason: str) -> pb.Delivery:
    return pb.Delivery(channel=spec.name, status=status, reason=reason)


def _check_key(key: str) -> str:
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise InvalidArgument(f"at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters", "idempotency_key")
    if key and not key.isprintable():
        raise InvalidArgument("must not contain control characters", "idempotency_key")
    return key
