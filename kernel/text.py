"""Checks on the free text callers name things with (projects, API keys, sends).

PostgreSQL's text cannot hold U+0000, and a control character in a name only ever hides or forges what an
operator reads (a terminal escape, a line break in a listing): both are refused up front, naming the
field, rather than failing in the database.
"""

from __future__ import annotations

import re

from kernel.errors import InvalidArgument

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def check_no_control_characters(text: str, field: str) -> str:
    if _CONTROL_CHARACTERS.search(text):
        raise InvalidArgument("must not contain control characters (such as NUL or line breaks)", field)
    return text
