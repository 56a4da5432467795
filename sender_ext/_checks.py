"""Inputs coerced and checked the same way for both cores, so they accept and refuse the same things.

Per-row kinds and masks are one byte a row; channel ids are int32; batch sizes int64. Anything else that
iterates over ints is copied once into that form (a list is fine; an array of another type is converted
element by element, never reinterpreted byte by byte). Addresses are a list or tuple of str (any other
iterable is listed once).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Sequence
from typing import Any

from sender_ext.types import Substitution


def as_rows(addresses: Iterable[str]) -> Sequence[str]:
    """The addresses as a list or tuple, like ``PySequence_Fast`` in the compiled core."""
    return addresses if isinstance(addresses, list | tuple) else list(addresses)


def as_u8(values: bytes | bytearray | Iterable[int], rows: int, name: str) -> bytes | bytearray:
    """One byte per row (bytes, bytearray, or ints 0-255), checked to have ``rows`` entries."""
    column = values if isinstance(values, bytes | bytearray) else bytes(list(values))
    if len(column) != rows:
        raise ValueError(f"{name}: {len(column)} entries for {rows} rows")
    return column


def as_i32(values: Iterable[int]) -> array[int]:
    """Channel ids as a C int array."""
    if isinstance(values, array) and values.typecode == "i":
        return values
    return array("i", values)


def as_sizes(values: Iterable[int]) -> array[int]:
    """Maximum batch sizes per channel id, as int64, each at least 1."""
    sizes = values if isinstance(values, array) and values.typecode == "q" else array("q", values)
    for channel, size in enumerate(sizes):
        if size < 1:
            raise ValueError(f"max_sizes[{channel}]: must be at least 1, got {size}")
    return sizes


def check_channels(channels: array[int], sizes: array[int]) -> None:
    """Every row's channel id has a maximum batch size."""
    for row, channel in enumerate(channels):
        if not 0 <= channel < len(sizes):
            raise ValueError(f"channels[{row}]: no max batch size for channel {channel}")


def check_rows(column: Sequence[Any], rows: int, name: str) -> None:
    """A per-row column (already a list, tuple or array) has ``rows`` entries."""
    if len(column) != rows:
        raise ValueError(f"{name}: {len(column)} entries for {rows} rows")


def as_substitutions(columns: Iterable[Substitution]) -> tuple[Substitution, ...]:
    """The substituted values as a tuple of ``Substitution`` (each checked when it was made)."""
    checked = tuple(columns)
    for number, column in enumerate(checked):
        if not isinstance(column, Substitution):
            raise TypeError(f"columns[{number}]: must be a Substitution, got {type(column).__name__}")
    return checked


def as_share(value: float) -> float:
    """The fraction of each domain's budget this worker may use: in (0, 1]."""
    share = float(value)
    if not 0.0 < share <= 1.0:
        raise ValueError(f"share: must be in (0, 1], got {value!r}")
    return share


def as_time(value: float, name: str = "now") -> float:
    """A finite time in seconds, as a double (an int would make the twin compute exactly, unlike C)."""
    time = float(value)
    if not math.isfinite(time):
        raise ValueError(f"{name}: must be finite, got {value!r}")
    return time


def as_kind(value: int) -> int:
    """An address kind code: one byte, as in a batch's kinds column."""
    if not 0 <= value <= 255:
        raise ValueError(f"kind: must be in [0, 255], got {value!r}")
    return int(value)


def as_count(value: int, name: str) -> int:
    """A message count: an int in [0, 2**62) (the compiled core keeps it in an int64)."""
    if not 0 <= value < 1 << 62:
        raise ValueError(f"{name}: must be in [0, 2**62), got {value!r}")
    return int(value)


def address_type_error(address: object) -> TypeError:
    """The one error both cores raise for an address that is not a str."""
    return TypeError(f"address must be a str, got {type(address).__name__}")


def key_type_error(row: int, key: object) -> TypeError:
    """The one error both cores raise for a folded address that is not a str."""
    return TypeError(f"keys[{row}]: must be a str, got {type(key).__name__}")
