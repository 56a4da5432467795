"""An UpsertProfileRequest, validated whole before anything is written.

Checking every field first means a bad request costs no database work and cannot leave half its changes
behind; what only the database can judge (suppression, per-profile limits) is checked by the writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from herald.v1 import common_pb2, profiles_pb2
from kernel.api.timestamps import to_datetime
from kernel.channels.kinds import LoadedKinds
from kernel.errors import InvalidArgument
from kernel.profiles.addresses import ParsedAddress, parse_address
from kernel.profiles.attributes import AttributeLimits, StoredValue, check_key, validate_attributes
from kernel.profiles.conventions import check_conventions
from kernel.profiles.refs import Ref, check_ref
from kernel.profiles.subscriptions import SubscriptionChange, parse_subscriptions

MAX_FUTURE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class ProfileChanges:
    ref: Ref
    observed_at: datetime
    # Stored form, each with "at" (epoch ms of observed_at).
    attributes: dict[str, StoredValue]
    remove_attributes: list[str]
    # With each address its index in the request, to name the field of an error found later.
    add_addresses: list[tuple[int, ParsedAddress]]
    remove_addresses: list[ParsedAddress]
    subscriptions: list[SubscriptionChange]


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def check_observed_at(request: profiles_pb2.UpsertProfileRequest, now: datetime) -> datetime:
    if not request.HasField("observed_at"):
        return now
    try:
        observed_at = to_datetime(request.observed_at)
    except (ValueError, OverflowError, OSError):
        raise InvalidArgument("out of range", "observed_at") from None
    if observed_at > now + MAX_FUTURE:
        raise InvalidArgument("more than a minute in the future", "observed_at")
    return observed_at


def _removed_keys(
    keys: Sequence[str], attributes: dict[str, StoredValue], limits: AttributeLimits
) -> list[str]:
    for index, key in enumerate(keys):
        field = f"remove_attributes[{index}]"
        check_key(key, limits, field)
        if key in attributes:
            raise InvalidArgument("also set in attributes", field)
    return list(dict.fromkeys(keys))


def _addresses(
    messages: Sequence[common_pb2.Address], field: str, kinds: LoadedKinds, *, need_details: bool
) -> list[tuple[int, ParsedAddress]]:
    parsed: list[tuple[int, ParsedAddress]] = []
    seen: dict[tuple[str, str], int] = {}
    for index, message in enumerate(messages):
        address = parse_address(message, f"{field}[{index}]", kinds, need_details=need_details)
        if address.key in seen:
            raise InvalidArgument(f"same address as {field}[{seen[address.key]}]", f"{field}[{index}].value")
        seen[address.key] = index
        parsed.append((index, address))
    return parsed


def parse_upsert(
    request: profiles_pb2.UpsertProfileRequest, limits: AttributeLimits, kinds: LoadedKinds, now: datetime
) -> ProfileChanges:
    """Every check that needs no database; errors name the field relative to the request."""
    ref = check_ref(request.profile)
    observed_at = check_observed_at(request, now)
    attributes = validate_attributes(request.attributes, limits)
    check_conventions(attributes)
    at = epoch_ms(observed_at)
    for stored in attributes.values():
        stored["at"] = at
    removed = _removed_keys(request.remove_attributes, attributes, limits)
    added = _addresses(request.add_addresses, "add_addresses", kinds, need_details=True)
    dropped = _addresses(request.remove_addresses, "remove_addresses", kinds, need_details=False)
    added_keys = {address.key: index for index, address in added}
    for index, address in dropped:
        if address.key in added_keys:
            raise InvalidArgument(
                f"also in add_addresses[{added_keys[address.key]}]", f"remove_addresses[{index}].value"
            )
    return ProfileChanges(
        ref=ref,
        observed_at=observed_at,
        attributes=attributes,
        remove_attributes=removed,
        add_addresses=added,
        remove_addresses=[address for _, address in dropped],
        subscriptions=parse_subscriptions(request.subscriptions, kinds.scopes),
    )
