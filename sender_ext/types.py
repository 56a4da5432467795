"""The vocabulary both sender cores share: address forms, rates, and the result tuples they return.

Results are columns (``bytearray`` masks, ``array`` of int64 or double) rather than one object per row,
so the compiled core fills them without creating a Python object per recipient, and the worker indexes
them or hands them to asyncpg as they are. Both cores return these very classes, so their results
compare equal with ``==``.
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, NamedTuple


class AddressForm(IntEnum):
    """How the cores read an address: the kernel derives it from what the address's kind declares
    (``kernel.channels.AddressKindSpec``), the cores know no kind by name.

    A batch carries one byte per row; a batch of one channel passes ``bytes([form]) * n``. The throttle
    takes ``MAILBOX`` rows by their domain and lets every other byte pass.
    """

    #: Compared as given (FCM tokens, push endpoints, E.164 numbers).
    VERBATIM = 0
    #: ``local@domain`` (email): compared case-folded whole, throttled per (lower-cased) domain.
    MAILBOX = 1
    #: Compared case-folded (APNs tokens).
    CASELESS = 2


_UNITS = {"s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0}
_UNITS |= {"min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0}
_UNITS |= {"h": 3600.0, "hour": 3600.0, "hours": 3600.0, "d": 86400.0, "day": 86400.0, "days": 86400.0}
_RATE_TEXT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*/\s*([a-z]+)\s*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Rate:
    """``count`` messages per ``per`` seconds, with bursts of up to ``burst`` messages.

    ``burst`` 0 means one second's worth (at least one message): a worker that asks at least once a
    second can then use the whole rate, and nothing bursts much beyond it. Both derived values are
    computed here once, in Python, so the two cores start from the very same doubles.
    """

    count: float
    per: float = 1.0
    burst: float = 0.0

    def __post_init__(self) -> None:
        for name in ("count", "per"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name}: must be a positive finite number, got {value!r}")
            object.__setattr__(self, name, float(value))
        if self.burst == 0:
            object.__setattr__(self, "burst", max(1.0, self.per_second))
        elif not (math.isfinite(self.burst) and self.burst >= 1):
            raise ValueError(f"burst: must be a finite number >= 1, got {self.burst!r}")

    @property
    def per_second(self) -> float:
        return self.count / self.per

    @property
    def interval(self) -> float:
        """Seconds between two evenly spread messages."""
        return self.per / self.count

    @classmethod
    def parse(cls, text: str, burst: float = 0.0) -> Rate:
        """``"500/min"``, ``"1000/hour"``, ``"20/s"``, ``"50000/day"`` (units may be plural)."""
        match = _RATE_TEXT.fullmatch(text)
        unit = _UNITS.get(match.group(2).lower()) if match else None
        if match is None or unit is None:
            raise ValueError(f"not a rate like '500/min' or '1000/hour': {text!r}")
        return cls(float(match.group(1)), unit, burst)


@dataclass(frozen=True, slots=True)
class SlowDown:
    """How a domain in trouble is slowed and how it recovers (AIMD, like TCP congestion control).

    Each deferral the provider reports (SMTP 421/4xx, HTTP 429: the channel decides what counts)
    multiplies the domain's rate by ``factor``, down to ``floor``, and empties its bucket; reports within
    ``cooldown_seconds`` of the last slow-down count as the same episode (a whole batch in flight is
    often refused at once). The multiplier then climbs back linearly, from 0 to 1 in
    ``recovery_seconds``.
    """

    factor: float = 0.5
    floor: float = 1 / 32
    recovery_seconds: float = 600.0
    cooldown_seconds: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < self.factor < 1:
            raise ValueError(f"factor: must be in (0, 1), got {self.factor!r}")
        if not 0 < self.floor <= 1:
            raise ValueError(f"floor: must be in (0, 1], got {self.floor!r}")
        if not (math.isfinite(self.recovery_seconds) and self.recovery_seconds > 0):
            raise ValueError(f"recovery_seconds: must be positive and finite, got {self.recovery_seconds!r}")
        if not (math.isfinite(self.cooldown_seconds) and self.cooldown_seconds >= 0):
            raise ValueError(f"cooldown_seconds: must be >= 0 and finite, got {self.cooldown_seconds!r}")


class Admission(NamedTuple):
    """The throttle's answer for a batch: ``go[i]`` is 1 for a row that may be sent now.

    ``not_before[i]`` is ``now`` for rows that go or were not asked about (masked out, not email), and the
    earliest time a deferred row could go, counting the deferred rows of its domain ahead of it.
    """

    go: bytearray
    not_before: array[float]


class Pace(NamedTuple):
    """How many messages of a wave may go now, and when the slot after them comes."""

    count: int
    next_at: float


class Batches(NamedTuple):
    """Provider batches: batch ``b`` is channel ``channels[b]`` with rows ``rows[offsets[b]:offsets[b+1]]``.

    Channels come in order of their first row, rows in their original order, each channel's rows cut into
    batches of at most its maximum size.
    """

    channels: array[int]
    offsets: array[int]
    rows: array[int]

    def batches(self) -> Iterator[tuple[int, array[int]]]:
        """Each batch as ``(channel, row indices)``."""
        for index, channel in enumerate(self.channels):
            yield channel, self.rows[self.offsets[index] : self.offsets[index + 1]]


class BatchPlan(NamedTuple):
    """What a worker does with the rows of a claimed batch (``plan_batch``), one entry per row.

    ``unique[i]`` is 0 for a row repeating the row before it (same channel, same folded address): a
    duplicate, counted and not sent. ``go`` and ``not_before`` are the throttle's ``Admission`` of the
    unique live rows (a row neither unique nor live has ``go`` 0 and ``not_before`` ``now``);
    ``batches`` groups the rows that go into provider batches.
    """

    unique: bytearray
    go: bytearray
    not_before: array[float]
    batches: Batches


@dataclass(frozen=True, slots=True)
class Substitution:
    """One value a substituting provider inserts for each recipient (``substitution_rows``).

    When ``index`` is a position in the recipient's row and the value there is a str (the usual case: a
    profile attribute printed as it is), the value is that str as Liquid prints it: HTML-escaped when
    ``escape`` (the html field), line breaks as python-liquid writes them. Otherwise (``index`` -1, or a
    value of another type) it is ``render(row)``, which the kernel builds with python-liquid. Checked
    here, once, so that the cores' per-batch calls need not.
    """

    name: str
    index: int
    escape: bool
    render: Callable[[Sequence[Any]], str]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"name: must be a str, got {type(self.name).__name__}")
        if type(self.index) is not int or self.index < -1:
            raise ValueError(f"index: must be an int >= -1, got {self.index!r}")
        if type(self.escape) is not bool:
            raise TypeError(f"escape: must be a bool, got {type(self.escape).__name__}")
        if not callable(self.render):
            raise TypeError("render: must be callable")
