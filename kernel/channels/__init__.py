"""The channel plugin contract's data types; the hooks themselves are in :mod:`kernel.hookspecs`."""

from kernel.channels.kinds import AddressError, AddressKindSpec, Reach
from kernel.channels.sandbox_feedback import (
    FeedbackEmulator,
    FeedbackRates,
    SandboxProject,
    WebhookFeedbackEmulator,
)
from kernel.channels.types import (
    EMPTY,
    Capabilities,
    ChannelSender,
    ChannelSpec,
    ConfigError,
    Emulator,
    FailureReason,
    FeedbackEvent,
    FeedbackKind,
    MessageContent,
    OutboundMessage,
    Outcome,
    SendResult,
    WebhookRequest,
)

__all__ = [
    "EMPTY",
    "AddressError",
    "AddressKindSpec",
    "Capabilities",
    "ChannelSender",
    "ChannelSpec",
    "ConfigError",
    "Emulator",
    "FailureReason",
    "FeedbackEmulator",
    "FeedbackEvent",
    "FeedbackKind",
    "FeedbackRates",
    "MessageContent",
    "OutboundMessage",
    "Outcome",
    "Reach",
    "SandboxProject",
    "SendResult",
    "WebhookFeedbackEmulator",
    "WebhookRequest",
]
