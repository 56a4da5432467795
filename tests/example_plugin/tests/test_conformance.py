"""This plugin passes Herald's channel conformance kit, against its own emulator."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kernel.conformance import ChannelConformance


class TestWebhookChannel(ChannelConformance):
    channel_name = "sms.webhook"

    def config(self, emulator: Any) -> Mapping[str, Any]:
        return {"url": emulator.endpoint, "token": emulator.token}

    def address(self, emulator: Any, index: int) -> tuple[str, Mapping[str, str]]:
        return f"+3361234{index:04d}", {}
