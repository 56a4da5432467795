"""Sandbox feedback: the provider reports an emulator posts back to Herald in sandbox mode.

An emulator whose provider reports outcomes by webhook (:class:`FeedbackEmulator`) decides what becomes
of each message it accepted from :class:`FeedbackRates`, by Herald's message id alone (what the plugin
put in the provider request), and posts the provider's own webhook calls to the project's endpoint
with the credentials Herald generated for it, as an operator would have set them up at the provider.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from kernel.channels.types import FeedbackKind

_SCALE = 2**64


def draw(message_id: str, kind: FeedbackKind) -> float:
    """A number in [0, 1) fixed by the message id and the outcome: the same message always gets the
    same fate (tests can predict it), and the outcomes of one message are independent draws."""
    digest = hashlib.sha256(f"{message_id}/{kind.value}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


@dataclass(frozen=True, slots=True)
class FeedbackRates:
    """Shares of messages the provider reports on. Each applies to the messages that reached the step
    before it: ``bounced`` to every message, ``delivered`` to those not bounced, ``opened`` and
    ``unsubscribed`` to the delivered ones, ``clicked`` to the opened ones."""

    delivered: float = 1.0
    opened: float = 0.0
    clicked: float = 0.0
    bounced: float = 0.0
    unsubscribed: float = 0.0

    def outcomes(self, message_id: str) -> list[FeedbackKind]:
        """What the provider reports about ``message_id``, in the order it happens."""

        def chosen(kind: FeedbackKind, share: float) -> bool:
            return draw(message_id, kind) < share

        if chosen(FeedbackKind.BOUNCED, self.bounced):
            return [FeedbackKind.BOUNCED]
        if not chosen(FeedbackKind.DELIVERED, self.delivered):
            return []
        reported = [FeedbackKind.DELIVERED]
        if chosen(FeedbackKind.OPENED, self.opened):
            reported.append(FeedbackKind.OPENED)
            if chosen(FeedbackKind.CLICKED, self.clicked):
                reported.append(FeedbackKind.CLICKED)
        if chosen(FeedbackKind.UNSUBSCRIBED, self.unsubscribed):
            reported.append(FeedbackKind.UNSUBSCRIBED)
        return reported


@dataclass(frozen=True, slots=True)
class SandboxProject:
    """Where one project's provider reports go, as its operator would have set them up at the provider."""

    project_id: str
    #: Herald's webhook URL for the project and channel.
    webhook_url: str
    #: The webhook credential Herald generated for the project's channel.
    webhook_secret: str


@runtime_checkable
class FeedbackEmulator(Protocol):
    """An emulator whose provider reports outcomes by webhook (optional: an emulator without it reports
    nothing back)."""

    def report_feedback(self, rates: FeedbackRates) -> None:
        """From now on, post the provider's reports about accepted messages, at ``rates``, to the
        webhook of the project that sent each one; call before starting the emulator."""
        ...

    def project_config(self, project: SandboxProject) -> Mapping[str, Any]:
        """The sandbox configuration of one project: the one ``enter_sandbox`` returned, with whatever
        makes the provider's reports about its messages reach ``project.webhook_url`` (e.g. an account
        of its own whose webhook the emulator knows, or a status callback URL)."""
        ...

    async def feedback_settled(self) -> None:
        """Return once every report due so far was posted (or given up)."""
        ...
