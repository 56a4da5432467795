"""The log line of every change an operator makes to projects and API keys: who (the admin key, from
which peer), what, on which project and key, never a key's secret (only its prefix, as ListApiKeys
shows it)."""

from __future__ import annotations

import logging
from typing import Any

import grpc

log = logging.getLogger(__name__)


def admin_change(action: str, context: grpc.aio.ServicerContext, **fields: Any) -> None:
    log.info(
        "admin: %s",
        action,
        extra={"event": action, "who": "admin key", "peer": context.peer(), **fields},
    )
