"""What a channel plugin declares, receives and returns.

The kernel never branches on a channel's *name*: everything it needs to know (which kind of address the
channel reaches, see :mod:`kernel.channels.kinds`; how many messages one provider request carries, how
large a payload may be, whether it can send silent pushes or substitute per-recipient data itself) is
in :class:`Capabilities`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol, runtime_checkable

#: The default of the contract's mapping fields (address details, data, tags): shared, so read-only.
EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Capabilities:
    #: The name of the address kind the channel reaches (``email``, ``phone``): declared by this plugin or
    #: another loaded one (``herald_address_kinds``); channels may share a kind.
    address_kind: str
    #: Messages one provider request may carry (SparkPost: many recipients per transmission; APNs: 1).
    max_batch_size: int
    #: Largest payload the provider accepts for one message, in bytes (APNs 4096, web push 4096, ...).
    max_payload_bytes: int
    #: Data-only / background pushes that wake the app without showing anything.
    silent_push: bool = False
    #: The provider renders per-recipient substitution data itself (so the kernel sends the template once
    #: per batch with each recipient's data instead of rendering every message).
    per_recipient_substitution: bool = False
    #: How the provider writes a substituted variable, unescaped, ``%s`` standing for its name
    #: (SparkPost: ``{{{%s}}}``). Required with ``per_recipient_substitution``.
    substitution_placeholder: str = ""
    #: Messages per second the provider tolerates from one account by default; None for no known limit.
    #: The kernel paces each project's messages on the channel to it, shared among the live workers.
    default_rate_per_second: float | None = None

    def __post_init__(self) -> None:
        if self.per_recipient_substitution and "%s" not in self.substitution_placeholder:
            raise ValueError("per_recipient_substitution needs a substitution_placeholder with %s")

    @property
    def placeholder(self) -> str | None:
        """The provider's placeholder syntax when it substitutes per-recipient data itself, else None."""
        return self.substitution_placeholder if self.per_recipient_substitution else None


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    #: Unique, dotted: ``email.sparkpost``, ``push.apns``. Used in settings, APIs and metrics.
    name: str
    #: One line for humans (ChannelService lists it).
    description: str
    #: The consent scope (``profile_subscriptions.channel``, ``Subscription.channel``) governing the channel:
    #: channels sharing a scope share the consent (``push`` for APNs and FCM). A name of the same form as a
    #: kind's; a channel reaching phones over another service than SMS declares its own scope.
    consent_scope: str
    capabilities: Capabilities
    #: Names of the configuration keys the channel accepts, with a one-line description each.
    config_fields: Mapping[str, str] = field(default_factory=dict)
    #: Keys of ``config_fields`` whose values are secrets (API keys, private keys, passwords): masked
    #: whenever a configuration is shown.
    secret_config_fields: frozenset[str] = frozenset()
    #: The largest webhook body the provider sends; a larger one is refused (413) unread, so a forged
    #: flood cannot make the endpoint buffer more than this per request.
    max_webhook_bytes: int = 1024 * 1024


class ConfigError(ValueError):
    """A channel configuration is unusable; ``field`` names the key (e.g. ``key_p8``).

    Also what ``herald_validate_template`` raises for a template the channel cannot send, ``field``
    then naming the template's field (``subject``, ``data["from"]``).
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class MessageContent(NamedTuple):
    """Rendered content. Each channel reads the fields that make sense for it and ignores the others.

    Email: ``subject``, ``html``, ``text``, ``from_address``, ``from_name``, ``reply_to``.
    Push (APNs, FCM, web push): ``title``, ``body``, ``data``, ``silent``, ``badge``, ``sound``,
    ``collapse_key``, ``priority``, ``ttl_seconds``, ``url`` (web push click target).
    SMS: ``text`` (``from_address`` is the sender id or number).
    ``campaign`` and ``tags`` label the message at the provider (SparkPost campaign_id / metadata).
    ``transactional`` says the message answers the recipient's own action (a password reset, a receipt):
    providers that apply marketing unsubscribes and suppressions must not apply them to it (SparkPost
    ``options.transactional``). A third-party sender that has no such notion ignores it.
    ``html`` is HTML already escaped where Herald inserted profile values; a sender must not escape it again.

    The per-message types (this one, ``OutboundMessage``, ``SendResult``) are named tuples: a bulk send
    builds them per recipient (a content per recipient when the channel does not substitute), and a frozen
    dataclass costs four (two fields) to seven (twenty) times as much to build. Immutable either way.
    """

    subject: str = ""
    html: str = ""
    text: str = ""
    from_address: str = ""
    from_name: str = ""
    reply_to: str = ""
    title: str = ""
    body: str = ""
    data: Mapping[str, str] = EMPTY
    silent: bool = False
    badge: int | None = None
    sound: str = ""
    collapse_key: str = ""
    #: "high" (deliver now, wake the device) or "normal" (may be batched by the OS to save power).
    priority: str = "high"
    #: How long the provider should keep trying to deliver; None for its default.
    ttl_seconds: int | None = None
    url: str = ""
    campaign: str = ""
    tags: Mapping[str, str] = EMPTY
    #: The message belongs to a transactional send (SendTransactional, or a CreateSend of that purpose).
    transactional: bool = False


class OutboundMessage(NamedTuple):
    """One message handed to a channel's sender (a named tuple, see ``MessageContent``)."""

    #: Fixed when the message was planned; sent to providers as an idempotency key where they accept one,
    #: and echoed by feedback webhooks so events find their message.
    message_id: str
    #: The normalised address (email, token, E.164 number, or the web-push endpoint).
    address: str
    content: MessageContent
    #: Kind-specific address data: the web-push subscription's ``p256dh`` and ``auth`` keys.
    address_details: Mapping[str, str] = EMPTY
    #: Set only for channels with ``per_recipient_substitution``: the recipient's data for the provider
    #: to substitute into ``content`` (then the same content object is shared by the whole batch). None:
    #: ``content`` is final text, which the provider must send as it is (not read as its template).
    substitution_data: Mapping[str, Any] | None = None


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    #: Temporary: try again after ``retry_after`` seconds (None: the kernel's backoff decides).
    RETRY = "retry"
    #: Permanent: never retried.
    FAILED = "failed"


