"""The pure-Python sender core: the reference behaviour that ``_core.pyx`` reproduces exactly.

Everything here is a pure function of its inputs and of the object's own state; time is always passed in
(seconds, as a double), so both cores give equal results for equal calls, down to the last bit of every
float (same operations, same order; the C build disables FMA contraction).

Addresses are read alike by both cores: trimmed of ASCII whitespace (space, tab, CR, LF, VT, FF), an
email's domain taken after its last ``@`` and lower-cased ASCII-only (internationalised domains are
expected in A-label form). An address that is not a str, or holds a lone surrogate (no protocol could
carry it; protobuf and PostgreSQL never produce one), is refused with the same error by both.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sender_ext._checks import (
    address_type_error,
    as_count,
    as_i32,
    as_rows,
    as_share,
    as_sizes,
    as_substitutions,
    as_time,
    as_u8,
    check_channels,
    check_rows,
    key_type_error,
)
from sender_ext._text import liquid_text
from sender_ext.types import AddressForm, Admission, Batches, BatchPlan, Pace, Rate, SlowDown, Substitution

_SPACE = " \t\n\r\x0b\x0c"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_MAILBOX = int(AddressForm.MAILBOX)
#: Slot counts are capped here (2**53, where doubles stop being exact integers) so C never overflows.
_MAX_SLOTS = 9007199254740992.0


def _lower(text: str) -> str:
    """ASCII-only lower-casing, as the compiled core does on UTF-8 bytes."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


def _trimmed(address: str) -> str:
    """The address without surrounding whitespace; refused unless it is a str that UTF-8 can encode."""
    if not isinstance(address, str):
        raise address_type_error(address)
    if not address.isascii():
        address.encode()  # a lone surrogate raises UnicodeEncodeError, as in the compiled core
    return address.strip(_SPACE)


def email_domain(address: str) -> str:
    """The lower-cased domain of an email address: after its last ``@``, empty when it has none."""
    _, at, domain = _trimmed(address).rpartition("@")
    return _lower(domain) if at else ""


class _Bucket:
    """One domain's token bucket and its slow-down state."""

    __slots__ = ("burst", "epoch", "last", "multiplier", "rate", "slowed_at", "tokens", "waiting")

    def __init__(self, limit: Rate) -> None:
        self.rate = limit.per_second
        self.burst = limit.burst
        # Empty and never refilled: the first refill (infinitely long ago) fills it to capacity.
        self.tokens = 0.0
        self.last = -math.inf
        self.multiplier = 1.0
        self.slowed_at = -math.inf
        self.epoch = -1
        self.waiting = 0


