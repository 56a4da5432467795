"""Channel priority: a profile receives a send on one channel, the first of the send's on which it is
reachable.

Reachable means what sending needs: an address of the channel's kind within the domain filter, consent,
no suppression, and the address not given to another profile. A shared address is given by its claim
(``send_address_claims``), and claimed only on the channel the profile would use it on: a holder that
chose an earlier channel leaves it to the others. So the choice goes channel by channel, a claim statement
per round, only while shared addresses are left to decide (rare).

Made again each time a slice is read, from the same rows in the same order and the claims recorded, so a
slice read again after a crash chooses as the first read did. When the profile changed in between (an
address suppressed or added, a consent withdrawn after its message went out), the channel an earlier lease
already sent or scheduled a message on stays the chosen one: a profile never gets the send on two.

The channels before the chosen one keep their verdicts (counted as not consented, duplicate, suppressed);
those after it are left out, neither planned nor counted.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence

from kernel.delivery.audience_scan import AudienceRow
from kernel.delivery.audience_verdicts import Verdict, verdict_alone, verdict_claimed

#: Records the claims of these rows' addresses; whether each row's profile receives its address.
Claim = Callable[[list[AudienceRow]], Awaitable[list[bool]]]


async def one_channel_each(
    rows: Sequence[AudienceRow], earlier: Mapping[uuid.UUID, int], claim: Claim
) -> list[Verdict]:
    """Each row's verdict, in the rows' order (profile id, then channel); ``earlier``: the channel an
    earlier lease of the slice sent or scheduled each profile's message on."""
    verdicts = [verdict_alone(row, True) for row in rows]
    undecided: dict[uuid.UUID, list[int]] = {}
    for position, row in enumerate(rows):
        undecided.setdefault(row.profile_id, []).append(position)
    chosen = dict(earlier)
    while undecided:
        asked: list[int] = []
        for profile_id, positions in list(undecided.items()):
            channel = chosen.get(profile_id)
            if channel is None:
                channel = _first_open(rows, verdicts, positions)
                waiting = [p for p in positions if rows[p].channel == channel and verdicts[p] is None]
            else:  # as the first read judged them: its own claims are recorded
                waiting = [p for p in positions if rows[p].channel <= channel and verdicts[p] is None]
            if waiting:
                asked += waiting
                continue
            if channel is not None:
                chosen[profile_id] = channel
            del undecided[profile_id]
        if asked:
            won = await claim([rows[position] for position in asked])
            for position, receives in zip(asked, won, strict=True):
                verdicts[position] = verdict_claimed(rows[position], receives)
    return [
        _final(row, verdict, chosen.get(row.profile_id)) for row, verdict in zip(rows, verdicts, strict=True)
    ]


def _first_open(
    rows: Sequence[AudienceRow], verdicts: list[Verdict | None], positions: list[int]
) -> int | None:
    """The profile's first channel with an address to send, or one whose claim is still to be made."""
    for position in positions:
        if verdicts[position] is None or verdicts[position] is Verdict.SEND:
            return rows[position].channel
    return None


def _final(row: AudienceRow, verdict: Verdict | None, chosen: int | None) -> Verdict:
    """The row's verdict given its profile's channel: counted before it (what was sent already keeps the
    channel it went on), left out after it."""
    if verdict is None or (
        chosen is not None and row.channel != chosen and (row.channel > chosen or verdict is Verdict.SEND)
    ):
        return Verdict.LEFT_OUT
    return verdict
