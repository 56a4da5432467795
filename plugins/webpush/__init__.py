"""Browser push: VAPID (RFC 8292) and aes128gcm payload encryption (RFC 8291).

The hook implementations of the ``webpush`` channel; the work is done by :mod:`.sender`,
:mod:`.crypto`, :mod:`.vapid`, :mod:`.payload` (which documents the JSON the service worker
receives), :mod:`.keys` and :mod:`.config`, and the push service's loopback stand-in is
:mod:`.emulator`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kernel.channels import AddressKindSpec, Capabilities, ChannelSpec
from kernel.plugins import hookimpl
from plugins.webpush.address import WEB_PUSH
from plugins.webpush.config import FIELDS, WebPushConfig
from plugins.webpush.crypto import MAX_BODY_BYTES
from plugins.webpush.sender import WebPushSender

if TYPE_CHECKING:
    from plugins.webpush.emulator import WebPushEmulator

__all__ = ["SPEC", "WebPushConfig", "WebPushSender"]

SPEC = ChannelSpec(
    name="webpush",
    description="Web push to browsers (RFC 8030) with VAPID identification and aes128gcm encryption.",
    consent_scope="web_push",
    capabilities=Capabilities(
        address_kind=WEB_PUSH.name,
        # One HTTP request per subscription; a batch goes out concurrently.
        max_batch_size=500,
        # The encrypted record; the JSON payload itself may use 3993 bytes of it.
        max_payload_bytes=MAX_BODY_BYTES,
        # Browsers require every push to show a notification (userVisibleOnly).
        silent_push=False,
    ),
    config_fields=FIELDS,
    secret_config_fields=frozenset({"vapid_private_key"}),
)


@hookimpl
def herald_address_kinds() -> list[AddressKindSpec]:
    return [WEB_PUSH]


@hookimpl
def herald_channels() -> list[ChannelSpec]:
    return [SPEC]


@hookimpl
def herald_validate_config(config: Mapping[str, Any]) -> Mapping[str, Any]:
    return WebPushConfig.parse(config).as_mapping()


@hookimpl
def herald_channel_sender(config: Mapping[str, Any], endpoint: str | None) -> WebPushSender:
    return WebPushSender(WebPushConfig.parse(config), endpoint)


@hookimpl
def herald_channel_emulator() -> WebPushEmulator:
    # Imported here so that ``python -m plugins.webpush.emulator`` does not import itself twice.
    from plugins.webpush.emulator import WebPushEmulator

    return WebPushEmulator()
