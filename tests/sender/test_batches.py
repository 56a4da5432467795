"""Provider batches: one channel per batch, at most the channel's size, every live row exactly once."""

from __future__ import annotations

from array import array
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sender_ext.types import Batches


def test_channels_in_order_of_first_row_each_cut_to_its_size(core: ModuleType) -> None:
    batches = core.group_batches([0, 1, 0, 0, 2, 1, 0], [2, 5, 1], live=[1, 1, 1, 0, 1, 1, 1])
    assert batches == Batches(
        array("i", [0, 0, 1, 2]), array("q", [0, 2, 3, 5, 6]), array("q", [0, 2, 6, 1, 5, 4])
    )
    assert [(channel, list(rows)) for channel, rows in batches.batches()] == [
        (0, [0, 2]),
        (0, [6]),
        (1, [1, 5]),
        (2, [4]),
    ]


def test_inputs_of_any_integer_form(core: ModuleType) -> None:
    expected = core.group_batches([1, 1, 0], [1, 2])
    assert core.group_batches((1, 1, 0), array("q", [1, 2])) == expected
    assert core.group_batches(array("i", [1, 1, 0]), (1, 2), live=b"\x01\x01\x01") == expected
    assert core.group_batches([], [3]) == Batches(array("i"), array("q", [0]), array("q"))


def test_bad_input_is_refused(core: ModuleType) -> None:
    with pytest.raises(ValueError, match=r"channels\[2\]: no max batch size for channel 7"):
        core.group_batches([0, 1, 7], [1, 1])
    with pytest.raises(ValueError, match=r"channels\[0\]: no max batch size for channel -1"):
        core.group_batches([-1], [1])
    with pytest.raises(ValueError, match=r"max_sizes\[1\]: must be at least 1"):
        core.group_batches([0], [1, 0])
    with pytest.raises(ValueError, match="live: 1 entries for 2 rows"):
        core.group_batches([0, 0], [1], live=[1])
    with pytest.raises(OverflowError):
        core.group_batches([2**40], [1])
    with pytest.raises(TypeError):
        core.group_batches([0.5], [1])


@given(
    sizes=st.lists(st.integers(1, 6), min_size=1, max_size=4),
    rows=st.lists(st.tuples(st.integers(0, 3), st.booleans()), max_size=60),
)
def test_every_live_row_once_never_over_size_never_mixed(
    core: ModuleType, sizes: list[int], rows: list[tuple[int, bool]]
) -> None:
    channels = [channel % len(sizes) for channel, _ in rows]
    live = bytes(alive for _, alive in rows)
    batches = core.group_batches(channels, sizes, live)
    seen: list[int] = []
    for channel, members in batches.batches():
        assert 1 <= len(members) <= sizes[channel]
        assert {channels[row] for row in members} == {channel}
        assert list(members) == sorted(members)
        seen += members
    assert sorted(seen) == [row for row, alive in enumerate(live) if alive]
    for channel, size in enumerate(sizes):  # as few batches as the sizes allow
        live_rows = sum(1 for row, alive in enumerate(live) if alive and channels[row] == channel)
        assert list(batches.channels).count(channel) == -(-live_rows // size)
