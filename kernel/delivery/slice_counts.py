"""The figures a worker counts for a slice of a send: its audience, and what became of its messages, both
in total and per channel (the channel's position in the send's channels)."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Figures of a slice's audience, set when it is read (a slice read again counts afresh).
AUDIENCE = ("planned", "suppressed", "duplicates", "not_consented")
#: Figures of its messages' outcomes, added as each batch's outcome is recorded.
#: ``capped``, ``grace_period``, ``quiet_hours_dropped``: kept from going out by the project's marketing
#: pressure rules (final, like ``sent``); ``quiet_hours_delayed``: put off to the end of quiet hours (each
#: time, like ``retries``).
OUTCOMES = (
    "sent",
    "failed",
    "expired",
    "cancelled",
    "retries",
    "capped",
    "grace_period",
    "quiet_hours_dropped",
    "quiet_hours_delayed",
)


@dataclass(slots=True)
class AudienceFigures:
    planned: int = 0
    suppressed: int = 0
    duplicates: int = 0
    not_consented: int = 0


@dataclass(slots=True)
class SliceAudience(AudienceFigures):
    """What a slice's audience held: messages planned (suppressed ones included), and what was left out;
    in total and per channel."""

    by_channel: dict[int, AudienceFigures] = field(default_factory=dict)

    def count(self, channel: int, *names: str, by: int = 1) -> None:
        """Add ``by`` to the figures ``names``, in total and for ``channel``."""
        figures = self.by_channel.get(channel)
        if figures is None:
            figures = self.by_channel[channel] = AudienceFigures()
        for name in names:
            setattr(self, name, getattr(self, name) + by)
            setattr(figures, name, getattr(figures, name) + by)

    def of_channel(self, channel: int) -> AudienceFigures:
        """The channel's figures (zeros when the slice held none of its addresses)."""
        return self.by_channel.get(channel) or AudienceFigures()


@dataclass(slots=True)
class SliceCounts:
    """What became of some of a slice's messages on one channel."""

    sent: int = 0
    failed: int = 0
    expired: int = 0
    cancelled: int = 0
    retries: int = 0
    capped: int = 0
    grace_period: int = 0
    quiet_hours_dropped: int = 0
    quiet_hours_delayed: int = 0


#: Outcomes by slice number and channel name.
OutcomeCounts = dict[tuple[int, str], SliceCounts]
