"""Each project's configuration of each channel: validated by the channel's plugin, sealed at rest."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from cryptography.exceptions import InvalidTag

from kernel.channels import ChannelSpec, ConfigError
from kernel.channels.pauses import lift
from kernel.errors import FailedPrecondition, InvalidArgument, NotFound
from kernel.plugins import ChannelManager, UnknownChannel
from kernel.secret_box import SecretBox

log = logging.getLogger(__name__)

MASK = "********"
#: The update time of a sandbox default configuration: it never changes.
_SANDBOX_DEFAULT_TIME = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class StoredConfig:
    channel: str
    config: Mapping[str, Any]
    updated_at: datetime

    def masked(self, spec: ChannelSpec) -> dict[str, Any]:
        return {k: MASK if k in spec.secret_config_fields else v for k, v in self.config.items()}


def _context(project_id: uuid.UUID, channel: str) -> bytes:
    return f"{project_id}/{channel}".encode()


class ChannelConfigs:
    def __init__(self, pool: asyncpg.Pool, manager: ChannelManager, box: SecretBox) -> None:
        self._pool = pool
        self._manager = manager
        self._box = box
        #: Sandbox mode: channel → the emulator's configuration, used by projects that configured none.
        self.sandbox_defaults: dict[str, Mapping[str, Any]] = {}

    def spec(self, channel: str, field: str = "channel") -> ChannelSpec:
        try:
            return self._manager.channel(channel)
        except UnknownChannel:
            known = ", ".join(c.name for c in self._manager.channels()) or "none loaded"
            raise InvalidArgument(f"unknown channel {channel!r} (known: {known})", field) from None

    async def set(self, project_id: uuid.UUID, channel: str, config: Mapping[str, Any]) -> StoredConfig:
        self.spec(channel)
        try:
            normalised = dict(self._manager.validate_config(channel, config))
        except ConfigError as error:
            raise InvalidArgument(error.reason, f"config.{error.field}") from None
        sealed = self._box.seal(orjson.dumps(normalised), _context(project_id, channel))
        async with self._pool.acquire() as conn, conn.transaction():
            updated_at = await conn.fetchval(
                """INSERT INTO channel_configs (project_id, channel, sealed_config) VALUES ($1, $2, $3)
                   ON CONFLICT (project_id, channel)
                   DO UPDATE SET sealed_config = excluded.sealed_config, updated_at = now()
                   RETURNING updated_at""",
                project_id,
                channel,
                sealed,
            )
            # A new configuration deserves a new chance: a pause its predecessor earned no longer holds.
            if await lift(conn, project_id, [channel]):
                log.warning("channel %s of project %s: resumed by a new configuration", channel, project_id)
        return StoredConfig(channel, normalised, updated_at)

    async def get(self, project_id: uuid.UUID, channel: str) -> StoredConfig:
        self.spec(channel)
        row = await self._pool.fetchrow(
            "SELECT sealed_config, updated_at FROM channel_configs WHERE project_id = $1 AND channel = $2",
            project_id,
            channel,
        )
        if row is None:
            if channel in self.sandbox_defaults:
                return StoredConfig(channel, self.sandbox_defaults[channel], _SANDBOX_DEFAULT_TIME)
            raise NotFound(f"channel {channel!r} is not configured in this project", "channel")
        try:
            config = orjson.loads(self._box.open(row["sealed_config"], _context(project_id, channel)))
        except InvalidTag:
            raise FailedPrecondition(
                "the stored configuration cannot be decrypted: was credentials_key changed? Set it again",
                "channel",
            ) from None
        return StoredConfig(channel, config, row["updated_at"])

    async def delete(self, project_id: uuid.UUID, channel: str) -> bool:
        self.spec(channel)
        status = await self._pool.execute(
            "DELETE FROM channel_configs WHERE project_id = $1 AND channel = $2", project_id, channel
        )
        return status != "DELETE 0"
