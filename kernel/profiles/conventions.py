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
# BCP 47's common shapes: language (2-3 letters), optional script (4 letters), optional region (2 letters
# or 3 digits), optional variants (5-8 alphanumerics, or a digit and 3 alphanumerics).
_LANGUAGE_TAG = re.compile(
    r"[A-Za-z]{2,3}(-[A-Za-z]{4})?(-(?:[A-Za-z]{2}|[0-9]{3}))?(-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
)


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
        if value["t"] != "s" or not _LANGUAGE_TAG.fullmatch(value["v"]):
            raise InvalidArgument(
                "a BCP 47 language tag as a string (e.g. 'fr', 'pt-BR')", f'{field}["{LANGUAGE}"]'
            )