class FailureReason(StrEnum):
    #: The address can never receive (malformed email, unknown number).
    INVALID_ADDRESS = "invalid_address"
    #: The token or subscription is no longer valid (APNs 410, FCM UNREGISTERED, web push 404/410).
    UNREGISTERED = "unregistered"
    #: The recipient unsubscribed or complained at the provider (SparkPost suppression).
    UNSUBSCRIBED = "unsubscribed"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    #: The channel's credentials were refused: every message of the channel will fail until fixed.
    AUTHENTICATION = "authentication"
    #: The provider refused the address in words that also mean a wrong channel configuration: APNs
    #: BadDeviceToken (also a valid token of the other environment, sandbox vs production) and
    #: DeviceTokenNotForTopic (another app's), FCM SENDER_ID_MISMATCH (another sender's token). Failed
    #: and counted, never pruned: one wrong setting would otherwise wipe every token of a project. Many
    #: of them in a bulk send pause the channel for the project (see ``paused_channels`` in GetSend).
    CONFIG_SUSPECT = "config_suspect"
    #: Any other permanent refusal; ``detail`` says what the provider said.
    REJECTED = "rejected"


class SendResult(NamedTuple):
    """What became of one message (a named tuple, see ``MessageContent``)."""

    message_id: str
    outcome: Outcome
    #: The provider's id for the accepted message (SparkPost transmission id, apns-id, FCM name, ...).
    provider_id: str = ""
    retry_after: float | None = None
    reason: FailureReason | None = None
    detail: str = ""

    @property
    def prunes_address(self) -> bool:
        """The address is dead: the kernel removes it from the profile (never on ``CONFIG_SUSPECT``)."""
        return self.reason in (FailureReason.UNREGISTERED, FailureReason.INVALID_ADDRESS)


@runtime_checkable
class ChannelSender(Protocol):
    """Delivers batches for one project's configuration of one channel; one instance is reused."""

    async def send_batch(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        """Send up to ``max_batch_size`` messages; return one result per message, in the same order.

        Never raises for a provider's refusal (that is a result); raises only for bugs. A transport error
        (connection refused, timeout) is a RETRY result for every message it affected.
        """
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """A provider's callback as received by Herald's webhook endpoint."""

    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)
    #: The full URL the call was made to, as Herald's endpoint saw it (scheme, host, path, query): what
    #: a provider that signs its URL (Twilio) signed, unless a proxy in front of Herald rewrote it.
    url: str = ""

    def header(self, name: str) -> str:
        """The value of header ``name`` (any case), or "" when absent."""
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), "")


class FeedbackKind(StrEnum):
    DELIVERED = "delivered"
    BOUNCED = "bounced"  # permanent (hard) bounce
    DEFERRED = "deferred"  # temporary (soft) bounce
    #: Refused by the provider's own policy (e.g. its suppression list, of unknown cause): recorded on
    #: the timeline, never a suppression in Herald (it could be a marketing unsubscribe at the provider,
    #: and a suppression would block transactional messages too).
    REJECTED = "rejected"
    COMPLAINED = "complained"  # marked as spam
    OPENED = "opened"
    CLICKED = "clicked"
    UNSUBSCRIBED = "unsubscribed"
    TOKEN_INVALID = "token_invalid"


@dataclass(frozen=True, slots=True)
class FeedbackEvent:
    kind: FeedbackKind
    #: Herald's message id, when the provider echoes it (metadata); empty otherwise.
    message_id: str
    address: str
    occurred_at: datetime
    #: The provider's own event id, to drop a webhook delivered twice.
    provider_event_id: str = ""
    detail: str = ""
    #: The clicked link, for CLICKED.
    url: str = ""


@runtime_checkable
class Emulator(Protocol):
    """A loopback stand-in for a provider, checking requests the way the provider does.

    Used by tests, benchmarks and sandbox mode. ``async with emulator:`` starts it on 127.0.0.1 (port 0
    unless given) and stops it.
    """

    #: The base URL (or host:port for SMTP) the channel's sender should use instead of the provider's.
    endpoint: str
    #: Every message the emulator accepted, in order, as the provider would have recorded it.
    accepted: list[Mapping[str, Any]]

    async def __aenter__(self) -> Emulator: ...

    async def __aexit__(self, *exc: object) -> None: ...

    def fail_next(
        self, count: int, status: int, *, retry_after: float | None = None, error: str = ""
    ) -> None:
        """Answer the next ``count`` requests with this error, as the provider would shape it."""
        ...

    def set_latency(self, seconds: float) -> None:
        """Delay every answer by ``seconds`` (0 to stop)."""
        ...

    def invalidate(self, address: str) -> None:
        """From now on, answer for ``address`` as the provider does for a dead token / address."""
        ...

    def enter_sandbox(self) -> Mapping[str, Any]:
        """Serve every project, as sandbox mode needs; call before starting the emulator.

        From then on the emulator accepts any well-formed credentials (it still checks their form and
        claims, not whose they are) and any address its provider would accept syntactically, since real
        profiles' tokens and subscriptions reach it. Returns a channel configuration it accepts, used for
        projects that have not configured the channel.
        """
        ...
