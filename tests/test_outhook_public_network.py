"""Outgoing webhook calls reach public addresses only unless private networks are allowed: the socket
factory the deliverer gives aiohttp, against a real loopback endpoint."""

from __future__ import annotations

import aiohttp
import pytest

from kernel.outhooks.public_network import PrivateAddressRefused, is_public, socket_factory
from tests.outhook_receiver import receiving


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:93.184.216.34", True),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public(address) is public


async def call(url: str, private_networks: bool) -> int:
    connector = aiohttp.TCPConnector(socket_factory=socket_factory(private_networks))
    async with aiohttp.ClientSession(connector=connector) as session, session.post(url, data=b"[]") as answer:
        return answer.status


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_a_loopback_endpoint_is_called_only_when_private_networks_are_allowed(host: str) -> None:
    async for receiver in receiving():
        url = receiver.url.replace("127.0.0.1", host)
        with pytest.raises(aiohttp.ClientConnectorError) as refused:
            await call(url, private_networks=False)
        assert isinstance(refused.value.os_error, PrivateAddressRefused)
        assert receiver.calls == []
        assert await call(url, private_networks=True) == 200
        assert len(receiver.calls) == 1