class Throttle:
    """Per-email-domain token buckets, scaled by this worker's share and slowed down on deferrals.

    A domain's effective rate is ``limit.per_second * share * multiplier`` and its capacity
    ``limit.burst * share * multiplier`` (never under one message). ``share`` is the worker's part of
    every domain's budget (1 / live workers, set from outside); ``multiplier`` is the slow-down state
    (see ``SlowDown``). Domains without a limit of their own get ``default``.
    """

    __slots__ = ("_buckets", "_default", "_epoch", "_policy", "_recovery", "_share")

    def __init__(
        self, default: Rate, limits: Mapping[str, Rate] | None = None, policy: SlowDown | None = None
    ) -> None:
        self._default = default
        self._policy = policy or SlowDown()
        self._recovery = 1.0 / self._policy.recovery_seconds
        self._share = 1.0
        self._epoch = 0
        self._buckets: dict[str, _Bucket] = {}
        for domain, limit in (limits or {}).items():
            self.set_limit(domain, limit)

    @property
    def share(self) -> float:
        return self._share

    @share.setter
    def share(self, value: float) -> None:
        self._share = as_share(value)

    def set_limit(self, domain: str, limit: Rate) -> None:
        """Give ``domain`` its own limit (a warm-up step, an operator change); its state is kept."""
        key = _lower(_trimmed(domain))
        bucket = self._buckets.get(key)
        if bucket is None:
            self._buckets[key] = _Bucket(limit)
        else:
            bucket.rate = limit.per_second
            bucket.burst = limit.burst

    def take_batch(
        self,
        kinds: bytes | Iterable[int],
        addresses: Iterable[str],
        now: float,
        live: bytes | bytearray | Iterable[int] | None = None,
    ) -> Admission:
        """Admit a batch's email rows in order; other kinds pass, rows with ``live[i] == 0`` are skipped."""
        rows = as_rows(addresses)
        count = len(rows)
        column = as_u8(kinds, count, "kinds")
        mask = None if live is None else as_u8(live, count, "live")
        now = as_time(now)
        domains = [
            email_domain(address) if kind == _MAILBOX else ""
            for kind, address in zip(column, rows, strict=True)
        ]
        self._epoch += 1
        go = bytearray(count)
        not_before = array("d", [now]) * count
        for row, kind in enumerate(column):
            if mask is not None and not mask[row]:
                continue
            if kind != _MAILBOX:
                go[row] = 1
                continue
            bucket = self._bucket(domains[row])
            if bucket.epoch != self._epoch:
                bucket.epoch = self._epoch
                bucket.waiting = 0
                self._refill(bucket, now)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                go[row] = 1
            else:
                bucket.waiting += 1
                rate = bucket.rate * self._share * bucket.multiplier
                not_before[row] = now + (bucket.waiting - bucket.tokens) / rate
        return Admission(go, not_before)

    def slow_down(self, domain: str, now: float) -> float:
        """The provider deferred a message to ``domain`` (throttling): slow it; returns the multiplier."""
        bucket = self._bucket(_lower(_trimmed(domain)))
        now = as_time(now)
        self._refill(bucket, now)
        policy = self._policy
        if now - bucket.slowed_at >= policy.cooldown_seconds:
            slower = bucket.multiplier * policy.factor
            bucket.multiplier = slower if slower > policy.floor else policy.floor
            bucket.slowed_at = now
            bucket.tokens = 0.0
        return bucket.multiplier

    def multiplier(self, domain: str, now: float) -> float:
        """``domain``'s current slow-down multiplier (1.0: full speed), without changing any state."""
        bucket = self._buckets.get(_lower(_trimmed(domain)))
        if bucket is None:
            return 1.0
        now = as_time(now)
        multiplier = bucket.multiplier + (now - bucket.last if now > bucket.last else 0.0) * self._recovery
        return multiplier if multiplier < 1.0 else 1.0

    def _bucket(self, domain: str) -> _Bucket:
        bucket = self._buckets.get(domain)
        if bucket is None:
            bucket = self._buckets[domain] = _Bucket(self._default)
        return bucket

    def _refill(self, bucket: _Bucket, now: float) -> None:
        """Add what the rate earned since the bucket's last refill, then let the multiplier recover."""
        elapsed = now - bucket.last if now > bucket.last else 0.0
        share = self._share
        multiplier = bucket.multiplier
        capacity = bucket.burst * share * multiplier
        if capacity < 1.0:
            capacity = 1.0
        tokens = bucket.tokens + elapsed * (bucket.rate * share * multiplier)
        bucket.tokens = tokens if tokens < capacity else capacity
        multiplier += elapsed * self._recovery
        bucket.multiplier = multiplier if multiplier < 1.0 else 1.0
        if now > bucket.last:
            bucket.last = now


class Pacer:
    """A wave of ``rate.count`` messages per ``rate.per`` seconds, spread evenly from ``start``.

    Slot ``k`` opens at ``start + k * rate.interval``. The caller says how many messages of the wave
    were sent (its count is durable, in the database; several workers may share it) and gets how many
    may go now. A wave that fell behind (paused, or its workers were down) catches up by at most
    ``rate.burst`` messages: the schedule is then moved forward (``start`` changes, so persist it) and
    stays evenly spread instead of releasing the backlog at once.
    """

    __slots__ = ("_burst", "_interval", "_start")

    def __init__(self, rate: Rate, start: float) -> None:
        self._interval = rate.interval
        self._burst = max(1, int(rate.burst))
        self._start = as_time(start, "start")

    @property
    def start(self) -> float:
        return self._start

    def plan(self, now: float, sent: int) -> Pace:
        """How many may go at ``now`` when ``sent`` messages of the wave went already."""
        now = as_time(now)
        sent = as_count(sent, "sent")
        offset = now - self._start
        if offset < 0.0:
            due = 0
        else:
            slots = offset / self._interval
            due = int(_MAX_SLOTS if slots >= _MAX_SLOTS else slots) + 1
        if due - sent > self._burst:
            self._start = now - (sent + self._burst - 1) * self._interval
            due = sent + self._burst
        count = due - sent if due > sent else 0
        return Pace(count, self._start + (sent + count) * self._interval)


