"""The plugin manager: the only caller of pluggy, and the typed facade the rest of the kernel uses.

Channels come from the ``herald.channels`` entry-point group — Herald's built-in channels are declared
there in pyproject.toml just like a third-party package's. ``HERALD_CHANNELS`` (a setting) may narrow
the loaded channels to an allow-list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import pluggy

from kernel import hookspecs
from kernel.channels import (
    AddressKindSpec,
    ChannelSender,
    ChannelSpec,
    Emulator,
    FeedbackEvent,
    MessageContent,
    WebhookRequest,
)
from kernel.channels.kinds import KIND_NAME_PATTERN, LoadedKinds

ENTRY_POINT_GROUP = "herald.channels"
hookimpl = pluggy.HookimplMarker("herald")


class UnknownChannel(LookupError):
    """No loaded plugin declares a channel of that name."""


class NoEmulator(LookupError):
    """The channel's plugin ships no emulator: ``herald_channel_emulator`` is optional, so sandbox mode
    leaves the channel out rather than refusing to start."""


class ChannelManager:
    def __init__(self, plugins: Iterable[object] | None = None, *, load_entry_points: bool = True) -> None:
        """Load the entry-point plugins (unless told not to) plus any ``plugins`` given explicitly."""
        self._pm = pluggy.PluginManager("herald")
        self._pm.add_hookspecs(hookspecs)
        if load_entry_points:
            self._pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        for plugin in plugins or ():
            self._pm.register(plugin)
        self._channels: dict[str, ChannelSpec] = {}
        self._owners: dict[str, object] = {}
        self._collect()
        self.address_kinds = self._collect_kinds()
        self._callers: dict[tuple[str, str], pluggy.HookCaller] = {}

    def _collect(self) -> None:
        for impl in self._pm.hook.herald_channels.get_hookimpls():
            for spec in impl.function():
                if spec.name in self._channels:
                    owner = self._pm.get_name(self._owners[spec.name])
                    raise RuntimeError(
                        f"channel {spec.name!r} declared by both {owner} and {impl.plugin_name}"
                    )
                self._channels[spec.name] = spec
                self._owners[spec.name] = impl.plugin
        self._channels = dict(sorted(self._channels.items()))

    def _collect_kinds(self) -> LoadedKinds:
        """Every declared address kind, once; each channel's kind must be among them."""
        kinds: dict[str, AddressKindSpec] = {}
        declared_by: dict[str, str] = {}
        for impl in self._pm.hook.herald_address_kinds.get_hookimpls():
            for kind in impl.function():
                if kinds.setdefault(kind.name, kind) != kind:
                    raise RuntimeError(
                        f"address kind {kind.name!r} declared differently by {declared_by[kind.name]}"
                        f" and {impl.plugin_name}"
                    )
                declared_by.setdefault(kind.name, impl.plugin_name)
        for spec in self._channels.values():
            if spec.capabilities.address_kind not in kinds:
                raise RuntimeError(
                    f"channel {spec.name!r} reaches the address kind {spec.capabilities.address_kind!r},"
                    " which no loaded plugin declares (herald_address_kinds)"
                )
            if not re.fullmatch(KIND_NAME_PATTERN, spec.consent_scope):
                raise RuntimeError(f"channel {spec.name!r}: consent scope must match {KIND_NAME_PATTERN}")
        scopes = frozenset(spec.consent_scope for spec in self._channels.values())
        return LoadedKinds(dict(sorted(kinds.items())), scopes)

    def _owner_hook(self, hook: str, channel: str) -> pluggy.HookCaller:
        """``hook`` as implemented by the plugin that declared ``channel`` only: a plugin is never asked
        about another plugin's channels, so its hooks need no "is this mine?" guard."""
        key = (hook, channel)
        if key not in self._callers:
            self.channel(channel)  # UnknownChannel for a name no plugin declared
            owner = self._owners[channel]
            others = [plugin for plugin in self._pm.get_plugins() if plugin is not owner]
            self._callers[key] = self._pm.subset_hook_caller(hook, remove_plugins=others)
        return self._callers[key]

    def channels(self) -> list[ChannelSpec]:
        return list(self._channels.values())

    def address_kind(self, channel: ChannelSpec) -> AddressKindSpec:
        """The address kind ``channel`` reaches (checked to be declared when the plugins loaded)."""
        return self.address_kinds.kinds[channel.capabilities.address_kind]

    def channel(self, name: str) -> ChannelSpec:
        try:
            return self._channels[name]
        except KeyError:
            raise UnknownChannel(name) from None

    def validate_config(self, name: str, config: Mapping[str, Any]) -> Mapping[str, Any]:
        result = self._owner_hook("herald_validate_config", name)(channel=self.channel(name), config=config)
        return config if result is None else result

    def validate_template(self, name: str, template: MessageContent) -> None:
        """Raises :class:`~kernel.channels.ConfigError` naming the template field the channel refuses."""
        self._owner_hook("herald_validate_template", name)(channel=self.channel(name), template=template)

    def sender(self, name: str, config: Mapping[str, Any], endpoint: str | None = None) -> ChannelSender:
        hook = self._owner_hook("herald_channel_sender", name)
        sender = hook(channel=self.channel(name), config=config, endpoint=endpoint)
        if sender is None:
            raise UnknownChannel(f"{name} (declared, but no plugin creates its sender)")
        return sender

    def verify_webhook(
        self, name: str, request: WebhookRequest, config: Mapping[str, Any], secret: str
    ) -> bool:
        """Whether the call is genuine; False too when the channel's plugin does not verify webhooks."""
        hook = self._owner_hook("herald_verify_webhook", name)
        return hook(channel=self.channel(name), request=request, config=config, secret=secret) is True

    def webhook_credentials(self, name: str, config: Mapping[str, Any], secret: str) -> dict[str, str]:
        """What the operator enters at the provider; empty when the channel receives no webhooks."""
        hook = self._owner_hook("herald_webhook_credentials", name)
        return dict(hook(channel=self.channel(name), config=config, secret=secret) or {})

    def parse_feedback(
        self, name: str, request: WebhookRequest, config: Mapping[str, Any]
    ) -> list[FeedbackEvent]:
        hook = self._owner_hook("herald_parse_feedback", name)
        return hook(channel=self.channel(name), request=request, config=config) or []

    def emulator(self, name: str) -> Emulator:
        """A new emulator of the channel's provider; :class:`NoEmulator` if its plugin ships none."""
        emulator = self._owner_hook("herald_channel_emulator", name)(channel=self.channel(name))
        if emulator is None:
            raise NoEmulator(f"{name}: its plugin ships no emulator (herald_channel_emulator)")
        return emulator
