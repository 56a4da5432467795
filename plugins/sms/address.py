"""The ``phone`` address kind: a number in E.164 form, for any channel that reaches phones."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers.phonenumberutil import (
    ValidationResult,
    _extract_country_code,
    _maybe_strip_national_prefix_carrier_code,
    _set_italian_leading_zeros_for_phone_number,
    _test_number_length,
)

from kernel.channels import AddressError, AddressKindSpec

MAX_PHONE_INPUT_LENGTH = 64
#: ``+`` and digits only, as many as a country code and a national number can hold: the spelling
#: imports and apps send, whose parse needs none of phonenumbers' clean-up of free text.
_PLUS_AND_DIGITS = re.compile(r"\+[0-9]{3,20}")
#: The lengths phonenumbers gives up on: a national number left shorter than the region's is kept whole.
_NO_STRIPPING = (
    ValidationResult.TOO_SHORT,
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    ValidationResult.INVALID_LENGTH,
)
_MIN_NATIONAL_LENGTH, _MAX_NATIONAL_LENGTH = 2, 17


def normalise_phone(value: str) -> str:
    """Any international spelling (``+33 6 12 34 56 78``) is accepted and stored as E.164."""
    if _PLUS_AND_DIGITS.fullmatch(value):
        e164 = _plus_and_digits_e164(value)
        if e164 is not None:
            return e164
    return _parsed_e164(value)


def _parsed_e164(value: str) -> str:
    """The number read by ``phonenumbers.parse``: every spelling, and every refusal's reason."""
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


def _plus_and_digits_e164(value: str) -> str | None:
    """The E.164 form of ``+`` and digits, by the steps ``phonenumbers.parse`` takes after cleaning free
    text up (which such a value needs none of; three quarters of its time), or None when any step would
    refuse it: :func:`_parsed_e164` then gives the reason. tests/test_addresses.py checks both agree."""
    country_code, national = _extract_country_code(value[1:])
    if not country_code:
        return None
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None or len(national) < _MIN_NATIONAL_LENGTH:
        return None
    _, stripped, _ = _maybe_strip_national_prefix_carrier_code(national, metadata)
    if _test_number_length(stripped, metadata) not in _NO_STRIPPING:
        national = stripped
    if not _MIN_NATIONAL_LENGTH <= len(national) <= _MAX_NATIONAL_LENGTH:
        return None
    number = phonenumbers.PhoneNumber(country_code=country_code)
    _set_italian_leading_zeros_for_phone_number(national, number)
    number.national_number = int(national)
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


PHONE = AddressKindSpec(
    name="phone",
    description="A phone number in E.164 form (+ and 8 to 15 digits), written in any international spelling",
    normalise=normalise_phone,
)
