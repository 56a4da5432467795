"""Outgoing webhooks: Herald's events posted, signed, to endpoints of the customer's own systems.

Publishers (profiles, feedback, transactional sends) call :func:`publish` inside the transaction of the
fact they report; that one call is all an automation needs to report ``automation.entered`` or
``automation.exited``. A publisher on a hot path first asks :func:`subscribed`, to build no event that
nobody follows. :mod:`kernel.outhooks.deliverer` posts the outbox in the background of every kernel.
"""

from kernel.outhooks.events import FEEDBACK_EVENTS, EventType, OutgoingEvent
from kernel.outhooks.outbox import (
    followed_sql,
    forget_profile_events,
    move_profile_events,
    publish,
    publish_to,
    subscribed,
)

__all__ = [
    "FEEDBACK_EVENTS",
    "EventType",
    "OutgoingEvent",
    "followed_sql",
    "forget_profile_events",
    "move_profile_events",
    "publish",
    "publish_to",
    "subscribed",
]
