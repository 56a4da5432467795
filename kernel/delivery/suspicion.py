"""Telling a wrong channel configuration from a few bad tokens, per (send, channel), in one worker.

Providers answer a token of the other APNs environment, or of another FCM sender, as they answer a
bad one: those answers (``FailureReason.CONFIG_SUSPECT``) fail their message and never prune its token.
A few of them among accepted messages are stray tokens; a send where most answers are such is what one
wrong setting looks like, and failing every message of it would waste the whole audience. Past the
operator's threshold the worker pauses the channel for the project (:mod:`kernel.channels.pauses`).

Counts are this worker's own: each worker sees a slice of every send, enough to judge a rate, and a
restarted worker starts counting again. They are forgotten when a pause of the channel is made or
lifted, so that a lifted pause is judged on fresh answers.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

from kernel.channels import FailureReason, Outcome, SendResult

_OUTCOME_AND_REASON = attrgetter("outcome", "reason")


@dataclass(slots=True)
class _Tally:
    #: Answers that were final (accepted or failed); retries say nothing about the configuration.
    answered: int = 0
    suspect: int = 0
    #: The provider's words on the last suspect answer, quoted in the pause's reason.
    detail: str = ""


class ConfigSuspicion:
    def __init__(self, min_failures: int, ratio: float) -> None:
        """Pause after at least ``min_failures`` suspect answers making at least ``ratio`` of a send's
        answers on a channel (``min_failures`` 0: never)."""
        self._min_failures = min_failures
        self._ratio = ratio
        self._tallies: dict[tuple[uuid.UUID, uuid.UUID, str], _Tally] = {}

    def observe(
        self, project_id: uuid.UUID, send_id: uuid.UUID, channel: str, results: Sequence[SendResult]
    ) -> str | None:
        """Count one provider batch's answers; the reason to pause the channel if this send now crosses
        the threshold, else None."""
        if not self._min_failures:
            return None
        key = (project_id, send_id, channel)
        tally = self._tallies.get(key)
        if tally is None:
            tally = self._tallies[key] = _Tally()
        # Tallied in bulk: a provider batch's thousands of answers are nearly all the same.
        suspect = 0
        for (outcome, reason), number in Counter(map(_OUTCOME_AND_REASON, results)).items():
            if outcome is Outcome.RETRY:
                continue
            tally.answered += number
            if reason is FailureReason.CONFIG_SUSPECT:
                suspect += number
        if suspect:
            tally.suspect += suspect
            tally.detail = next(
                result.detail
                for result in reversed(results)
                if result.outcome is not Outcome.RETRY and result.reason is FailureReason.CONFIG_SUSPECT
            )
        if tally.suspect < self._min_failures or tally.suspect < self._ratio * tally.answered:
            return None
        return (
            f"{tally.suspect} of {tally.answered} answers in send {send_id} refused the address in words "
            f"that also mean a wrong configuration of the channel (last: {tally.detail}): check it, then "
            "set it again (SetChannelConfig) or resume the send (ResumeSend) to send on"
        )

    def forget(self, project_id: uuid.UUID, channel: str) -> None:
        """Drop the counts of every send of the project on ``channel``."""
        for key in [key for key in self._tallies if key[0] == project_id and key[2] == channel]:
            del self._tallies[key]

    def drop_send(self, project_id: uuid.UUID, send_id: uuid.UUID) -> None:
        """Drop the counts of a send that is no longer running."""
        for key in [key for key in self._tallies if key[:2] == (project_id, send_id)]:
            del self._tallies[key]
