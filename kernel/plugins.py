"""The plugin manager: the only caller of pluggy, and the typed facade the rest of the kernel uses.

Channels come from the ``herald.channels`` entry-point group — Herald's built-in channels are declared
there in pyproject.toml just like a third-party package's. ``HERALD_CHANNELS`` (a setting) may narrow
the loaded channels to an allow-list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pluggy

from kernel import hookspecs
from kernel.channels import ChannelSender, ChannelSpec, Emulator, FeedbackEvent, WebhookRequest

ENTRY_POINT_GROUP = "herald.channels"
hookimpl = pluggy.HookimplMarker("herald")


class UnknownChannel(LookupError):
    """No loaded plugin declares a channel of that name."""


class ChannelManager:
    def __init__(self, plugins: Iterable[object] | None = None, *, load_entry_points: bool = True) -> None:
        """Load the entry-point plugins (unless told not to) plus any ``plugins`` given explicitly."""
        self._pm = pluggy.PluginManager("herald")
        self._pm.add_hookspecs(hookspecs)
        if load_entry_points:
            self._pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        for plugin in plugins or ():
            self._pm.register(plugin)
        self._channels = self._collect()

    def _collect(self) -> dict[str, ChannelSpec]:
        channels: dict[str, ChannelSpec] = {}
        owners: dict[str, str] = {}
        for impl in self._pm.hook.herald_channels.get_hookimpls():
            for spec in impl.function():
                if spec.name in channels:
                    raise RuntimeError(
                        f"channel {spec.name!r} declared by both {owners[spec.name]} and {impl.plugin_name}"
                    )
                channels[spec.name] = spec
                owners[spec.name] = impl.plugin_name
        return dict(sorted(channels.items()))

    def channels(self) -> list[ChannelSpec]:
        return list(self._channels.values())

    def channel(self, name: str) -> ChannelSpec:
        try:
            return self._channels[name]
        except KeyError:
            raise UnknownChannel(name) from None

    def validate_config(self, name: str, config: Mapping[str, Any]) -> Mapping[str, Any]:
        result = self._pm.hook.herald_validate_config(channel=self.channel(name), config=config)
        return config if result is None else result

    def sender(self, name: str, config: Mapping[str, Any], endpoint: str | None = None) -> ChannelSender:
        sender = self._pm.hook.herald_channel_sender(
            channel=self.channel(name), config=config, endpoint=endpoint
        )
        if sender is None:
            raise UnknownChannel(f"{name} (declared, but no plugin creates its sender)")
        return sender

    def parse_feedback(
        self, name: str, request: WebhookRequest, config: Mapping[str, Any]
    ) -> list[FeedbackEvent]:
        hook = self._pm.hook.herald_parse_feedback
        return hook(channel=self.channel(name), request=request, config=config) or []

    def emulator(self, name: str) -> Emulator:
        emulator = self._pm.hook.herald_channel_emulator(channel=self.channel(name))
        if emulator is None:
            raise UnknownChannel(f"{name} (declared, but its plugin has no emulator)")
        return emulator
