"""Per-domain token buckets: limits, bursts, deferral times, the worker's share, slow-down and recovery."""

from __future__ import annotations

import math
from array import array
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sender_ext.types import AddressForm, Admission, Rate, SlowDown

EMAIL = AddressForm.MAILBOX


def emails(*addresses: str) -> tuple[bytes, list[str]]:
    return bytes([EMAIL]) * len(addresses), list(addresses)


def take(throttle: Any, domain: str, now: float) -> bool:
    """Whether one message to ``domain`` may go at ``now`` (spending it if so)."""
    return bool(throttle.take_batch(*emails(f"a@{domain}"), now).go[0])


def test_burst_then_deferred_rows_queue_behind_each_other(core: ModuleType) -> None:
    throttle = core.Throttle(Rate(2, burst=2))
    admitted = throttle.take_batch(*emails("a@x.com", "b@x.com", "c@X.com", "d@x.com", "e@x.com"), 100.0)
    assert admitted == Admission(bytearray([1, 1, 0, 0, 0]), array("d", [100, 100, 100.5, 101, 101.5]))
    assert not take(throttle, "x.com", 100.25)
    assert take(throttle, "x.com", 100.5)  # the first deferred row's time: exactly one token again
    assert not take(throttle, "x.com", 100.5)


def test_domains_have_their_own_limits_and_the_rest_the_default(core: ModuleType) -> None:
    throttle = core.Throttle(Rate(1, burst=1), {"GMail.com": Rate(3, burst=3)})
    admitted = throttle.take_batch(*emails(*["u@gmail.com"] * 4, "v@other.org", "w@other.org"), 0.0)
    assert list(admitted.go) == [1, 1, 1, 0, 1, 0]
    assert admitted.not_before[3] == pytest.approx(1 / 3)
    assert admitted.not_before[5] == 1.0


def test_other_kinds_pass_and_masked_rows_are_not_asked_about(core: ModuleType) -> None:
    throttle = core.Throttle(Rate(1, burst=1))
    kinds = bytes([EMAIL, AddressForm.CASELESS, EMAIL, EMAIL, AddressForm.VERBATIM])
    addresses = ["a@x.com", "ABCD", "b@x.com", "c@x.com", "+1555"]
    admitted = throttle.take_batch(kinds, addresses, 5.0, live=[0, 1, 1, 1, 0])
    assert admitted == Admission(bytearray([0, 1, 1, 0, 0]), array("d", [5, 5, 5, 6, 5]))


def test_addresses_without_domain_share_one_bucket(core: ModuleType) -> None:
    throttle = core.Throttle(Rate(1, burst=1))
    assert list(throttle.take_batch(*emails("nodomain", "trailing@", "x@y.z"), 0.0).go) == [1, 0, 1]


def test_the_bucket_refills_at_the_rate_up_to_the_burst(core: ModuleType) -> None:
    throttle = core.Throttle(Rate(60, per=60.0, burst=3))  # 1 per second
    assert sum(throttle.take_batch(*emails(*["a@x.com"] * 10), 0.0).go) == 3
    assert sum(throttle.take_batch(*emails(*["a@x.com"] * 10), 2.0).go) == 2
    assert sum(throttle.take_batch(*emails(*["a@x.com"] * 10), 1000.0).go) == 3


def test_time_going_backwards_earns_nothing(core: ModuleType) -> None:
    throttle = core.Throttle(Rate(1, burst=1))
    assert take(throttle, "x.com", 10.0)
    assert not take(throttle, "x.com", 5.0)
    assert not take(throttle, "x.com", 10.5)
    assert take(throttle, "x.com", 11.0)


def test_the_share_divides_rate_and_burst(core: ModuleType) -> None:
    throttle = core.Throttle(Rate(4, burst=4))
    throttle.share = 0.25
    assert throttle.share == 0.25
    assert sum(throttle.take_batch(*emails(*["a@x.com"] * 4), 0.0).go) == 1  # burst 1
    admitted = throttle.take_batch(*emails(*["a@x.com"] * 2), 0.5)
    assert list(admitted.go) == [0, 0]
    assert list(admitted.not_before) == [1.0, 2.0]  # 1 message per second
    for share in (0.0, 1.5, -1, math.nan):
        with pytest.raises(ValueError, match="share"):
            throttle.share = share


