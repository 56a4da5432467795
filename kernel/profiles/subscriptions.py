"""Consent: subscription states per (channel, purpose, topic), validated and mapped to and from protobuf."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from herald.v1 import common_pb2
from kernel.api.timestamps import from_datetime
from kernel.errors import InvalidArgument

TOPIC_PATTERN = re.compile(r"[A-Za-z0-9_.\-]{1,64}")

PURPOSES = {
    common_pb2.PURPOSE_MARKETING: "marketing",
    common_pb2.PURPOSE_TRANSACTIONAL: "transactional",
}
STATUSES = {
    common_pb2.SUBSCRIPTION_STATUS_OPTED_IN: "opted_in",
    common_pb2.SUBSCRIPTION_STATUS_OPTED_OUT: "opted_out",
}
_ENUMS = {
    "purpose": {name: number for number, name in PURPOSES.items()},
    "status": {name: number for number, name in STATUSES.items()},
}


@dataclass(frozen=True, slots=True)
class SubscriptionChange:
    channel: str
    purpose: str
    topic: str
    status: str

    @property
    def scope(self) -> tuple[str, str, str]:
        return self.channel, self.purpose, self.topic


def _enum(names: dict[int, str], number: int, what: str, field: str) -> str:
    name = names.get(number)
    if name is None:
        raise InvalidArgument(f"set the {what} ({', '.join(names.values())})", field)
    return name


def _scope(scopes: frozenset[str], scope: str, field: str) -> str:
    if scope not in scopes:
        what = "set the consent scope" if not scope else f"unknown consent scope {scope!r}"
        raise InvalidArgument(f"{what} (the loaded channels': {', '.join(sorted(scopes))})", field)
    return scope


def parse_subscription(
    message: common_pb2.Subscription, field: str, scopes: frozenset[str]
) -> SubscriptionChange:
    """One consent change; ``channel`` must be the consent scope of a loaded channel."""
    return subscription_change(message.channel, message.purpose, message.topic, message.status, field, scopes)


def subscription_change(
    channel: str, purpose: int, topic: str, status: int, field: str, scopes: frozenset[str]
) -> SubscriptionChange:
    """:func:`parse_subscription` of the change its parts make (``purpose`` and ``status`` the enums'
    numbers): an import line's subscription is no message."""
    if topic and not TOPIC_PATTERN.fullmatch(topic):
        raise InvalidArgument("a topic is 1 to 64 letters, digits, '_', '-' or '.'", f"{field}.topic")
    return SubscriptionChange(
        channel=_scope(scopes, channel, f"{field}.channel"),
        purpose=_enum(PURPOSES, purpose, "purpose", f"{field}.purpose"),
        topic=topic,
        status=_enum(STATUSES, status, "status", f"{field}.status"),
    )


def parse_subscriptions(
    messages: Sequence[common_pb2.Subscription], scopes: frozenset[str], field: str = "subscriptions"
) -> list[SubscriptionChange]:
    """Validate a request's consent changes: one change per scope, so the outcome never depends on order."""
    changes: list[SubscriptionChange] = []
    seen: dict[tuple[str, str, str], int] = {}
    for index, message in enumerate(messages):
        change = parse_subscription(message, f"{field}[{index}]", scopes)
        if change.scope in seen:
            raise InvalidArgument(
                f"same channel, purpose and topic as {field}[{seen[change.scope]}]", f"{field}[{index}]"
            )
        seen[change.scope] = index
        changes.append(change)
    return changes


def to_message(
    channel: str, purpose: str, topic: str, status: str, updated_at: datetime
) -> common_pb2.Subscription:
    return common_pb2.Subscription(
        channel=channel,
        purpose=_ENUMS["purpose"][purpose],  # type: ignore[arg-type]
        topic=topic,
        status=_ENUMS["status"][status],  # type: ignore[arg-type]
        updated_at=from_datetime(updated_at),
    )
