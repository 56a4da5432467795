"""The plugin manager: discovery, one owner per channel, and per-channel hooks asked of that owner only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from kernel.channels import AddressKindSpec, Capabilities, ChannelSpec
from kernel.plugins import ChannelManager, NoEmulator, UnknownChannel, hookimpl
from plugins.sms.address import PHONE


def spec(name: str) -> ChannelSpec:
    return ChannelSpec(name, "test", "sms", Capabilities("phone", 1, 160), {"key": "a key"})


class Declares:
    """A throwaway plugin declaring one channel and answering every per-channel hook with its own name."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.asked: list[str] = []

    @hookimpl
    def herald_address_kinds(self) -> list[AddressKindSpec]:
        return [PHONE]

    @hookimpl
    def herald_channels(self) -> list[ChannelSpec]:
        return [spec(self.name)]

    @hookimpl
    def herald_validate_config(self, channel: ChannelSpec, config: Mapping[str, Any]) -> Mapping[str, Any]:
        self.asked.append(channel.name)
        return {"validated_by": self.name}


def test_per_channel_hooks_reach_the_declaring_plugin_only() -> None:
    first, second = Declares("sms.first"), Declares("sms.second")
    manager = ChannelManager([first, second], load_entry_points=False)
    assert [c.name for c in manager.channels()] == ["sms.first", "sms.second"]
    assert manager.validate_config("sms.second", {}) == {"validated_by": "sms.second"}
    assert manager.validate_config("sms.first", {}) == {"validated_by": "sms.first"}
    assert (first.asked, second.asked) == (["sms.first"], ["sms.second"])


def test_a_channel_has_one_owner() -> None:
    with pytest.raises(RuntimeError, match="declared by both"):
        ChannelManager([Declares("sms.same"), Declares("sms.same")], load_entry_points=False)


class DeclaresKind:
    """A throwaway plugin declaring one address kind and no channel."""

    def __init__(self, kind: AddressKindSpec) -> None:
        self.kind = kind

    @hookimpl
    def herald_address_kinds(self) -> list[AddressKindSpec]:
        return [self.kind]


def test_kinds_shared_by_plugins_are_loaded_once_and_resolved_for_each_channel() -> None:
    manager = ChannelManager([Declares("sms.first"), DeclaresKind(PHONE)], load_entry_points=False)
    assert list(manager.address_kinds.kinds) == ["phone"]
    assert manager.address_kinds.scopes == {"sms"}
    assert manager.address_kind(manager.channel("sms.first")) is PHONE


def test_a_kind_declared_twice_differently_stops_the_start() -> None:
    other = AddressKindSpec("phone", "another phone", str.strip)
    with pytest.raises(RuntimeError, match="'phone' declared differently"):
        ChannelManager([Declares("sms.first"), DeclaresKind(other)], load_entry_points=False)


def test_a_channel_reaching_an_undeclared_kind_stops_the_start() -> None:
    class Orphan:
        @hookimpl
        def herald_channels(self) -> list[ChannelSpec]:
            return [ChannelSpec("chat.orphan", "test", "chat", Capabilities("chat_user", 1, 160))]

    with pytest.raises(RuntimeError, match="'chat_user', which no loaded plugin declares"):
        ChannelManager([Orphan()], load_entry_points=False)


def test_unknown_channels_and_missing_hooks_are_named() -> None:
    manager = ChannelManager([Declares("sms.first")], load_entry_points=False)
    with pytest.raises(UnknownChannel, match=r"sms\.nope"):
        manager.validate_config("sms.nope", {})
    with pytest.raises(UnknownChannel, match="no plugin creates its sender"):
        manager.sender("sms.first", {})
    with pytest.raises(NoEmulator, match=r"sms\.first: its plugin ships no emulator"):
        manager.emulator("sms.first")


def test_built_in_channels_load_through_entry_points_like_any_other() -> None:
    names = {c.name for c in ChannelManager().channels()}
    assert {"email.sparkpost", "email.smtp", "push.apns", "push.fcm", "webpush", "sms.twilio"} <= names
    assert "sms.webhook" in names  # the out-of-tree example package, installed beside Herald
