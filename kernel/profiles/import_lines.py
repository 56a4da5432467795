"""A line of a JSONL import file, read by the server: from the line's bytes to its profile changes.

A line means the UpsertProfileRequest ``herald import`` makes of it
(:func:`kernel.import_rows.parse_json_line`), validated as UpsertProfile validates it
(:func:`kernel.profiles.changes.parse_upsert`); that *general path* builds protobuf messages only to read
them back, so the lines an import is made of take the *direct path* (:mod:`kernel.profiles._line_direct`):
from the parsed JSON to the changes, through the same checks and normalisers. Any other line, and any line
a check refuses, takes the general path, which decides it and names a rejected line's field as the file
names it (its keys).

The direct path is compiled by Cython when it can be (``_line_direct_c``, built from the very same
source), like the sender core: ``HERALD_NO_EXTENSIONS=1`` or a missing extension runs the source as it is.
tests/test_import_lines.py checks, for both, that the paths give the same changes on random lines.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal

from kernel.channels.kinds import LoadedKinds
from kernel.errors import InvalidArgument
from kernel.import_rows import Origins, RowError, parse_json_line
from kernel.profiles import _line_direct
from kernel.profiles.attributes import AttributeLimits
from kernel.profiles.changes import ProfileChanges, parse_upsert
from sender_ext.core import compiled_or_twin

#: ``(line, limits, kinds, now)`` -> the line's changes, or None when the general path must decide.
DirectPath = Callable[[bytes, AttributeLimits, LoadedKinds, datetime], ProfileChanges | None]

_impl = compiled_or_twin("kernel.profiles._line_direct_c", _line_direct, "import lines' direct path")

#: Which direct path runs: "cython" or "python".
IMPLEMENTATION: Literal["cython", "python"] = "python" if _impl is _line_direct else "cython"
DIRECT: DirectPath = _impl.direct_changes


def line_changes(
    line: bytes,
    limits: AttributeLimits,
    kinds: LoadedKinds,
    now: datetime,
    direct: DirectPath = DIRECT,
) -> ProfileChanges:
    """The changes of one JSONL line, as UpsertProfile would store the request ``herald import`` makes of
    it; HeraldError naming the field the file's way when the line is refused."""
    changes = direct(line, limits, kinds, now)
    return changes if changes is not None else general_line_changes(line, limits, kinds, now)


def general_line_changes(
    line: bytes, limits: AttributeLimits, kinds: LoadedKinds, now: datetime
) -> ProfileChanges:
    """:func:`line_changes` through the request ``herald import`` makes of the line."""
    try:
        request = parse_json_line(line)
    except RowError as error:
        raise InvalidArgument(error.reason, error.field) from None
    try:
        return parse_upsert(request, limits, kinds, now)
    except InvalidArgument as error:
        raise InvalidArgument(error.reason, line_field(line, error.field)) from None


def line_field(line: bytes, request_field: str) -> str:
    """The file's name (a key path of the line) of a field of the request made of the line."""
    if not request_field:
        return request_field
    origins = Origins()
    parse_json_line(line, origins)
    return origins.name(request_field)