def test_slow_down_halves_drains_and_counts_one_episode(core: ModuleType) -> None:
    policy = SlowDown(factor=0.5, floor=0.2, recovery_seconds=100.0, cooldown_seconds=5.0)
    throttle = core.Throttle(Rate(10, burst=10), policy=policy)
    assert throttle.slow_down("x.com", 0.0) == 0.5
    assert not take(throttle, "x.com", 0.0)  # drained
    assert throttle.slow_down("X.com", 4.0) == pytest.approx(0.54)  # same episode, recovering meanwhile
    assert throttle.slow_down("x.com", 5.0) == pytest.approx((0.5 + 0.05) * 0.5)
    assert throttle.slow_down("x.com", 10.0) == 0.2  # floor (0.325 * 0.5 < 0.2)
    assert throttle.multiplier("x.com", 30.0) == pytest.approx(0.4)
    assert throttle.multiplier("x.com", 1000.0) == 1.0
    assert throttle.multiplier("never.seen", 30.0) == 1.0
    assert throttle.multiplier("other.org", 30.0) == 1.0


def test_a_slowed_domain_sends_at_the_reduced_rate(core: ModuleType) -> None:
    throttle = core.Throttle(Rate(10, burst=1), policy=SlowDown(factor=0.5, recovery_seconds=1e9))
    throttle.slow_down("x.com", 0.0)
    admitted = throttle.take_batch(*emails("a@x.com", "b@x.com"), 0.0)
    assert list(admitted.not_before) == [0.2, 0.4]  # 5 per second


def test_set_limit_keeps_the_state(core: ModuleType) -> None:
    throttle = core.Throttle(Rate(1, burst=1))
    assert take(throttle, "x.com", 0.0)
    throttle.set_limit("x.com", Rate(100, burst=100))  # a warm-up step
    assert not take(throttle, "x.com", 0.0)
    assert sum(throttle.take_batch(*emails(*["a@x.com"] * 200), 1.0).go) == 100


def test_bad_input_is_refused(core: ModuleType) -> None:
    throttle = core.Throttle(Rate(1))
    with pytest.raises(ValueError, match="now: must be finite"):
        take(throttle, "x.com", math.inf)
    with pytest.raises(ValueError, match="live: 1 entries for 2 rows"):
        throttle.take_batch(*emails("a@x.com", "b@x.com"), 0.0, live=b"\x01")
    with pytest.raises(TypeError, match="address must be a str"):
        throttle.take_batch(*emails("a@x.com", 7), 0.0)  # type: ignore[arg-type]
    # Not an email row: never read, so never refused (both cores alike).
    assert list(throttle.take_batch(bytes([AddressForm.VERBATIM]), [7], 0.0).go) == [1]


@pytest.mark.parametrize(
    ("text", "count", "per", "burst"),
    [
        ("500/min", 500, 60, 500 / 60),
        ("1000/hour", 1000, 3600, 1),
        ("20/s", 20, 1, 20),
        ("3 / days", 3, 86400, 1),
    ],
)
def test_rates_parse(text: str, count: float, per: float, burst: float) -> None:
    assert Rate.parse(text) == Rate(count, per, burst)


@pytest.mark.parametrize("text", ["5/ms", "500", "x/min", "-5/min", "0/min"])
def test_bad_rates_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Rate.parse(text)


def test_bad_policies_are_refused() -> None:
    for bad in ({"factor": 1.0}, {"floor": 0.0}, {"recovery_seconds": math.inf}, {"cooldown_seconds": -1}):
        with pytest.raises(ValueError):
            SlowDown(**bad)
    with pytest.raises(ValueError, match="burst"):
        Rate(5, burst=0.5)


steps = st.lists(
    st.tuples(
        st.floats(0, 2, allow_nan=False),  # seconds since the previous step
        st.sampled_from(["batch", "take", "slow_down"]),
        st.integers(1, 30),  # rows in a batch
    ),
    max_size=40,
)


@given(
    count=st.integers(1, 50),
    burst=st.integers(1, 20),
    share=st.floats(0.05, 1.0),
    steps=steps,
)
def test_never_more_than_rate_times_window_plus_burst(
    core: ModuleType, count: int, burst: int, share: float, steps: list[tuple[float, str, int]]
) -> None:
    throttle = core.Throttle(Rate(count, burst=burst), policy=SlowDown(cooldown_seconds=0.5))
    throttle.share = share
    now = 0.0
    sent: list[float] = []
    for elapsed, action, rows in steps:
        now += elapsed
        if action == "batch":
            sent += [now] * sum(throttle.take_batch(*emails(*["a@x.com"] * rows), now).go)
        elif action == "take":
            sent += [now] * take(throttle, "x.com", now)
        else:
            throttle.slow_down("x.com", now)
    rate, capacity = count * share, max(1.0, burst * share)
    for first, start in enumerate(sent):
        for last in range(first, len(sent)):
            assert last - first + 1 <= rate * (sent[last] - start) + capacity + 1e-9
