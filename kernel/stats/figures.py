"""A set of sends' figures as people read them: the audience, what became of it, what providers reported.

Built from delivery's counters (the slices' and their channels', :mod:`kernel.delivery.channel_counts`)
and the providers' reports (:mod:`kernel.delivery.send_feedback`); added together over sends, channels
and hours alike, so that any grouping (a campaign's occurrences, its variants) is a sum.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from kernel.channels import FeedbackKind
from kernel.delivery.send_feedback import FeedbackTally

#: Figure <- delivery counter.
_COUNTED = {
    "targeted": "planned",
    "deduplicated": "duplicates",
    "suppressed": "suppressed",
    "not_consented": "not_consented",
    "sent": "sent",
    "failed": "failed",
    "expired": "expired",
    "cancelled": "cancelled",
    "retries": "retries",
    "capped": "capped",
    "grace_period": "grace_period",
    "quiet_hours_dropped": "quiet_hours_dropped",
    "quiet_hours_delayed": "quiet_hours_delayed",
}
#: Figure <- feedback kind, counted as events.
_EVENTS = {
    "delivered": FeedbackKind.DELIVERED,
    "bounced": FeedbackKind.BOUNCED,
    "open_events": FeedbackKind.OPENED,
    "click_events": FeedbackKind.CLICKED,
    "unsubscribed": FeedbackKind.UNSUBSCRIBED,
    "complained": FeedbackKind.COMPLAINED,
}
#: Figure <- feedback kind, counted once per message.
_MESSAGES = {"opened": FeedbackKind.OPENED, "clicked": FeedbackKind.CLICKED}


def share(part: int, whole: int) -> float:
    """A rate: 0 when there is nothing to divide by."""
    return part / whole if whole else 0.0


@dataclass(slots=True)
class Figures:
    targeted: int = 0
    deduplicated: int = 0
    suppressed: int = 0
    not_consented: int = 0
    sent: int = 0
    failed: int = 0
    expired: int = 0
    cancelled: int = 0
    retries: int = 0
    delivered: int = 0
    bounced: int = 0
    opened: int = 0
    clicked: int = 0
    open_events: int = 0
    click_events: int = 0
    unsubscribed: int = 0
    complained: int = 0
    capped: int = 0
    grace_period: int = 0
    quiet_hours_dropped: int = 0
    quiet_hours_delayed: int = 0
    #: A campaign's (:mod:`kernel.stats.conversions`); a send alone has no goal.
    converted: int = 0

    def add(self, other: Figures) -> None:
        for figure in fields(self):
            setattr(self, figure.name, getattr(self, figure.name) + getattr(other, figure.name))

    def add_counters(self, counters: Mapping[str, int]) -> None:
        """Add delivery's counters (planned, sent, ...: :data:`kernel.delivery.slices.COUNTERS`)."""
        for figure, counter in _COUNTED.items():
            setattr(self, figure, getattr(self, figure) + counters[counter])

    def add_tally(self, tally: FeedbackTally) -> None:
        """Add one kind's provider reports."""
        for figure, kind in _EVENTS.items():
            if tally.kind == kind.value:
                setattr(self, figure, getattr(self, figure) + tally.events)
        for figure, kind in _MESSAGES.items():
            if tally.kind == kind.value:
                setattr(self, figure, getattr(self, figure) + tally.messages)

    @property
    def pending(self) -> int:
        """Targeted messages without a final outcome yet."""
        final = self.sent + self.failed + self.expired + self.cancelled + self.suppressed
        final += self.capped + self.grace_period + self.quiet_hours_dropped
        return self.targeted - final

    @property
    def delivery_rate(self) -> float:
        return share(self.delivered, self.sent)

    @property
    def open_rate(self) -> float:
        """Messages opened (once each) among those delivered, as email providers count it."""
        return share(self.opened, self.delivered)

    @property
    def click_rate(self) -> float:
        return share(self.clicked, self.delivered)

    @property
    def conversion_rate(self) -> float:
        return share(self.converted, self.sent)


FIGURES = tuple(figure.name for figure in fields(Figures))
