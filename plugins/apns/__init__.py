"""iOS/macOS push through APNs over HTTP/2 with token (JWT ES256) authentication.

The hook implementations of the ``push.apns`` channel; the work is done by :mod:`.sender` (the
HTTP/2 client, :mod:`.h2client`), :mod:`.payload`, :mod:`.token` and :mod:`.config`, and the
provider's loopback stand-in is :mod:`.emulator`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kernel.channels import AddressKindSpec, Capabilities, ChannelSpec
from kernel.plugins import hookimpl
from plugins.apns.address import APNS_TOKEN
from plugins.apns.config import FIELDS, ApnsConfig
from plugins.apns.payload import MAX_PAYLOAD_BYTES
from plugins.apns.sender import ApnsSender

if TYPE_CHECKING:
    from plugins.apns.emulator import ApnsEmulator

__all__ = ["SPEC", "ApnsConfig", "ApnsSender"]

SPEC = ChannelSpec(
    name="push.apns",
    description="Apple Push Notification service (HTTP/2, token auth): alert and background pushes.",
    consent_scope="push",
    capabilities=Capabilities(
        address_kind=APNS_TOKEN.name,
        # One HTTP/2 stream per push, all of a batch multiplexed on one connection.
        max_batch_size=1000,
        max_payload_bytes=MAX_PAYLOAD_BYTES,
        silent_push=True,
    ),
    config_fields=FIELDS,
    secret_config_fields=frozenset({"key_p8"}),
)


@hookimpl
def herald_address_kinds() -> list[AddressKindSpec]:
    return [APNS_TOKEN]


@hookimpl
def herald_channels() -> list[ChannelSpec]:
    return [SPEC]


@hookimpl
def herald_validate_config(config: Mapping[str, Any]) -> Mapping[str, Any]:
    return ApnsConfig.parse(config).as_mapping()


@hookimpl
def herald_channel_sender(config: Mapping[str, Any], endpoint: str | None) -> ApnsSender:
    return ApnsSender(ApnsConfig.parse(config), endpoint)


@hookimpl
def herald_channel_emulator() -> ApnsEmulator:
    # Imported here so that ``python -m plugins.apns.emulator`` does not import itself twice.
    from plugins.apns.emulator import ApnsEmulator

    return ApnsEmulator()
