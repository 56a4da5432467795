"""The log line of every change an operator makes to projects and API keys: who (the admin key, from
which peer), what, on which project and key, never a key's secret (only its prefix, as ListApiKeys
shows it)."""

from __future__ import annotations

import logging
from typing import Any

import grpc

from kernel.projects import ApiKey

log = logging.getLogger(__name__)


def admin_change(action: str, context: grpc.aio.ServicerContext, **fields: Any) -> None:
    log.info(
        "admin: %s",
        action,
        extra={"event": action, "who": "admin key", "peer": context.peer(), **fields},
    )


def key_fields(key: ApiKey) -> dict[str, Any]:
    """A key as its log lines name it: its project, id, name and prefix (never its secret)."""
    return {
        "project_id": key.project_id,
        "key_id": key.key_id,
        "key_name": key.name,
        "key_prefix": key.prefix,
    }
