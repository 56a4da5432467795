"""The signal that a batch of profile changes cannot be stored as a whole and must be applied one by one."""

from __future__ import annotations

from kernel.errors import HeraldError, NotFound


class SplitBatch(Exception):
    """The batch cannot stand as a whole: roll it back and apply its profiles one at a time.

    Raised for what is only known once written (a profile over a limit, a profile merged away meanwhile).
    ``error`` is what a batch of one raises; ``retry`` says that the same profile may succeed when resolved
    again (another transaction merged or erased it while this one wrote)."""

    def __init__(self, error: HeraldError, *, retry: bool = False) -> None:
        super().__init__(error.reason)
        self.error = error
        self.retry = retry


def profile_gone() -> NotFound:
    """The refusal of a profile that another transaction merged or erased (or whose project it deleted)
    while this one wrote to it."""
    return NotFound("the profile was merged or erased while being updated; retry", "profile")
