"""The ``email`` address kind, shared by the email channels (each declares this very spec)."""

from __future__ import annotations

import functools
import re

from kernel.channels import AddressError, AddressKindSpec

MAX_EMAIL_LENGTH = 254
MAX_LOCAL_PART_LENGTH = 64

# RFC 5322 atext; non-ASCII characters are allowed too (RFC 6531 internationalised mailboxes).
_LOCAL_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010ffff]+"
_LOCAL_PART = re.compile(rf"{_LOCAL_ATOM}(?:\.{_LOCAL_ATOM})*")
_DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def normalise_email(value: str) -> str:
    """Plausible syntax only (deliverability is the provider's verdict); the domain is lower-cased and
    internationalised domains are stored in their ASCII (punycode) form."""
    local, at, domain = value.rpartition("@")
    if not at or not local:
        raise AddressError("value", "not an email address (expected local@domain)")
    if len(local) > MAX_LOCAL_PART_LENGTH or not _LOCAL_PART.fullmatch(local) or not local.isprintable():
        raise AddressError("value", "the part before '@' is not a plausible mailbox name")
    email = f"{local}@{_ascii_domain(domain)}"
    if len(email) > MAX_EMAIL_LENGTH:
        raise AddressError("value", f"longer than {MAX_EMAIL_LENGTH} characters")
    return email


@functools.lru_cache(maxsize=4096)
def _ascii_domain(domain: str) -> str:
    """The stored form of a valid domain. A customer base's addresses share a few domains (the big mailbox
    providers'), and the IDNA codec costs more than the rest of an address's check: each is checked once."""
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise AddressError("value", "the domain is not a valid host name") from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels):
        raise AddressError("value", "the domain is not a valid host name (e.g. example.com)")
    if labels[-1].isdigit():
        raise AddressError("value", "the domain must end with a top-level domain, not a number")
    return ascii_domain


EMAIL = AddressKindSpec(
    name="email",
    description="An email address; its domain lower-cased, the mailbox name kept as written",
    normalise=normalise_email,
    # The big mailbox providers ignore the case of the mailbox name: one inbox, however it is spelt.
    has_domain=True,
    folds_case=True,
)
