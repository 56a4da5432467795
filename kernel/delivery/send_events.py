"""The log lines of a bulk send's life: created, started, paused, resumed, cancelled, completed.

One INFO line per change, with the send's project and id as fields and, once it has any, its figures
(planned, sent, failed, ... and pending), so that an operator follows a send, and finds how it ended,
from the logs alone.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernel.delivery.slices import SendCounts

log = logging.getLogger(__name__)


def send_event(
    event: str,
    project_id: uuid.UUID,
    send_id: uuid.UUID,
    counts: SendCounts | None = None,
    **fields: Any,
) -> None:
    figures = {**counts.counters, "pending": counts.pending} if counts is not None else {}
    log.info(
        "send %s %s",
        send_id,
        event,
        extra={"event": f"send {event}", "project_id": project_id, "send_id": send_id, **figures, **fields},
    )
