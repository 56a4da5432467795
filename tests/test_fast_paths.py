"""The import's fast paths give what the general paths give, refusals included, on random inputs: phone
numbers of '+' and digits against phonenumbers' parse, a datetime attribute's stored form and the CLI's
Timestamps against the datetime conversions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import phonenumbers
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kernel.api.timestamps import from_datetime, set_timestamp, to_datetime
from kernel.channels import AddressError
from kernel.profiles.attributes import format_datetime, stored_datetime
from plugins.sms.address import _parsed_e164, normalise_phone


def _outcome(function: object, *arguments: object) -> object:
    """The value, or the type and text of the error, so that refusals compare too."""
    try:
        return function(*arguments)  # type: ignore[operator]
    except (AddressError, ValueError, OverflowError) as error:
        return type(error), str(error)


COUNTRY_CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


@st.composite
def plus_and_digits(draw: st.DrawFn) -> str:
    """Mostly a known country code then digits (a national prefix, a leading zero, any length), else any
    digits: every branch of the parse (no country code, too short, too long, prefix stripped or kept)."""
    if draw(st.booleans()):
        return "+" + draw(st.text("0123456789", min_size=0, max_size=22))
    code = draw(st.sampled_from(COUNTRY_CODES))
    prefix = draw(st.sampled_from(["", "0", "00", "1", "8", "06"]))
    return f"+{code}{prefix}" + draw(st.text("0123456789", min_size=0, max_size=16))


@settings(max_examples=3000)
@given(value=plus_and_digits())
@example(value="+4407911123456")  # the UK's national prefix: stripped
@example(value="+390612345678")  # Italy's leading zero: kept
@example(value="+12")
@example(value="+0123456789")
def test_phone_fast_path_agrees_with_phonenumbers(value: str) -> None:
    assert _outcome(normalise_phone, value) == _outcome(_parsed_e164, value)


@pytest.mark.parametrize(
    "region", sorted(phonenumbers.SUPPORTED_REGIONS), ids=lambda region: f"region-{region}"
)
def test_phone_fast_path_agrees_on_each_regions_examples(region: str) -> None:
    for kind in phonenumbers.PhoneNumberType.values():
        number = phonenumbers.example_number_for_type(region, kind)
        if number is not None:
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            national = phonenumbers.national_significant_number(number)
            for value in (e164, f"+{number.country_code}0{national}", e164[:-1], e164 + "1"):
                assert _outcome(normalise_phone, value) == _outcome(_parsed_e164, value)


def _general_stored(timestamp: Timestamp) -> object:
    return format_datetime(to_datetime(timestamp))


@given(
    seconds=st.integers(min_value=-62_135_596_800 - 10, max_value=253_402_300_799 + 10),
    nanos=st.integers(min_value=-1, max_value=1_000_000_000),
)
@example(seconds=-30_610_224_000, nanos=0)  # 1000-01-01, the first isoformat writes as strftime does
@example(seconds=-30_610_224_001, nanos=999_999_999)
@example(seconds=253_402_300_799, nanos=999_999_999)
def test_stored_datetime_agrees_with_the_datetime_conversion(seconds: int, nanos: int) -> None:
    timestamp = Timestamp(seconds=seconds, nanos=nanos)
    assert _outcome(stored_datetime, timestamp) == _outcome(_general_stored, timestamp)


def _copied(value: datetime) -> Timestamp:
    target = Timestamp()
    target.CopyFrom(from_datetime(value))
    return target


def _set(value: datetime) -> Timestamp:
    target = Timestamp()
    set_timestamp(target, value)
    return target


@given(
    moment=st.datetimes(),
    offset=st.timedeltas(
        min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)
    ),
)
@example(moment=datetime(1, 1, 1), offset=timedelta(hours=1))
@example(moment=datetime(9999, 12, 31, 23, 30), offset=timedelta(hours=-1))
def test_set_timestamp_agrees_with_from_datetime(moment: datetime, offset: timedelta) -> None:
    aware = moment.replace(tzinfo=timezone(offset) if offset else UTC)
    assert _outcome(_set, aware) == _outcome(_copied, aware)
