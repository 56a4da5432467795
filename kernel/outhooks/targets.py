"""What an endpoint may be: where it points and what it follows, checked before anything is stored."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from yarl import URL

from kernel.errors import InvalidArgument
from kernel.outhooks.events import EventType
from kernel.text import check_no_control_characters

MAX_URL_LENGTH = 2048
MAX_DESCRIPTION_LENGTH = 200
#: Hosts that plain http may reach: this machine only, where nothing travels over a network.
_LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(value: str, field: str) -> str:
    """An absolute https URL; http only for a loopback host (events carry customer data: never in clear
    over a network)."""
    if not value:
        raise InvalidArgument("must not be empty", field)
    if len(value) > MAX_URL_LENGTH:
        raise InvalidArgument(f"at most {MAX_URL_LENGTH} characters", field)
    check_no_control_characters(value, field)
    try:
        url = URL(value)
    except ValueError:
        raise InvalidArgument("not a URL", field) from None
    if not url.is_absolute() or not url.host:
        raise InvalidArgument("must be an absolute URL with a host", field)
    if url.user or url.password:
        raise InvalidArgument("must not carry credentials (the calls are signed instead)", field)
    if url.scheme == "https":
        return value
    if url.scheme == "http" and is_loopback(url.host):
        return value
    if url.scheme == "http":
        raise InvalidArgument("must be https (plain http only for a loopback host)", field)
    raise InvalidArgument("must be an https URL", field)


def check_description(value: str, field: str) -> str:
    if len(value) > MAX_DESCRIPTION_LENGTH:
        raise InvalidArgument(f"at most {MAX_DESCRIPTION_LENGTH} characters", field)
    return check_no_control_characters(value, field)


def check_event_types(types: Iterable[EventType | None], field: str) -> list[EventType]:
    """At least one known type, no duplicates; ``None`` stands for an unknown or unspecified one."""
    checked: list[EventType] = []
    for index, event_type in enumerate(types):
        if event_type is None:
            raise InvalidArgument("not a known event type", f"{field}[{index}]")
        if event_type in checked:
            raise InvalidArgument(f"{event_type.value} is listed twice", f"{field}[{index}]")
        checked.append(event_type)
    if not checked:
        raise InvalidArgument("subscribe to at least one event type", field)
    return checked
