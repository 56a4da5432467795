"""ListSends: a project's sends, newest first, filtered by state and creation time, in keyset pages."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from herald.v1 import messages_pb2 as pb
from kernel.api.paging import Page, page_of, parse_time_position, read_page, time_position
from kernel.api.timestamps import to_datetime
from kernel.channels.pauses import pauses_of
from kernel.delivery.channel_counts import channel_counts, per_send
from kernel.delivery.send_feedback import feedback_counts
from kernel.delivery.sends import STATES, to_message
from kernel.delivery.slices import send_counts, send_page
from kernel.errors import InvalidArgument

_STATE_NAMES = {number: name for name, number in STATES.items()}


async def list_sends(
    pool: asyncpg.Pool, project_id: uuid.UUID, request: pb.ListSendsRequest
) -> pb.ListSendsResponse:
    states = [_state(state, f"states[{index}]") for index, state in enumerate(request.states)]
    after = _instant(request, "created_after")
    before = _instant(request, "created_before")
    if after is not None and before is not None and before <= after:
        raise InvalidArgument("must be later than created_after", "created_before")
    page: Page[tuple[datetime, uuid.UUID]] = read_page(request, parse_time_position)
    async with pool.acquire() as conn:
        rows = await send_page(conn, project_id, page.size + 1, states, after, before, page.after)
        listed, token = page_of(request, rows, page.size, _position)
        channels = sorted({channel for row in listed for channel in row["channels"]})
        pauses = await pauses_of(conn, project_id, channels)
        ids = [row["send_id"] for row in listed]
        counts = await send_counts(conn, project_id, ids)
        by_channel = per_send(await channel_counts(conn, project_id, ids, hourly=False))
        feedback = await feedback_counts(conn, project_id, ids)
    sends = [
        to_message(
            row,
            counts[row["send_id"]],
            by_channel.get(row["send_id"], {}),
            feedback.get(row["send_id"], {}),
            [pause for pause in pauses if pause.channel in row["channels"]],
        )
        for row in listed
    ]
    return pb.ListSendsResponse(sends=sends, next_page_token=token)


def _position(row: asyncpg.Record) -> list[str]:
    return time_position(row["created_at"], row["send_id"])


def _state(state: int, field: str) -> str:
    if state not in _STATE_NAMES:
        raise InvalidArgument("not a send state", field)
    return _STATE_NAMES[state]


def _instant(request: pb.ListSendsRequest, field: str) -> datetime | None:
    if not request.HasField(field):
        return None
    try:
        return to_datetime(getattr(request, field))
    except ValueError:
        raise InvalidArgument("not a valid Timestamp", field) from None
