"""The events a project's endpoints may subscribe to, by their dotted names (the JSON ``type``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from kernel.channels import FeedbackKind


class EventType(StrEnum):
    MESSAGE_SENT = "message.sent"
    MESSAGE_DELIVERED = "message.delivered"
    MESSAGE_BOUNCED = "message.bounced"
    MESSAGE_OPENED = "message.opened"
    MESSAGE_CLICKED = "message.clicked"
    MESSAGE_UNSUBSCRIBED = "message.unsubscribed"
    PROFILE_CREATED = "profile.created"
    PROFILE_MERGED = "profile.merged"
    PROFILE_ERASED = "profile.erased"
    AUTOMATION_ENTERED = "automation.entered"
    AUTOMATION_EXITED = "automation.exited"
    #: Not subscribed to: an automation's webhook step addresses it to one endpoint (:func:`publish_to`).
    AUTOMATION_WEBHOOK = "automation.webhook"


#: Provider feedback that endpoints can follow; the other kinds (deferrals, complaints, pruned tokens)
#: stay on the profile's timeline only.
FEEDBACK_EVENTS: dict[FeedbackKind, EventType] = {
    FeedbackKind.DELIVERED: EventType.MESSAGE_DELIVERED,
    FeedbackKind.BOUNCED: EventType.MESSAGE_BOUNCED,
    FeedbackKind.OPENED: EventType.MESSAGE_OPENED,
    FeedbackKind.CLICKED: EventType.MESSAGE_CLICKED,
    FeedbackKind.UNSUBSCRIBED: EventType.MESSAGE_UNSUBSCRIBED,
}


@dataclass(frozen=True, slots=True)
class OutgoingEvent:
    """One fact to report; ``data`` becomes the delivered event's ``data`` object as it is."""

    type: EventType
    data: dict[str, Any]
    #: The profile it is about: erasing the person drops it if it is not delivered yet.
    profile_id: uuid.UUID | None = None
    #: When the fact happened; None: now (the publishing transaction's time).
    occurred_at: datetime | None = None
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
