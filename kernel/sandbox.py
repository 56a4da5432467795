"""Sandbox mode: every channel delivers to its loopback emulator, started inside this process.

It lets Herald run end to end on a fresh machine with no provider account: campaigns, automations and
transactional messages really go through the channel plugins and over their providers' protocols, and
end in the emulators. A project that has not configured a channel gets the emulator's own configuration.
A channel whose plugin ships no emulator (the hook is optional) is left out, with a warning: it gets no
configuration here, and a project that configures it sends to its real provider.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kernel.channels import Emulator
from kernel.plugins import ChannelManager, NoEmulator

log = logging.getLogger(__name__)


@dataclass
class Sandbox:
    emulators: dict[str, Emulator] = field(default_factory=dict)
    #: channel → the emulator's base URL, for the senders.
    endpoints: dict[str, str] = field(default_factory=dict)
    #: channel → a validated configuration the emulator accepts.
    configs: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    _stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    @classmethod
    async def start(cls, channels: ChannelManager, skip: frozenset[str] = frozenset()) -> Sandbox:
        """Start the emulator of every channel except ``skip`` (channels pointed elsewhere explicitly) and
        those without one."""
        sandbox = cls()
        for spec in channels.channels():
            if spec.name in skip:
                continue
            try:
                emulator = channels.emulator(spec.name)
            except NoEmulator:
                log.warning(
                    "sandbox: %s is left out, its plugin ships no emulator: it has no sandbox configuration,"
                    " and a project that configures it sends to its real provider",
                    spec.name,
                )
                continue
            config = channels.validate_config(spec.name, emulator.enter_sandbox())
            await sandbox._stack.enter_async_context(emulator)
            sandbox.emulators[spec.name] = emulator
            sandbox.endpoints[spec.name] = emulator.endpoint
            sandbox.configs[spec.name] = config
            log.info("sandbox: %s delivers to its emulator at %s", spec.name, emulator.endpoint)
        return sandbox

    async def stop(self) -> None:
        await self._stack.aclose()
