"""Address parsers and the built-in kinds' normalisers: accepted spellings, canonical forms, and no crash
on any input; kinds are the loaded plugins', an unknown one is refused naming the field."""

from __future__ import annotations

import base64

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from herald.v1 import common_pb2
from kernel.channels import AddressError
from kernel.errors import InvalidArgument
from kernel.plugins import ChannelManager
from kernel.profiles.addresses import normalise_value, parse_address
from plugins._email_address import normalise_email
from plugins.apns.address import normalise_apns_token
from plugins.fcm.address import normalise_fcm_token
from plugins.sms.address import normalise_phone
from plugins.webpush.address import normalise_endpoint
from tests.profile_support import AUTH, P256DH

LOADED = ChannelManager().address_kinds
KINDS = sorted(LOADED.kinds)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("Ann.Lee@Example.COM", "Ann.Lee@example.com"),
        ("o'brien+tag@mail.example.co.uk", "o'brien+tag@mail.example.co.uk"),
        ("josé@bücher.de", "josé@xn--bcher-kva.de"),
    ],
)
def test_email_keeps_the_mailbox_and_lowercases_the_domain(raw: str, stored: str) -> None:
    assert normalise_email(raw) == stored


@pytest.mark.parametrize(
    "raw",
    ["plainaddress", "@example.com", "ann@", "ann@localhost", "ann@example.123", "a b@example.com",
     "ann..lee@example.com", ".ann@example.com", "ann@-example.com", "ann@exa_mple.com",
     "a" * 65 + "@example.com", "ann@" + "a" * 250 + ".com"],
)  # fmt: skip
def test_implausible_emails_are_refused(raw: str) -> None:
    with pytest.raises(AddressError):
        normalise_email(raw)


def test_tokens_and_endpoints() -> None:
    assert normalise_apns_token("AB" * 32) == "ab" * 32
    for bad in ("ab" * 31, "g" * 64, "a" * 201):
        with pytest.raises(AddressError):
            normalise_apns_token(bad)
    assert normalise_fcm_token("fcm:APA91b-x_y") == "fcm:APA91b-x_y"
    for bad in ("has space", "x" * 4097, "tab\t"):
        with pytest.raises(AddressError):
            normalise_fcm_token(bad)
    url = "https://fcm.googleapis.com/fcm/send/abc:def"
    assert normalise_endpoint(url) == url
    for bad in (
        "http://push.example/x",
        "https://",
        "https://h:99999/x",
        "https://h/" + "a" * 2048,
        "ftp://x/y",
    ):
        with pytest.raises(AddressError):
            normalise_endpoint(bad)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("+33 6 12 34 56 78", "+33612345678"),
        ("+1 (650) 253-0000", "+16502530000"),
        ("+442079460000", "+442079460000"),
    ],
)
def test_phone_numbers_are_stored_in_e164(raw: str, stored: str) -> None:
    assert normalise_phone(raw) == stored


@pytest.mark.parametrize(
    "raw",
    ["0612345678", "+1234", "+999 1234567", "+33 6 12", "phone", "+3361234abcd", "+1 650 253 0000 ext. 12"],
)
def test_impossible_phone_numbers_are_refused(raw: str) -> None:
    with pytest.raises(AddressError):
        normalise_phone(raw)


def test_web_push_keys_are_checked_and_stored_unpadded_base64url() -> None:
    padded_standard = base64.b64encode(base64.urlsafe_b64decode(P256DH + "=")).decode()
    parsed = parse_address(
        common_pb2.Address(
            kind="web_push",
            value="https://push.example/s/1",
            details={"p256dh": padded_standard, "auth": AUTH + "=="},
        ),
        "add_addresses[0]",
        LOADED,
    )
    assert parsed.details == {"p256dh": P256DH, "auth": AUTH}


