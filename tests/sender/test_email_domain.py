"""The domain the throttle counts an email address under."""

from __future__ import annotations

from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins._email_address import normalise_email


@pytest.mark.parametrize(
    ("address", "domain"),
    [
        ("a@GMail.com ", "gmail.com"),
        ("a@b@Example.org", "example.org"),  # the last @ splits
        ("nodomain", ""),
        ("trailing@", ""),
        ("x@BÜCHER.de", "bÜcher.de"),  # ASCII-only folding
        ("  John.Doe+news@GMail.COM\t\n", "gmail.com"),
    ],
)
def test_email_domain(core: ModuleType, address: str, domain: str) -> None:
    assert core.email_domain(address) == domain


def test_bad_input_is_refused_alike(core: ModuleType) -> None:
    with pytest.raises(TypeError, match="address must be a str, got bytes"):
        core.email_domain(b"x@y.z")
    with pytest.raises(UnicodeEncodeError, match="surrogates not allowed"):
        core.email_domain("a\ud800@x.com")  # no protocol can carry it


@given(address=st.emails())
def test_stored_emails_keep_their_domain(core: ModuleType, address: str) -> None:
    """What kernel.profiles stores has its domain lower-cased already."""
    stored = normalise_email(address)
    assert core.email_domain(stored) == stored.rpartition("@")[2]
