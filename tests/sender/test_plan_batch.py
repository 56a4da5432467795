"""A claimed batch's plan: adjacent duplicates of the ordered scan dropped, the unique live rows
throttled by email domain, the admitted ones cut into provider batches."""

from __future__ import annotations

from array import array
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sender_ext.types import AddressForm, Batches, BatchPlan, Rate

EMAIL, PUSH = AddressForm.MAILBOX, AddressForm.VERBATIM
NOW = 1_000.0


def test_duplicates_are_dropped_then_domains_throttled_then_batched(core: ModuleType) -> None:
    throttle = core.Throttle(Rate(100), {"slow.org": Rate(1)})
    keys = ["a@slow.org", "a@slow.org", "b@slow.org", "c@x.com", "c@x.com", "d@x.com", "e@x.com"]
    addresses = ["a@slow.org", "A@SLOW.ORG", "b@slow.org", "c@x.com", "C@x.com", "d@x.com", "e@x.com"]
    live = [1, 1, 1, 1, 1, 0, 1]
    plan = core.plan_batch(keys, addresses, [0] * 7, bytes([EMAIL]) * 7, live, throttle, NOW, [2])
    assert plan.unique == bytearray([1, 0, 1, 1, 0, 1, 1])
    assert plan.go == bytearray([1, 0, 0, 1, 0, 0, 1])  # slow.org has one message a second
    assert list(plan.not_before) == [NOW, NOW, NOW + 1.0, NOW, NOW, NOW, NOW]
    assert [(channel, list(rows)) for channel, rows in plan.batches.batches()] == [(0, [0, 3]), (0, [6])]


def test_a_key_repeats_only_within_its_channel(core: ModuleType) -> None:
    """The scan is sorted per channel: the same address on the next channel is another message."""
    throttle = core.Throttle(Rate(100))
    plan = core.plan_batch(
        ["t", "t", "t"], ["t", "t", "T"], [0, 1, 1], bytes([PUSH]) * 3, None, throttle, NOW, [5, 5]
    )
    assert plan == BatchPlan(
        bytearray([1, 1, 0]),
        bytearray([1, 1, 0]),
        array("d", [NOW] * 3),
        Batches(array("i", [0, 1]), array("q", [0, 1, 2]), array("q", [0, 1])),
    )


def test_bad_input_is_refused_before_any_budget_is_spent(core: ModuleType) -> None:
    throttle = core.Throttle(Rate(1))
    good: dict[str, Any] = {
        "keys": ["a@x.com"],
        "addresses": ["a@x.com"],
        "channels": [0],
        "forms": bytes([EMAIL]),
        "live": None,
        "throttle": throttle,
        "now": NOW,
        "max_sizes": [1],
    }
    cases: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"keys": [b"a@x.com"]}, TypeError, r"keys\[0\]: must be a str, got bytes"),
        ({"keys": []}, ValueError, "keys: 0 entries for 1 rows"),
        ({"channels": [0, 0]}, ValueError, "channels: 2 entries for 1 rows"),
        ({"channels": [1]}, ValueError, r"channels\[0\]: no max batch size for channel 1"),
        ({"forms": b""}, ValueError, "forms: 0 entries for 1 rows"),
        ({"live": b"\x01\x01"}, ValueError, "live: 2 entries for 1 rows"),
        ({"addresses": [5]}, TypeError, "address must be a str, got int"),
        ({"now": float("nan")}, ValueError, "now: must be finite"),
        ({"max_sizes": [0]}, ValueError, r"max_sizes\[0\]: must be at least 1"),
        ({"throttle": object()}, TypeError, "throttle: must be this core's Throttle, got object"),
    ]
    for change, error, message in cases:
        with pytest.raises(error, match=message):
            core.plan_batch(**{**good, **change})
    assert core.plan_batch(**good).go == bytearray([1])  # nothing was spent by the refused calls


#: Rows of a scan: a channel, a folded address and how it was spelt (a few domains, so buckets fill).
scan_rows = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.sampled_from(["a@x.com", "b@x.com", "c@y.org", "d@y.org", "e@z.net", "tok1", "tok2"]),
        st.booleans(),
    ),
    max_size=40,
)
#: Channels 0 and 1 send email, channel 2 push tokens.
FORMS = [EMAIL, EMAIL, PUSH]


def reference(
    core: ModuleType,
    keys: list[str],
    addresses: list[str],
    channels: list[int],
    live: list[bool],
    throttle: Any,
    sizes: list[int],
) -> BatchPlan:
    """plan_batch as its definition reads, from the core's own tested building blocks."""
    unique = bytearray(
        1 if row == 0 or (channels[row], keys[row]) != (channels[row - 1], keys[row - 1]) else 0
        for row in range(len(keys))
    )
    wanted = bytes(mark and alive for mark, alive in zip(unique, live, strict=True))
    go, not_before = throttle.take_batch(bytes(FORMS[c] for c in channels), addresses, NOW, wanted)
    return BatchPlan(unique, go, not_before, core.group_batches(channels, sizes, go))


@given(
    rows=scan_rows,
    live=st.lists(st.booleans(), min_size=40, max_size=40),
    sizes=st.lists(st.integers(1, 4), min_size=3, max_size=3),
)
def test_equals_the_reference_on_sorted_scans(
    core: ModuleType, rows: list[tuple[int, str, bool]], live: list[bool], sizes: list[int]
) -> None:
    rows = sorted(rows)
    channels = [channel for channel, _, _ in rows]
    keys = [key for _, key, _ in rows]
    addresses = [key.upper() if shouted else key for _, key, shouted in rows]
    mask = live[: len(rows)]
    limits = {"x.com": Rate(2), "y.org": Rate(1, burst=3)}
    planned, expected = core.Throttle(Rate(50), limits), core.Throttle(Rate(50), limits)
    forms = bytes(FORMS[c] for c in channels)
    plan = core.plan_batch(keys, addresses, channels, forms, bytes(mask), planned, NOW, sizes)
    assert plan == reference(core, keys, addresses, channels, mask, expected, sizes)
    # On a sorted scan, the unique rows are exactly one row per distinct (channel, key).
    assert sorted((channels[row], keys[row]) for row, mark in enumerate(plan.unique) if mark) == sorted(
        set(zip(channels, keys, strict=True))
    )
