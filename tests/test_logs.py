"""Log output: identical warnings and errors are shown once per window, with the count held back."""

from __future__ import annotations

import logging

from kernel.logs import RepeatFilter

WINDOW = 60.0


class Clock:
    """A clock the test moves by hand, so that the window is crossed without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def record(
    message: str, level: int = logging.ERROR, exception: BaseException | None = None
) -> logging.LogRecord:
    exc_info = (type(exception), exception, None) if exception else None
    return logging.LogRecord("kernel.api.status", level, __file__, 1, message, (), exc_info)


def test_identical_errors_are_shown_once_per_window_with_the_count_held_back() -> None:
    clock = Clock()
    repeats = RepeatFilter(WINDOW, clock)
    shown = [repeats.filter(record("unexpected error in /x")) for _ in range(1000)]
    assert shown == [True] + [False] * 999
    clock.now += WINDOW
    after = record("unexpected error in /x")
    assert repeats.filter(after)
    assert after.repeated == 999
    clock.now += WINDOW
    quiet = record("unexpected error in /x")
    assert repeats.filter(quiet)
    assert not hasattr(quiet, "repeated")


def test_different_errors_and_lower_levels_are_not_held_back() -> None:
    repeats = RepeatFilter(WINDOW, Clock())
    assert repeats.filter(record("unexpected error in /x", exception=KeyError("a")))
    assert repeats.filter(record("unexpected error in /x", exception=ValueError("a")))
    assert repeats.filter(record("unexpected error in /y"))
    assert repeats.filter(record("unexpected error in /y", level=logging.WARNING))
    assert all(repeats.filter(record("herald listening", level=logging.INFO)) for _ in range(3))


def test_a_zero_window_shows_everything() -> None:
    repeats = RepeatFilter(0, Clock())
    assert all(repeats.filter(record("unexpected error in /x")) for _ in range(3))


def test_a_flood_of_distinct_errors_keeps_the_memory_bounded() -> None:
    repeats = RepeatFilter(WINDOW, Clock())
    repeats.max_tracked = 3
    assert all(repeats.filter(record(f"error {n}")) for n in range(10))
    assert len(repeats._seen) <= 3
