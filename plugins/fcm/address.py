"""The ``fcm_token`` address kind: an FCM registration token."""

from __future__ import annotations

import re

from kernel.channels import AddressError, AddressKindSpec, Reach

MAX_FCM_TOKEN_LENGTH = 4096
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")


def normalise_fcm_token(value: str) -> str:
    if len(value) > MAX_FCM_TOKEN_LENGTH or not _VISIBLE_ASCII.fullmatch(value):
        raise AddressError(
            "value", f"an FCM token is 1 to {MAX_FCM_TOKEN_LENGTH} printable ASCII characters without spaces"
        )
    return value


FCM_TOKEN = AddressKindSpec(
    name="fcm_token",
    description="An FCM registration token: 1 to 4096 printable ASCII characters, case-sensitive",
    normalise=normalise_fcm_token,
    reach=Reach.ALL,
    exclusive=True,
)
