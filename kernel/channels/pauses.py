"""Channels paused in a project because a send's answers suggested a wrong configuration.

The one module with statements on ``channel_pauses``. A sender worker pauses a channel when a send sees
mostly answers that also mean a wrong configuration (``FailureReason.CONFIG_SUSPECT``, see
:mod:`kernel.delivery.suspicion`); every worker reads the pauses with the running sends and sends
nothing on a paused channel; GetSend shows them with their reason. A pause is lifted by setting the
channel's configuration again (a new configuration deserves a new chance) or by ResumeSend of a send on
the channel (the operator judged that the answers are not a configuration error).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True, slots=True)
class ChannelPause:
    channel: str
    #: Why, for humans: the counts and the provider's words.
    reason: str
    #: The send whose answers tripped the pause.
    send_id: uuid.UUID
    paused_at: datetime


async def pause(
    conn: asyncpg.Connection, project_id: uuid.UUID, channel: str, reason: str, send_id: uuid.UUID
) -> bool:
    """Pause ``channel`` in the project; False if it was paused already (the first reason stays)."""
    made = await conn.fetchval(
        """INSERT INTO channel_pauses (project_id, channel, reason, send_id) VALUES ($1, $2, $3, $4)
           ON CONFLICT (project_id, channel) DO NOTHING RETURNING true""",
        project_id,
        channel,
        reason,
        send_id,
    )
    return bool(made)


async def lift(
    conn: asyncpg.Connection | asyncpg.Pool, project_id: uuid.UUID, channels: Sequence[str]
) -> list[str]:
    """Lift the pauses of these channels in the project; returns the channels that were paused."""
    rows = await conn.fetch(
        "DELETE FROM channel_pauses WHERE project_id = $1 AND channel = any($2::text[]) RETURNING channel",
        project_id,
        list(channels),
    )
    return [row["channel"] for row in rows]


async def pauses_of(
    conn: asyncpg.Connection | asyncpg.Pool, project_id: uuid.UUID, channels: Sequence[str]
) -> list[ChannelPause]:
    """The pauses of these channels in the project, in channel order."""
    rows = await conn.fetch(
        """SELECT channel, reason, send_id, paused_at FROM channel_pauses
           WHERE project_id = $1 AND channel = any($2::text[]) ORDER BY channel""",
        project_id,
        list(channels),
    )
    return [ChannelPause(row["channel"], row["reason"], row["send_id"], row["paused_at"]) for row in rows]


async def paused_channels(conn: asyncpg.Connection | asyncpg.Pool) -> frozenset[tuple[uuid.UUID, str]]:
    """Every paused (project, channel): what the workers honour (a handful of rows, read often)."""
    rows = await conn.fetch("SELECT project_id, channel FROM channel_pauses")
    return frozenset((row["project_id"], row["channel"]) for row in rows)