@pytest.mark.parametrize(
    ("address", "field"),
    [
        (common_pb2.Address(value="a@example.com"), "x.kind"),
        (common_pb2.Address(kind="email"), "x.value"),
        (common_pb2.Address(kind="telex", value="a@example.com"), "x.kind"),
        (common_pb2.Address(kind="Email", value="a@example.com"), "x.kind"),
        (
            common_pb2.Address(kind="web_push", value="https://p.example/1"),
            'x.details["p256dh"]',
        ),
        (
            common_pb2.Address(kind="web_push", value="https://p.example/1", details={"p256dh": P256DH}),
            'x.details["auth"]',
        ),
        (
            common_pb2.Address(kind="email", value="a@example.com", details={"p256dh": P256DH}),
            'x.details["p256dh"]',
        ),
        (
            common_pb2.Address(
                kind="web_push",
                value="https://p.example/1",
                details={"p256dh": "A" + P256DH[1:], "auth": AUTH},
            ),
            'x.details["p256dh"]',
        ),
        (
            common_pb2.Address(
                kind="web_push",
                value="https://p.example/1",
                details={"p256dh": base64.urlsafe_b64encode(b"\x04" + bytes(64)).decode(), "auth": AUTH},
            ),
            'x.details["p256dh"]',
        ),
        (
            common_pb2.Address(
                kind="web_push",
                value="https://p.example/1",
                details={"p256dh": P256DH, "auth": AUTH[:-2]},
            ),
            'x.details["auth"]',
        ),
    ],
    ids=[
        "no-kind",
        "empty",
        "unknown-kind",
        "kind-in-capitals",
        "keys-missing",
        "auth-missing",
        "keys-on-email",
        "compressed-key",
        "not-on-curve",
        "short-auth",
    ],
)
def test_parse_address_names_the_field(address: common_pb2.Address, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_address(address, "x", LOADED)
    assert caught.value.field == field


def test_a_removal_needs_no_web_push_keys() -> None:
    address = common_pb2.Address(kind="web_push", value="https://p.example/1")
    assert parse_address(address, "x", LOADED, need_details=False).value == "https://p.example/1"


# Property tests: every normaliser is a projection (normalising a stored form changes nothing) and
# arbitrary input is either accepted or refused with InvalidArgument — never another exception.


_junk = st.one_of(
    st.text(max_size=300),
    st.builds("{}@{}".format, st.text(max_size=70), st.text(max_size=70)),
    st.builds("+{}".format, st.text("0123456789 -().", max_size=25)),
    st.builds("https://{}".format, st.text(max_size=60)),
    st.text("0123456789abcdefABCDEF", min_size=60, max_size=210),
)


@settings(max_examples=500)
@given(kind=st.sampled_from(KINDS), raw=_junk)
def test_junk_never_crashes_and_normalising_is_idempotent(kind: str, raw: str) -> None:
    try:
        stored = normalise_value(LOADED.kinds[kind], raw)
    except InvalidArgument:
        return
    assert normalise_value(LOADED.kinds[kind], stored) == stored


_atom = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+_-", min_size=1, max_size=10
)
_label = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?", fullmatch=True)


@given(local=st.lists(_atom, min_size=1, max_size=3), labels=st.lists(_label, min_size=1, max_size=3),
       tld=st.from_regex(r"[A-Za-z]{2,6}", fullmatch=True))  # fmt: skip
def test_generated_emails_are_accepted_with_a_lowercase_domain(
    local: list[str], labels: list[str], tld: str
) -> None:
    mailbox = ".".join(local)
    domain = ".".join([*labels, tld])
    stored = normalise_email(f"{mailbox}@{domain}")
    assert stored == f"{mailbox}@{domain.lower()}"
    assert normalise_email(stored) == stored


@given(token=st.binary(min_size=32, max_size=100), upper=st.booleans())
def test_apns_tokens_round_trip_in_lower_case(token: bytes, upper: bool) -> None:
    text = token.hex().upper() if upper else token.hex()
    assert normalise_apns_token(text) == token.hex()


@given(
    region=st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)),
    kind=st.sampled_from([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]),
    style=st.sampled_from(
        [phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.INTERNATIONAL]
    ),
)
def test_valid_numbers_round_trip_to_e164(region: str, kind: int, style: int) -> None:
    example = phonenumbers.example_number_for_type(region, kind)
    if example is None:
        return
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    assert normalise_phone(phonenumbers.format_number(example, style)) == e164
    assert normalise_phone(e164) == e164


@given(raw=st.binary(max_size=80), size=st.sampled_from([16, 65]))
def test_web_push_key_decoder_never_crashes(raw: bytes, size: int) -> None:
    text = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    address = common_pb2.Address(
        kind="web_push",
        value="https://p.example/1",
        details={"p256dh": text if size == 65 else P256DH, "auth": text if size == 16 else AUTH},
    )
    try:
        parsed = parse_address(address, "x", LOADED)
    except InvalidArgument as error:
        assert error.field.startswith("x.details[")
        return
    assert base64.urlsafe_b64decode(parsed.details["auth"] + "==") == (
        raw if size == 16 else bytes(range(16))
    )
