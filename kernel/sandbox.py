"""Sandbox mode: every channel delivers to its loopback emulator, started inside this process.

It lets Herald run end to end on a fresh machine with no provider account: campaigns, automations and
transactional messages really go through the channel plugins and over their providers' protocols, and
end in the emulators. A project that has not configured a channel gets the emulator's own configuration.
A channel whose plugin ships no emulator (the hook is optional) is left out, with a warning: it gets no
configuration here, and a project that configures it sends to its real provider.

The loop closes too: an emulator whose provider reports by webhook (a
:class:`~kernel.channels.WebhookFeedbackEmulator`) posts the provider's reports (delivered, bounced,
opened, ... at the configured rates) to this kernel's webhook endpoint, for projects that have not
configured the channel, so timelines, suppressions and consent fill in as in production; each such
project's configuration is then its own (see :meth:`Sandbox.project_config`). A push emulator answers a
share of tokens as unregistered, and Herald prunes them.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kernel.channels import Emulator, FeedbackEmulator, FeedbackRates, SandboxProject, WebhookFeedbackEmulator
from kernel.plugins import ChannelManager, NoEmulator

log = logging.getLogger(__name__)

#: The update time of a sandbox configuration until the webhook endpoint is known: it never changes.
_STARTED = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Sandbox:
    channels: ChannelManager
    emulators: dict[str, Emulator] = field(default_factory=dict)
    #: channel → the emulator's base URL, for the senders.
    endpoints: dict[str, str] = field(default_factory=dict)
    #: channel → a validated configuration the emulator accepts.
    configs: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    #: This kernel's webhook endpoint (``http://host:port``), once it listens; "" until then.
    webhook_base: str = ""
    #: When the sandbox configurations last changed (the webhook endpoint became known).
    configured_at: datetime = _STARTED
    _project_configs: dict[tuple[uuid.UUID, str], Mapping[str, Any]] = field(default_factory=dict)
    _stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    @classmethod
    async def start(
        cls, channels: ChannelManager, rates: FeedbackRates, skip: frozenset[str] = frozenset()
    ) -> Sandbox:
        """Start the emulator of every channel except ``skip`` (channels pointed elsewhere explicitly) and
        those without one; those that can report back do so at ``rates``."""
        sandbox = cls(channels)
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
            if isinstance(emulator, FeedbackEmulator):
                emulator.report_feedback(rates)
            await sandbox._stack.enter_async_context(emulator)
            sandbox.emulators[spec.name] = emulator
            sandbox.endpoints[spec.name] = emulator.endpoint
            sandbox.configs[spec.name] = config
            log.info("sandbox: %s delivers to its emulator at %s", spec.name, emulator.endpoint)
        return sandbox

    def receive_webhooks_at(self, base_url: str) -> None:
        """The webhook endpoint listens at ``base_url``: from now on reports go there."""
        self.webhook_base = base_url
        self.configured_at = datetime.now(UTC)
        self._project_configs.clear()

    def project_config(self, project_id: uuid.UUID, channel: str, webhook_secret: str) -> Mapping[str, Any]:
        """The configuration of ``channel`` in a project that did not configure it: the emulator's, made
        the project's own by an emulator that reports back (``webhook_secret`` is the credential its
        reports carry), once the webhook endpoint is known."""
        emulator = self.emulators[channel]
        if not self.webhook_base or not isinstance(emulator, WebhookFeedbackEmulator):
            return self.configs[channel]
        key = (project_id, channel)
        if key not in self._project_configs:
            project = SandboxProject(
                str(project_id), f"{self.webhook_base}/webhooks/{project_id}/{channel}", webhook_secret
            )
            self._project_configs[key] = self.channels.validate_config(
                channel, emulator.project_config(project)
            )
        return self._project_configs[key]

    async def feedback_settled(self) -> None:
        """Return once every emulator posted the reports due so far."""
        for emulator in self.emulators.values():
            if isinstance(emulator, WebhookFeedbackEmulator):
                await emulator.feedback_settled()

    async def stop(self) -> None:
        await self._stack.aclose()
