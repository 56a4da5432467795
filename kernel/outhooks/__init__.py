"""Outgoing webhooks: Herald's events posted, signed, to endpoints of the customer's own systems.

Publishers (profiles, feedback, transactional sends, and automations later) use only :func:`subscribed`
and :func:`publish`, inside the transaction of the fact they report; :mod:`kernel.outhooks.deliverer`
posts the outbox in the background of every kernel.
"""

from kernel.outhooks.bus import forget_profile_events, move_profile_events, publish, subscribed
from kernel.outhooks.events import FEEDBACK_EVENTS, EventType, OutgoingEvent

__all__ = [
    "FEEDBACK_EVENTS",
    "EventType",
    "OutgoingEvent",
    "forget_profile_events",
    "move_profile_events",
    "publish",
    "subscribed",
]
