"""The running sends a sender worker knows: each read once (:mod:`kernel.delivery.send_runtime`), dropped
when it stops running, and the channels paused in their projects and the marketing pressure rules of
their projects, refreshed on every poll."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import asyncpg

from kernel.channels.pauses import paused_channels
from kernel.delivery import slices
from kernel.delivery.send_runtime import SendRuntime, send_runtime
from kernel.delivery.suspicion import ConfigSuspicion
from kernel.engage.pressure.store import rules_of
from kernel.plugins import ChannelManager


class RunningSends:
    def __init__(self, pool: asyncpg.Pool, channels: ChannelManager, suspicion: ConfigSuspicion) -> None:
        self._pool = pool
        self._channels = channels
        self._suspicion = suspicion
        self._sends: dict[tuple[uuid.UUID, uuid.UUID], SendRuntime] = {}
        #: Sends whose definition does not read here (logged once, not read again).
        self._broken: set[tuple[uuid.UUID, uuid.UUID]] = set()

    def __iter__(self) -> Iterator[SendRuntime]:
        """The sends as of the last refresh (a copy: a refresh may come while the caller iterates)."""
        return iter(list(self._sends.values()))

    async def refresh(self) -> None:
        rows = await slices.running_sends(self._pool)
        running = {(row["project_id"], row["send_id"]): row for row in rows}
        for key in set(self._sends) - set(running):
            del self._sends[key]
            self._suspicion.drop_send(*key)
        for key, row in running.items():
            if key not in self._sends and key not in self._broken:
                runtime = send_runtime(row, self._channels)
                if runtime is None:
                    self._broken.add(key)
                else:
                    self._sends[key] = runtime
        await self._refresh_pauses()
        await self._refresh_pressure()

    async def _refresh_pauses(self) -> None:
        paused = await paused_channels(self._pool)
        for runtime in self._sends.values():
            now = frozenset(spec.name for spec in runtime.specs if (runtime.project_id, spec.name) in paused)
            for channel in now ^ runtime.paused:  # paused or lifted since: judge on fresh answers
                self._suspicion.forget(runtime.project_id, channel)
            runtime.paused = now

    async def _refresh_pressure(self) -> None:
        """Marketing sends take their project's rules as they stand now; transactional ones have none."""
        marketing = [runtime for runtime in self._sends.values() if runtime.definition.marketing]
        rules = await rules_of(self._pool, {runtime.project_id for runtime in marketing})
        for runtime in marketing:
            runtime.pressure = rules.get(runtime.project_id)
