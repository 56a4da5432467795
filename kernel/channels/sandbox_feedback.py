"""Sandbox feedback: what an emulator reports about messages in sandbox mode, as its provider would.

A :class:`FeedbackEmulator` decides what becomes of each message from :class:`FeedbackRates`. One whose
provider answers in the response (push: a dead token) answers a share of tokens as unregistered. One
whose provider reports by webhook (:class:`WebhookFeedbackEmulator`) draws each message's fate from
Herald's message id alone (what the plugin put in the provider request) and posts the provider's own
webhook calls to the project's endpoint with the credentials Herald generated for it, as an operator
would have set them up at the provider.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from kernel.channels.types import FeedbackKind

_SCALE = 2**64


def draw(subject: str, kind: FeedbackKind) -> float:
    """A number in [0, 1) fixed by the subject (a message id, a token) and the outcome: the same message
    always gets the same fate (tests can predict it), and the outcomes of one message are independent."""
    digest = hashlib.sha256(f"{subject}/{kind.value}".encode()).digest()
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
    #: Push tokens (and web push subscriptions) answered as unregistered, of all of them.
    unregistered: float = 0.0

    def unregistered_token(self, token: str) -> bool:
        """Whether the provider answers ``token`` as unregistered: fixed by the token, for every message."""
        return draw(token, FeedbackKind.TOKEN_INVALID) < self.unregistered

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
    """An emulator that reports what becomes of messages in sandbox mode (optional)."""

    def report_feedback(self, rates: FeedbackRates) -> None:
        """From now on, report outcomes at ``rates``: in the answers its provider gives (unregistered
        tokens), and by webhook for a :class:`WebhookFeedbackEmulator`; call before starting it."""
        ...


@runtime_checkable
class WebhookFeedbackEmulator(FeedbackEmulator, Protocol):
    """An emulator whose provider reports outcomes by webhook: it posts them to the webhook of the
    project that sent each message."""

    def project_config(self, project: SandboxProject) -> Mapping[str, Any]:
        """The sandbox configuration of one project: the one ``enter_sandbox`` returned, with whatever
        makes the provider's reports about its messages reach ``project.webhook_url`` (e.g. an account
        of its own whose webhook the emulator knows, or a status callback URL)."""
        ...

    async def feedback_settled(self) -> None:
        """Return once every report due so far was posted (or given up)."""
        ...
