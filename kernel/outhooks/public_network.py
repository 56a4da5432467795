"""Outgoing webhook calls reach public addresses only, unless the operator allows private networks.

A project's key holder chooses its endpoints' URLs. Without this, a URL could make Herald call what runs
beside it (its PostgreSQL, the metrics port, a cloud's metadata service at 169.254.169.254) and read a part
of the answer in ListWebhookDeliveries. The address is checked where the socket is made, for every address
tried: a name that resolved to a public address when the endpoint was saved and to a private one later
(DNS rebinding) is refused too, and so is an address written as an IP literal.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any

#: What aiohttp gives a socket factory: (family, type, proto, canonical name, socket address).
AddressInfo = tuple[Any, Any, int, str, tuple[Any, ...]]


class PrivateAddressRefused(OSError):
    """The call's address is not a public one (refused before any byte was sent)."""


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global


def socket_factory(private_networks: bool) -> Callable[[AddressInfo], socket.socket]:
    """aiohttp's ``socket_factory``: a plain socket, for a public address or when private ones are
    allowed (``outhook_private_networks``)."""

    def make(info: AddressInfo) -> socket.socket:
        family, kind, proto, _, address = info
        if not private_networks and not is_public(address[0]):
            raise PrivateAddressRefused(
                f"{address[0]} is not a public address (set HERALD_OUTHOOK_PRIVATE_NETWORKS to call "
                "endpoints in private networks)"
            )
        return socket.socket(family, kind, proto)

    return make
