"""The channel plugin contract's data types; the hooks themselves are in :mod:`kernel.hookspecs`."""

from kernel.channels.types import (
    EMPTY,
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
    "EMPTY",
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