def group_batches(
    channels: Iterable[int],
    max_sizes: Iterable[int],
    live: bytes | bytearray | Iterable[int] | None = None,
) -> Batches:
    """Cut the live rows into provider batches: one channel per batch, at most ``max_sizes[channel]``.

    ``channels[i]`` is row ``i``'s channel id, an index into ``max_sizes``.
    """
    column = as_i32(channels)
    sizes = as_sizes(max_sizes)
    mask = None if live is None else as_u8(live, len(column), "live")
    check_channels(column, sizes)
    return _grouped(column, sizes, mask)


def _grouped(column: array[int], sizes: array[int], mask: bytes | bytearray | None) -> Batches:
    groups: dict[int, list[int]] = {}
    for row, channel in enumerate(column):
        if mask is None or mask[row]:
            group = groups.get(channel)
            if group is None:
                groups[channel] = [row]
            else:
                group.append(row)
    batch_channels = array("i")
    offsets = array("q", [0])
    rows = array("q")
    for channel, members in groups.items():
        size = sizes[channel]
        for start in range(0, len(members), size):
            rows.extend(members[start : start + size])
            batch_channels.append(channel)
            offsets.append(len(rows))
    return Batches(batch_channels, offsets, rows)


def plan_batch(
    keys: Iterable[str],
    addresses: Iterable[str],
    channels: Iterable[int],
    forms: bytes | Iterable[int],
    live: bytes | bytearray | Iterable[int] | None,
    throttle: Throttle,
    now: float,
    max_sizes: Iterable[int],
) -> BatchPlan:
    """The per-recipient work of a claimed batch, rows in scan order (by channel, then folded address).

    ``keys[i]`` is row ``i``'s folded address (what the outbox dedups on), ``addresses[i]`` the address as
    sent, ``channels[i]`` its channel id (an index into ``max_sizes``), ``forms[i]`` its ``AddressForm``
    byte, ``live[i]`` 0 for a row the worker holds back (None: all live). The first row of each run of
    equal (channel, key) is unique, the others duplicates; the throttle then admits the unique live rows
    (``Throttle.take_batch``) and the admitted ones are cut into provider batches (``group_batches``).
    Everything is checked before the throttle spends anything.
    """
    if not isinstance(throttle, Throttle):
        raise TypeError(f"throttle: must be this core's Throttle, got {type(throttle).__name__}")
    rows = as_rows(addresses)
    count = len(rows)
    form = as_u8(forms, count, "forms")
    folded = as_rows(keys)
    check_rows(folded, count, "keys")
    column = as_i32(channels)
    check_rows(column, count, "channels")
    sizes = as_sizes(max_sizes)
    check_channels(column, sizes)
    mask = None if live is None else as_u8(live, count, "live")
    unique = bytearray(count)
    previous: tuple[int, str] | None = None
    for row, key in enumerate(folded):
        if not isinstance(key, str):
            raise key_type_error(row, key)
        current = (column[row], key)
        if current != previous:
            unique[row] = 1
            previous = current
    wanted = (
        unique
        if mask is None
        else bytes(mark if alive else 0 for mark, alive in zip(unique, mask, strict=True))
    )
    go, not_before = throttle.take_batch(form, rows, now, wanted)
    return BatchPlan(unique, go, not_before, _grouped(column, sizes, go))


def substitution_rows(columns: Iterable[Substitution], rows: Iterable[Sequence[Any]]) -> list[dict[str, str]]:
    """Each recipient's substituted values, ``{column.name: value}``, from its row (see ``Substitution``)."""
    checked = [(c.name, c.index, c.escape, c.render) for c in as_substitutions(columns)]
    result = []
    for row in as_rows(rows):
        values = {}
        for name, index, escape, render in checked:
            value = row[index] if index >= 0 else None
            values[name] = liquid_text(value, escape) if type(value) is str else render(row)
        result.append(values)
    return result
