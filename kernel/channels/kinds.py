"""Address kinds: what a channel plugin declares about the addresses its channels reach.

The kernel keeps no list of kinds. A plugin declares each kind it brings (``herald_address_kinds``) with
the rules the kernel applies to every address of that kind: how a value is checked and written in its
one stored form, what details it needs beside the value, how two spellings compare, whether it has a
domain to throttle by, and whether a message goes to every address of the kind a profile holds or to the
newest only. Several channels may reach one kind (both email channels reach ``email``); the kernel then
reads these properties, never the kind's name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

#: A kind's name: lower-case letters, digits and ``_``, starting with a letter (it is stored in the
#: database and written by API clients).
KIND_NAME_PATTERN = r"[a-z][a-z0-9_]{0,31}"


class AddressError(ValueError):
    """An address its kind refuses; ``field`` names the part, relative to the address: ``value`` or
    ``details["p256dh"]``. The kernel answers INVALID_ARGUMENT on that field of the request."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Reach(StrEnum):
    """Which of a profile's addresses of a kind a message goes to."""

    #: Every one: each reaches another device (tokens, push subscriptions).
    ALL = "all"
    #: The newest one only: one person, one inbox or phone however many were collected.
    NEWEST = "newest"


EMPTY_DETAILS: Mapping[str, str] = MappingProxyType({})


def no_details(details: Mapping[str, str]) -> Mapping[str, str]:
    """The details rule of a kind that takes none: any detail is refused."""
    for key in details:
        raise AddressError(f'details["{key}"]', "this address kind takes no details")
    return EMPTY_DETAILS


@dataclass(frozen=True, slots=True)
class AddressKindSpec:
    #: The kind's name, as API clients write it (``Address.kind``) and the database stores it.
    name: str
    #: One line for humans: what the value is and how it is written.
    description: str
    #: Checks a value and returns its stored form; raises :class:`AddressError` naming ``value``. Must be
    #: idempotent (its own output returns unchanged): stored addresses are compared in that form.
    normalise: Callable[[str], str]
    #: Checks the details an address of this kind carries and returns them as stored; raises
    #: :class:`AddressError` naming the detail. The default refuses any detail. An address removed from
    #: a profile is named by its value alone: its details are then checked only when given.
    normalise_details: Callable[[Mapping[str, str]], Mapping[str, str]] = no_details
    #: An email-like ``local@domain``: compared case-folded whole, sent with its domain lower-cased, and
    #: throttled per domain (``HERALD_DOMAIN_LIMITS``).
    has_domain: bool = False
    #: Two spellings differing only by ASCII case are the same address (compared case-folded).
    folds_case: bool = False
    #: Which of a profile's addresses of the kind a message goes to.
    reach: Reach = Reach.NEWEST
    #: An address reaches one device, so it belongs to one profile: adding it to a profile takes it from
    #: any other profile of the project (the one who registered it last holds the device).
    exclusive: bool = False

    def __post_init__(self) -> None:
        if not re.fullmatch(KIND_NAME_PATTERN, self.name):
            raise ValueError(f"address kind name {self.name!r}: must match {KIND_NAME_PATTERN}")

    @property
    def carries_details(self) -> bool:
        """Its addresses hold details a sender needs (read with the claimed messages)."""
        return self.normalise_details is not no_details


@dataclass(frozen=True, slots=True)
class LoadedKinds:
    """The address kinds and consent scopes of the loaded plugins: what addresses and subscriptions given
    to the API are checked against."""

    kinds: Mapping[str, AddressKindSpec]
    #: The consent scopes of the loaded channels.
    scopes: frozenset[str]

    def kind(self, name: str) -> AddressKindSpec | None:
        return self.kinds.get(name)
