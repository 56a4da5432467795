"""The channel plugin contract's data types; the hooks themselves are in :mod:`kernel.hookspecs`."""

from kernel.channels.types import (
    NO_DETAILS,
    AddressKind,
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
    "NO_DETAILS",
    "AddressKind",
    "Capabilities",
    "ChannelSender",
    "ChannelSpec",
    "ConfigError",
    "Emulator",
    "FailureReason",
    "FeedbackEvent",
    "FeedbackKind",
    "MessageContent",
    "OutboundMessage",
    "Outcome",
    "SendResult",
    "WebhookRequest",
]
