"""Wave pacing: N messages per period spread evenly, a bounded catch-up after a stall."""

from __future__ import annotations

import math
from itertools import pairwise
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sender_ext.types import Pace, Rate


def test_slots_open_evenly_from_the_start(core: ModuleType) -> None:
    pacer = core.Pacer(Rate(60, per=60.0, burst=5), start=100.0)
    assert pacer.plan(99.0, 0) == Pace(0, 100.0)
    assert pacer.plan(100.0, 0) == Pace(1, 101.0)
    assert pacer.plan(100.5, 1) == Pace(0, 101.0)
    assert pacer.plan(103.5, 1) == Pace(3, 104.0)
    assert pacer.plan(100.0, 10) == Pace(0, 110.0)  # ahead of schedule (other workers sent more)
    assert pacer.start == 100.0


def test_a_stalled_wave_catches_up_by_one_burst_then_stays_even(core: ModuleType) -> None:
    pacer = core.Pacer(Rate(60, per=60.0, burst=5), start=100.0)
    assert pacer.plan(200.0, 4) == Pace(5, 201.0)
    assert pacer.start == 192.0  # the schedule moved: persist it
    assert pacer.plan(200.0, 9) == Pace(0, 201.0)
    assert pacer.plan(202.0, 9) == Pace(2, 203.0)


def test_a_thousand_an_hour_go_one_every_3_6_seconds(core: ModuleType) -> None:
    pacer = core.Pacer(Rate.parse("1000/hour"), start=0.0)
    sent, times = 0, []
    for second in range(3600):
        count = pacer.plan(float(second), sent).count
        times += [second] * count
        sent += count
    assert sent == 1000
    gaps = {later - earlier for earlier, later in pairwise(times)}
    assert gaps == {3, 4}  # 3.6 s apart, seen by a once-a-second caller


def test_bad_input_is_refused(core: ModuleType) -> None:
    pacer = core.Pacer(Rate(10), start=0.0)
    with pytest.raises(ValueError, match="sent"):
        pacer.plan(1.0, -1)
    with pytest.raises(ValueError, match="now"):
        pacer.plan(math.nan, 0)
    with pytest.raises(ValueError, match="start"):
        core.Pacer(Rate(10), start=math.inf)


@given(
    count=st.integers(1, 5000),
    per=st.sampled_from([1.0, 60.0, 3600.0]),
    burst=st.integers(1, 50),
    start=st.floats(0, 1e6),
    gaps=st.lists(st.floats(0, 100), max_size=50),
)
def test_never_ahead_of_schedule_and_bursts_bounded(
    core: ModuleType, count: int, per: float, burst: int, start: float, gaps: list[float]
) -> None:
    rate = Rate(count, per, burst)
    pacer = core.Pacer(rate, start=start)
    now, sent = start - 1.0, 0
    for gap in gaps:
        now += gap
        pace = pacer.plan(now, sent)
        assert 0 <= pace.count <= burst
        sent += pace.count
        assert sent <= max(0, math.floor((now - start) / rate.interval + 1e-9) + 1)
        after = pacer.plan(now, sent)
        assert after.count == 0
        assert after.next_at >= now - 1e-6
        assert pacer.start >= start
