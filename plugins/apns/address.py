"""The ``apns_token`` address kind: an APNs device token."""

from __future__ import annotations

import re

from kernel.channels import AddressError, AddressKindSpec, Reach

_HEX = re.compile(r"[0-9A-Fa-f]{64,200}")


def normalise_apns_token(value: str) -> str:
    if not _HEX.fullmatch(value):
        raise AddressError("value", "an APNs token is 64 to 200 hexadecimal characters")
    return value.lower()


APNS_TOKEN = AddressKindSpec(
    name="apns_token",
    description="An APNs device token: 64 to 200 hexadecimal characters, stored lower-cased",
    normalise=normalise_apns_token,
    folds_case=True,
    reach=Reach.ALL,
    exclusive=True,
)
