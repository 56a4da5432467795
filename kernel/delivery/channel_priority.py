"""Channel priority: a profile receives a send on one channel, the first of the send's on which it is
reachable.

Chosen per profile on a slice's judged audience (:mod:`kernel.delivery.slice_work`), where reachable means
what sending needs: an address of the channel's kind within the domain filter, consent, no suppression,
the address not given to another profile of the audience. The choice is made again each time a slice is
read, from the same rows in the same order and the same recorded claims, so a slice read again after a
crash chooses as the first read did. When the profile changed in between (an address suppressed, a
consent withdrawn after its message went out), the channel an earlier lease already sent or scheduled a
message on stays the chosen one: a profile never gets the send on two channels.

The channels before the chosen one keep their verdicts (counted as not consented, duplicate, suppressed);
those after it are dropped, neither planned nor counted.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from enum import Enum

from kernel.delivery.audience_scan import AudienceRow


class Verdict(Enum):
    """What a slice makes of one audience row."""

    NOT_CONSENTED = "not consented"
    DUPLICATE = "duplicate"
    SUPPRESSED = "suppressed"
    SEND = "send"


class ChannelChoice:
    """Each profile's channel: the first on which a row is to be sent, unless an earlier lease chose."""

    def __init__(
        self,
        rows: Sequence[AudienceRow],
        verdicts: Sequence[Verdict],
        earlier: Collection[tuple[uuid.UUID, int]],
    ) -> None:
        """``earlier``: the (profile, channel) pairs an earlier lease of the slice sent or scheduled."""
        self._chosen: dict[uuid.UUID, int] = dict(earlier)
        for row, verdict in zip(rows, verdicts, strict=True):
            if verdict is Verdict.SEND:
                self._chosen.setdefault(row.profile_id, row.channel)

    def keeps(self, row: AudienceRow, verdict: Verdict) -> bool:
        """Whether the row counts: it is on the profile's channel, or before it and not to be sent (a
        profile reachable on no channel keeps every row)."""
        chosen = self._chosen.get(row.profile_id)
        if chosen is None or row.channel == chosen:
            return True
        return row.channel < chosen and verdict is not Verdict.SEND
