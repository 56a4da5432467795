"""Sends stored before their definition had its own form (migration 0022) are converted when a kernel starts.

They kept the public CreateSendRequest, which SQL cannot parse. The kernel converts them before its workers
start, idempotently (only rows still without a spec), like the other upkeep at start. The request's
templates are read in today's contract, with the one change it went through: templates stored before
``ttl`` became a Duration hold ``uint32 ttl_seconds`` as an unknown field, carried over. What the request
does not hold as it was in force (the default pace applied at creation, the request id) comes from the
row's columns, which were written from the checked definition.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from google.protobuf.unknown_fields import UnknownFieldSet

from herald.v1 import messages_pb2 as pb
from kernel.delivery import slices
from kernel.delivery.send_definition import check_domains
from kernel.delivery.send_spec import VERSION, template_fields

log = logging.getLogger(__name__)

#: MessageTemplate's field number for ``uint32 ttl_seconds`` before it became ``Duration ttl``.
_LEGACY_TTL_SECONDS = 15


async def upgrade_send_specs(pool: asyncpg.Pool) -> int:
    """Give every send stored without a spec its spec; returns how many were converted."""
    rows = await slices.unconverted_sends(pool)
    for row in rows:
        await slices.store_spec(pool, row["project_id"], row["send_id"], _spec(row))
    if rows:
        log.info("%d sends stored before migration 0022 converted to their spec", len(rows))
    return len(rows)


def _spec(row: asyncpg.Record) -> dict[str, Any]:
    request = _request(row["definition"])
    pace_count = row["pace_count"]
    return {
        "version": VERSION,
        "name": row["name"],
        "purpose": row["purpose"],
        "channels": list(row["channels"]),
        "templates": {name: template_fields(template) for name, template in request.templates.items()},
        "rate": None if pace_count is None else {"count": pace_count, "per_seconds": row["pace_seconds"]},
        "include_domains": list(check_domains(request.domains.include, "domains.include")),
        "exclude_domains": list(check_domains(request.domains.exclude, "domains.exclude")),
        "require_opt_in": request.require_opt_in,
        "request_id": row["client_key"],
        "start_paused": request.start_paused,
        "channel_priority": request.channel_priority,
    }


def _request(stored: bytes) -> pb.CreateSendRequest:
    request = pb.CreateSendRequest.FromString(stored)
    for template in request.templates.values():
        for unknown in UnknownFieldSet(template):
            if unknown.field_number == _LEGACY_TTL_SECONDS and not template.HasField("ttl"):
                template.ttl.seconds = unknown.data
    return request
