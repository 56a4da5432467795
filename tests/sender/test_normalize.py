"""Address normalisation: what is sent, what dedup compares, and the domain the throttle counts."""

from __future__ import annotations

from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins._email_address import normalise_email
from sender_ext.types import AddressForm

EMAIL, APNS = AddressForm.MAILBOX, AddressForm.CASELESS
#: Verbatim forms, each with a code of its own (as a caller keeps kinds of one form apart in dedup).
FCM, WEB_PUSH, PHONE = 3, 4, 5


@pytest.mark.parametrize(
    ("kind", "address", "sent", "compared"),
    [
        (EMAIL, "  John.Doe+news@GMail.COM\t\n", "John.Doe+news@gmail.com", "john.doe+news@gmail.com"),
        (EMAIL, "john.doe@gmail.com", "john.doe@gmail.com", "john.doe@gmail.com"),
        (EMAIL, '"a@b"@Example.ORG', '"a@b"@example.org', '"a@b"@example.org'),  # the last @ splits
        (EMAIL, "No-At-Sign", "No-At-Sign", "no-at-sign"),
        (EMAIL, "Ünïcode@BÜCHER.de", "Ünïcode@bÜcher.de", "Ünïcode@bÜcher.de"),  # ASCII-only folding
        (APNS, " 0A1B2C3D ", "0a1b2c3d", "0a1b2c3d"),
        (FCM, " AbC:dEf ", "AbC:dEf", "AbC:dEf"),
        (
            WEB_PUSH,
            "https://Push.Example/Sub/AbC",
            "https://Push.Example/Sub/AbC",
            "https://Push.Example/Sub/AbC",
        ),
        (PHONE, "+33612345678 ", "+33612345678", "+33612345678"),
        (EMAIL, " \x0b\x0c ", "", ""),
    ],
)
def test_normal_forms(core: ModuleType, kind: int, address: str, sent: str, compared: str) -> None:
    assert core.normalize(kind, address) == sent
    assert core.dedup_key(kind, address) == compared
    assert core.normalize_batch(bytes([kind]), [address]) == [sent]


def test_gmail_dots_and_tags_are_not_folded(core: ModuleType) -> None:
    """Dot and +tag folding is Gmail's rule, not a general one: these are three addresses."""
    keys = {core.dedup_key(EMAIL, a) for a in ("j.doe@gmail.com", "jdoe@gmail.com", "jdoe+x@gmail.com")}
    assert len(keys) == 3


@pytest.mark.parametrize(
    ("address", "domain"),
    [
        ("a@GMail.com ", "gmail.com"),
        ("a@b@Example.org", "example.org"),
        ("nodomain", ""),
        ("trailing@", ""),
        ("x@BÜCHER.de", "bÜcher.de"),
    ],
)
def test_email_domain(core: ModuleType, address: str, domain: str) -> None:
    assert core.email_domain(address) == domain


def test_batch_keeps_order_and_mixes_kinds(core: ModuleType) -> None:
    addresses = ["A@B.C", " ABCDEF ", "+15550001111", "x@Y.z"]
    assert core.normalize_batch([EMAIL, APNS, PHONE, EMAIL], addresses) == [
        "A@b.c",
        "abcdef",
        "+15550001111",
        "x@y.z",
    ]
    assert core.normalize_batch(b"", []) == []


def test_bad_input_is_refused_alike(core: ModuleType) -> None:
    with pytest.raises(TypeError, match="address must be a str, got bytes"):
        core.normalize_batch(bytes([EMAIL, EMAIL]), ["a@b.c", b"x@y.z"])
    with pytest.raises(TypeError, match="address must be a str, got int"):
        core.dedup_key(PHONE, 5)
    with pytest.raises(ValueError, match="kinds: 1 entries for 2 rows"):
        core.normalize_batch(bytes([EMAIL]), ["a@b.c", "d@e.f"])
    with pytest.raises(ValueError, match="kind: must be in"):
        core.normalize(256, "a@b.c")
    with pytest.raises(UnicodeEncodeError, match="surrogates not allowed"):
        core.dedup_key(EMAIL, "a\ud800@x.com")  # no protocol can carry it
    with pytest.raises(ValueError, match="bytes must be in range"):
        core.normalize_batch([EMAIL, 300], ["a@b.c", "d@e.f"])


@given(address=st.emails())
def test_stored_emails_are_already_normal(core: ModuleType, address: str) -> None:
    """What kernel.profiles stores is a fixed point: the core never rewrites a stored address."""
    stored = normalise_email(address)
    assert core.normalize(EMAIL, stored) == stored
    assert core.email_domain(stored) == stored.rpartition("@")[2]


@given(kind=st.integers(0, 255), address=st.text())
def test_normalising_is_idempotent(core: ModuleType, kind: int, address: str) -> None:
    once = core.normalize(kind, address)
    assert core.normalize(kind, once) == once
    assert core.dedup_key(kind, once) == core.dedup_key(kind, address)
