"""What a slice makes of each row of its audience: sent, or left out and counted as what.

The scan judges consent and the suppression list; a shared address is decided by its claim (the first
profile whose claim is recorded receives it, :mod:`kernel.delivery.slice_work`).
"""

from __future__ import annotations

from enum import Enum

from kernel.delivery.audience_scan import AudienceRow


class Verdict(Enum):
    NOT_CONSENTED = "not consented"
    #: Another profile receives the address.
    DUPLICATE = "duplicate"
    #: Planned, and counted suppressed.
    SUPPRESSED = "suppressed"
    SEND = "send"
    #: Not on the profile's channel (channel priority): neither planned nor counted.
    LEFT_OUT = "left out"


def verdict_alone(row: AudienceRow, shared_by_claim: bool) -> Verdict | None:
    """What the scan alone says of the row; None when its claim decides: a shared address the profile is
    the first to be given, or, ``shared_by_claim``, any shared address (another holder may not use it)."""
    if not row.consented:
        return Verdict.NOT_CONSENTED
    if row.claim or (row.duplicate and shared_by_claim):
        return None
    if row.duplicate:
        return Verdict.DUPLICATE
    return Verdict.SEND if row.blocked is None else Verdict.SUPPRESSED


def verdict_claimed(row: AudienceRow, won: bool) -> Verdict:
    """A shared address's verdict once its claim is recorded."""
    if not won:
        return Verdict.DUPLICATE
    return Verdict.SEND if row.blocked is None else Verdict.SUPPRESSED
