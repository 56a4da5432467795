"""Attributes with a meaning to Herald: a profile's ``timezone`` and ``language``.

``timezone`` (an IANA name, e.g. "Europe/Paris") places the recipient's "today" for segments and local-time
sends; a profile without one is in its project's timezone. ``language`` (a BCP 47 tag, e.g. "fr",
"pt-BR") picks a template's language. They are ordinary string attributes otherwise; a value that could
not serve is refused when written, rather than silently ignored when a send needs it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from kernel.errors import InvalidArgument
from kernel.profiles.attributes import StoredValue
from kernel.projects import check_timezone

TIMEZONE = "timezone"
LANGUAGE = "language"
# BCP 47's shape (RFC 5646, section 2.1): a 2-3 letter primary language (or 4-8 for a registered one),
# then subtags of 1 to 8 letters or digits. Tags compare without regard to case (section 2.1.1).
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*")


def check_conventions(attributes: Mapping[str, StoredValue], field: str = "attributes") -> None:
    """Refuse a ``timezone`` or ``language`` attribute that is not a string of its form."""
    if TIMEZONE in attributes:
        value = attributes[TIMEZONE]
        path = f'{field}["{TIMEZONE}"]'
        if value["t"] != "s":
            raise InvalidArgument("an IANA time zone name as a string (e.g. 'Europe/Paris')", path)
        check_timezone(value["v"], path)
    if LANGUAGE in attributes:
        value = attributes[LANGUAGE]
        path = f'{field}["{LANGUAGE}"]'
        if value["t"] != "s":
            raise InvalidArgument("a BCP 47 language tag as a string (e.g. 'fr', 'pt-BR')", path)
        check_language_tag(value["v"], path)


def check_language_tag(tag: str, field: str) -> str:
    """A BCP 47 tag as written (profiles' ``language``, templates' languages, a project's default); a
    malformed one is INVALID_ARGUMENT naming ``field``."""
    if not _LANGUAGE_TAG.fullmatch(tag):
        raise InvalidArgument(f"{tag!r} is not a BCP 47 language tag (e.g. 'fr' or 'pt-BR')", field)
    return tag
