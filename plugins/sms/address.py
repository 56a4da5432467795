"""The ``phone`` address kind: a number in E.164 form, for any channel that reaches phones."""

from __future__ import annotations

import phonenumbers

from kernel.channels import AddressError, AddressKindSpec

MAX_PHONE_INPUT_LENGTH = 64


def normalise_phone(value: str) -> str:
    """Any international spelling (``+33 6 12 34 56 78``) is accepted and stored as E.164."""
    if not value.startswith("+") or len(value) > MAX_PHONE_INPUT_LENGTH:
        raise AddressError("value", "a phone number must be in international form, starting with '+'")
    if any(character.isalpha() for character in value):
        # phonenumbers reads letters as keypad digits (vanity numbers: +33612342223 from +3361234abcd)
        # and drops extensions: either way a different number than the one written would be stored.
        raise AddressError("value", "a phone number has digits only (no letters, no extension)")
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise AddressError("value", "not a phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise AddressError("value", "not a possible phone number for its country code")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


PHONE = AddressKindSpec(
    name="phone",
    description="A phone number in E.164 form (+ and 8 to 15 digits), written in any international spelling",
    normalise=normalise_phone,
)
