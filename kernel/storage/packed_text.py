"""A column of strings (or of JSON documents) sent to PostgreSQL as one text parameter, not as an array.

A write of a few hundred profiles binds a dozen arrays of strings and documents. asyncpg checks every
element of an array parameter against ``collections.abc`` (is it a nested array?) before encoding it, and
encodes a ``jsonb`` element by calling the connection's codec, a Python function, for each: most of what
the kernel spends handing a batch's rows to PostgreSQL. One string joined from the column costs one
``str.join``; PostgreSQL splits it back with ``string_to_array`` for what reading the array cost it.

The text starts with its delimiter and puts it before every value, so that no column is ambiguous (an
empty column is the empty text, a column of one empty string the delimiter alone). The delimiter is a
character that no value of the column holds: U+001F (unit separator) when none does, which a JSON document
never holds (JSON escapes control characters) nor a validated identifier, else the first character absent
from the values. The SQL side (:func:`unpacked`) reads it back from the text's first character.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import orjson

_DELIMITER = "\x1f"


def packed(values: Sequence[str]) -> str:
    """``values`` as one text for :func:`unpacked`."""
    text = _DELIMITER + _DELIMITER.join(values) if values else ""
    if text.count(_DELIMITER) == len(values):
        return text
    held = set("".join(values))
    # U+0000 cannot be in a PostgreSQL text; surrogates cannot be encoded.
    delimiter = next(
        character
        for character in map(chr, range(1, 0x110000))
        if character not in held and not "\ud800" <= character <= "\udfff"
    )
    return delimiter + delimiter.join(values)


def packed_json(documents: Iterable[object]) -> str:
    """The JSON documents ``documents``, each as the connection's ``jsonb`` codec writes it, as one text
    for :func:`unpacked` (then cast to ``jsonb[]``)."""
    return packed([orjson.dumps(document).decode() for document in documents])


def unpacked(parameter: str) -> str:
    """The SQL expression (a ``text[]``) of the column that the text parameter ``parameter`` (``$2``)
    packs."""
    return f"(string_to_array({parameter}::text, left({parameter}::text, 1)))[2:]"
