"""The pure-Python sender core: the reference behaviour that ``_core.pyx`` reproduces exactly.

Everything here is a pure function of its inputs and of the object's own state; time is always passed in
(seconds, as a double), so both cores give equal results for equal calls, down to the last bit of every
float (same operations, same order; the C build disables FMA contraction).

Address normalisation, shared by both cores:

- every address is trimmed of ASCII whitespace (space, tab, CR, LF, VT, FF);
- by the address's form (``AddressForm``, which the kernel derives from its kind), never its kind's name;
- mailbox (email): the domain (after the last ``@``) is lower-cased and the local part kept as written
  (RFC 5321 lets a server treat it case-sensitively, and profiles store it so). Dedup compares the whole
  address case-folded, though: the big mailbox providers ignore local-part case, and two copies in one
  inbox is the very harm dedup exists to prevent. Gmail-style dot and ``+tag`` folding is not applied:
  it is one provider's rule, not a general one;
- caseless (APNs token): lower-cased (hexadecimal, case-insensitive);
- verbatim, any other form byte (FCM token, web-push endpoint, E.164 phone): as given.

Lower-casing is ASCII-only in both cores (internationalised domains are expected in A-label form). An
address that is not a str, or holds a lone surrogate (no protocol could carry it; protobuf and
PostgreSQL never produce one), is refused with the same error by both.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping

from sender_ext._checks import (
    address_type_error,
    as_count,
    as_i32,
    as_kind,
    as_rows,
    as_share,
    as_sizes,
    as_time,
    as_u8,
)
from sender_ext.types import AddressForm, Admission, Batches, Dedup, Pace, Rate, SlowDown

_SPACE = " \t\n\r\x0b\x0c"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_MAILBOX = int(AddressForm.MAILBOX)
_CASELESS = int(AddressForm.CASELESS)
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


def normalize(kind: int, address: str) -> str:
    """The address as it is sent (see the module docstring for the rules)."""
    return _normalized(as_kind(kind), address)


def _normalized(kind: int, address: str) -> str:
    text = _trimmed(address)
    if kind == _MAILBOX:
        local, at, domain = text.rpartition("@")
        return f"{local}@{_lower(domain)}" if at else text
    return _lower(text) if kind == _CASELESS else text


def normalize_batch(kinds: bytes | Iterable[int], addresses: Iterable[str]) -> list[str]:
    """``normalize`` over a batch; ``kinds`` has one byte per row."""
    rows = as_rows(addresses)
    column = as_u8(kinds, len(rows), "kinds")
    return [_normalized(kind, address) for kind, address in zip(column, rows, strict=True)]


def dedup_key(kind: int, address: str) -> str:
    """What dedup compares (with the kind): the normalised address, case-folded whole for an email."""
    return _key(as_kind(kind), address)


def _key(kind: int, address: str) -> str:
    text = _trimmed(address)
    return _lower(text) if kind in (_MAILBOX, _CASELESS) else text


def email_domain(address: str) -> str:
    """The lower-cased domain of an email address: after its last ``@``, empty when it has none."""
    _, at, domain = _trimmed(address).rpartition("@")
    return _lower(domain) if at else ""


class Deduper:
    """The addresses already met in one send, so each is sent once however many profiles reach it."""

    __slots__ = ("_rows", "_seen")

    def __init__(self, expected: int = 0) -> None:
        """``expected``: distinct addresses foreseen (the compiled core sizes its table for them)."""
        if expected < 0:
            raise ValueError(f"expected: must be >= 0, got {expected}")
        self._seen: dict[tuple[int, str], int] = {}
        self._rows = 0

    def __len__(self) -> int:
        """Distinct addresses met so far."""
        return len(self._seen)

    @property
    def rows(self) -> int:
        """Rows fed so far, over all batches: the next row's position."""
        return self._rows

    def feed(self, kinds: bytes | Iterable[int], addresses: Iterable[str]) -> Dedup:
        """Mark each row as first occurrence (send) or duplicate (with the kept row's position)."""
        rows = as_rows(addresses)
        column = as_u8(kinds, len(rows), "kinds")
        keys = [(kind, _key(kind, address)) for kind, address in zip(column, rows, strict=True)]
        send = bytearray(len(rows))
        first = array("q", [-1]) * len(rows)
        seen = self._seen
        for row, key in enumerate(keys, start=self._rows):
            kept = seen.setdefault(key, row)
            if kept == row:
                send[row - self._rows] = 1
            else:
                first[row - self._rows] = kept
        self._rows += len(rows)
        return Dedup(send, first)


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

    def take(self, domain: str, now: float) -> bool:
        """Spend one message of ``domain``'s budget at ``now`` if there is one."""
        bucket = self._bucket(_lower(_trimmed(domain)))
        self._refill(bucket, as_time(now))
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return True
        return False

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
    groups: dict[int, list[int]] = {}
    for row, channel in enumerate(column):
        if not 0 <= channel < len(sizes):
            raise ValueError(f"channels[{row}]: no max batch size for channel {channel}")
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
