"""When answers that may mean a wrong configuration are many enough, and a large enough share of a
send's answers on a channel, to pause the channel (kernel.delivery.suspicion)."""

from __future__ import annotations

import uuid

from kernel.channels import FailureReason, Outcome, SendResult
from kernel.delivery.suspicion import ConfigSuspicion

PROJECT, SEND, OTHER_SEND = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
CHANNEL = "push.apns"


def answers(accepted: int = 0, suspect: int = 0, dead: int = 0, retried: int = 0) -> list[SendResult]:
    return [
        *(SendResult("m", Outcome.ACCEPTED) for _ in range(accepted)),
        *(
            SendResult("m", Outcome.FAILED, reason=FailureReason.CONFIG_SUSPECT, detail="400 BadDeviceToken")
            for _ in range(suspect)
        ),
        *(SendResult("m", Outcome.FAILED, reason=FailureReason.UNREGISTERED) for _ in range(dead)),
        *(SendResult("m", Outcome.RETRY) for _ in range(retried)),
    ]


def test_enough_suspect_answers_making_the_share_pause_with_the_counts_and_the_providers_words() -> None:
    suspicion = ConfigSuspicion(min_failures=5, ratio=0.5)
    assert suspicion.observe(PROJECT, SEND, CHANNEL, answers(accepted=1, suspect=4)) is None
    reason = suspicion.observe(PROJECT, SEND, CHANNEL, answers(suspect=1, dead=1, retried=50))
    assert reason is not None
    assert "5 of 7 answers" in reason and str(SEND) in reason and "400 BadDeviceToken" in reason


def test_a_small_share_never_pauses_however_many() -> None:
    suspicion = ConfigSuspicion(min_failures=5, ratio=0.5)
    for _ in range(10):
        assert suspicion.observe(PROJECT, SEND, CHANNEL, answers(accepted=6, suspect=5)) is None


def test_each_send_is_judged_on_its_own_answers() -> None:
    suspicion = ConfigSuspicion(min_failures=5, ratio=0.5)
    assert suspicion.observe(PROJECT, SEND, CHANNEL, answers(suspect=4)) is None
    assert suspicion.observe(PROJECT, OTHER_SEND, CHANNEL, answers(suspect=4)) is None
    assert suspicion.observe(PROJECT, SEND, "push.fcm", answers(suspect=4)) is None


def test_forgotten_counts_start_again() -> None:
    suspicion = ConfigSuspicion(min_failures=5, ratio=0.5)
    suspicion.observe(PROJECT, SEND, CHANNEL, answers(suspect=4))
    suspicion.forget(PROJECT, CHANNEL)
    assert suspicion.observe(PROJECT, SEND, CHANNEL, answers(suspect=4)) is None
    suspicion.drop_send(PROJECT, SEND)
    assert suspicion.observe(PROJECT, SEND, CHANNEL, answers(suspect=4)) is None
    assert suspicion.observe(PROJECT, SEND, CHANNEL, answers(suspect=1)) is not None


def test_zero_failures_turns_pausing_off() -> None:
    suspicion = ConfigSuspicion(min_failures=0, ratio=0.5)
    assert suspicion.observe(PROJECT, SEND, CHANNEL, answers(suspect=99)) is None
