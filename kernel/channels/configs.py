"""Each project's configuration of each channel: validated by the channel's plugin, sealed at rest, with
the webhook credential Herald generated for it.

In sandbox mode a project that did not configure a channel uses the sandbox's configuration of it, and a
webhook credential derived from the credentials key (every kernel computes the same one, nothing is
stored): the emulator's reports to the project carry it, as a provider's carry a stored one."""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from cryptography.exceptions import InvalidTag

from kernel.channels import ChannelSpec, ConfigError
from kernel.channels.pauses import lift
from kernel.errors import FailedPrecondition, InvalidArgument, NotFound
from kernel.plugins import ChannelManager, UnknownChannel
from kernel.sandbox import Sandbox
from kernel.secret_box import SecretBox

log = logging.getLogger(__name__)

MASK = "********"


@dataclass(frozen=True, slots=True)
class StoredConfig:
    channel: str
    config: Mapping[str, Any]
    updated_at: datetime
    #: Generated when the channel is first configured in the project and kept while it stays configured,
    #: so the provider's webhook settings stay valid across changes; derived from the credentials key for
    #: a sandbox configuration.
    webhook_secret: str = ""

    def masked(self, spec: ChannelSpec) -> dict[str, Any]:
        return {k: MASK if k in spec.secret_config_fields else v for k, v in self.config.items()}


def _context(project_id: uuid.UUID, channel: str) -> bytes:
    return f"{project_id}/{channel}".encode()


def _webhook_context(project_id: uuid.UUID, channel: str) -> bytes:
    return f"{project_id}/{channel}/webhook".encode()


class ChannelConfigs:
    def __init__(self, pool: asyncpg.Pool, manager: ChannelManager, box: SecretBox) -> None:
        self._pool = pool
        self._manager = manager
        self._box = box
        #: Sandbox mode: the configurations of projects that configured none.
        self.sandbox: Sandbox | None = None

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
            row = await conn.fetchrow(
                """INSERT INTO channel_configs (project_id, channel, sealed_config, sealed_webhook_secret)
                   VALUES ($1, $2, $3, $4)
                   ON CONFLICT (project_id, channel)
                   DO UPDATE SET sealed_config = excluded.sealed_config, updated_at = now(),
                       sealed_webhook_secret = coalesce(
                           channel_configs.sealed_webhook_secret, excluded.sealed_webhook_secret)
                   RETURNING updated_at, sealed_webhook_secret""",
                project_id,
                channel,
                sealed,
                self._new_webhook_secret(project_id, channel),
            )
            # A new configuration deserves a new chance: a pause its predecessor earned no longer holds.
            if await lift(conn, project_id, [channel]):
                log.warning("channel %s of project %s: resumed by a new configuration", channel, project_id)
        try:
            secret = self._box.open(row["sealed_webhook_secret"], _webhook_context(project_id, channel))
        except InvalidTag:
            # Sealed under a credentials_key since replaced: the provider needs the new credential.
            secret = self._box.open(
                await self._replace_webhook_secret(project_id, channel), _webhook_context(project_id, channel)
            )
        return StoredConfig(channel, normalised, row["updated_at"], secret.decode())

    def _new_webhook_secret(self, project_id: uuid.UUID, channel: str) -> bytes:
        return self._box.seal(secrets.token_urlsafe(32).encode(), _webhook_context(project_id, channel))

    async def _add_webhook_secret(self, project_id: uuid.UUID, channel: str) -> bytes:
        """Give a configuration stored before webhooks were authenticated its credential (once, even
        when several kernels ask at the same time)."""
        return await self._pool.fetchval(
            """UPDATE channel_configs
               SET sealed_webhook_secret = coalesce(sealed_webhook_secret, $3)
               WHERE project_id = $1 AND channel = $2 RETURNING sealed_webhook_secret""",
            project_id,
            channel,
            self._new_webhook_secret(project_id, channel),
        )

    async def _replace_webhook_secret(self, project_id: uuid.UUID, channel: str) -> bytes:
        sealed = self._new_webhook_secret(project_id, channel)
        await self._pool.execute(
            """UPDATE channel_configs SET sealed_webhook_secret = $3
               WHERE project_id = $1 AND channel = $2""",
            project_id,
            channel,
            sealed,
        )
        return sealed

    async def get(self, project_id: uuid.UUID, channel: str) -> StoredConfig:
        self.spec(channel)
        row = await self._pool.fetchrow(
            """SELECT sealed_config, sealed_webhook_secret, updated_at FROM channel_configs
               WHERE project_id = $1 AND channel = $2""",
            project_id,
            channel,
        )
        if row is None:
            if self.sandbox is not None and channel in self.sandbox.configs:
                secret = self._box.derive(_webhook_context(project_id, channel))
                config = self.sandbox.project_config(project_id, channel, secret)
                return StoredConfig(channel, config, self.sandbox.configured_at, secret)
            raise NotFound(f"channel {channel!r} is not configured in this project", "channel")
        sealed_secret = row["sealed_webhook_secret"]
        if sealed_secret is None:
            sealed_secret = await self._add_webhook_secret(project_id, channel)
        try:
            config = orjson.loads(self._box.open(row["sealed_config"], _context(project_id, channel)))
            secret = self._box.open(sealed_secret, _webhook_context(project_id, channel)).decode()
        except InvalidTag:
            raise FailedPrecondition(
                "the stored configuration cannot be decrypted: was credentials_key changed? Set it again",
                "channel",
            ) from None
        return StoredConfig(channel, config, row["updated_at"], secret)

    async def delete(self, project_id: uuid.UUID, channel: str) -> bool:
        self.spec(channel)
        status = await self._pool.execute(
            "DELETE FROM channel_configs WHERE project_id = $1 AND channel = $2", project_id, channel
        )
        return status != "DELETE 0"
