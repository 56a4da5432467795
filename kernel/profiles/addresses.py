"""Channel addresses: checked and normalised by their kind, and mapped to and from protobuf.

The kinds are the loaded plugins' (:mod:`kernel.channels.kinds`): the kernel holds no list of them. Each
kind's normaliser gives an address one canonical stored form, so that the same inbox, device or phone is
never held twice under two spellings and suppression hashes match however the address was written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from herald.v1 import common_pb2
from kernel.channels.kinds import EMPTY_DETAILS, AddressError, AddressKindSpec, LoadedKinds, no_details
from kernel.errors import InvalidArgument


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """A validated address in stored form, with what its kind says about holding it."""

    kind: str
    value: str
    #: The ``profile_addresses.details`` document (a web-push subscription's keys).
    details: Mapping[str, str] = field(default_factory=dict)
    #: The address reaches one device: adding it takes it from any other profile.
    exclusive: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.kind, self.value


def kind_of(kinds: LoadedKinds, name: str, field: str) -> AddressKindSpec:
    """The loaded kind called ``name``; INVALID_ARGUMENT on ``field`` listing the loaded ones otherwise."""
    kind = kinds.kind(name)
    if kind is None:
        known = ", ".join(kinds.kinds) or "none loaded"
        what = "set the address kind" if not name else f"unknown address kind {name!r}"
        raise InvalidArgument(f"{what} (the loaded channels reach: {known})", field)
    return kind


def normalise_value(kind: AddressKindSpec, value: str, field: str = "value") -> str:
    """The stored form of ``value`` for the address kind ``kind``."""
    if not value:
        raise InvalidArgument("must not be empty", field)
    try:
        return kind.normalise(value)
    except AddressError as error:
        raise InvalidArgument(error.reason, field) from None


def parse_address(
    message: common_pb2.Address, field: str, kinds: LoadedKinds, *, need_details: bool = True
) -> ParsedAddress:
    """Validate one protobuf address. ``need_details=False`` (removals): the value names the address, so
    its details are checked only when given."""
    return parse_address_parts(
        message.kind, message.value, message.details, field, kinds, need_details=need_details
    )


def parse_address_parts(
    kind_name: str,
    value: str,
    details: Mapping[str, str],
    field: str,
    kinds: LoadedKinds,
    *,
    need_details: bool = True,
) -> ParsedAddress:
    """:func:`parse_address` of the address its parts make (an import line's address is no message)."""
    kind = kind_of(kinds, kind_name, f"{field}.kind")
    stored = normalise_value(kind, value, f"{field}.value")
    normalised: Mapping[str, str] = EMPTY_DETAILS
    # A kind that takes no details has nothing to check in none (most addresses: no copy of the map).
    if details or (need_details and kind.normalise_details is not no_details):
        try:
            normalised = kind.normalise_details(dict(details))
        except AddressError as error:
            raise InvalidArgument(error.reason, f"{field}.{error.field}") from None
    return ParsedAddress(kind.name, stored, normalised, kind.exclusive)


def to_message(kind: str, value: str, details: Mapping[str, str]) -> common_pb2.Address:
    return common_pb2.Address(kind=kind, value=value, details=details)
