"""Per-domain throttling (limits, warm-up ramps, the worker's share, slow-down on deferrals) and the
retry policy (backoff with jitter, Retry-After, maximum age)."""

from __future__ import annotations

import random
import time
from datetime import date, timedelta
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from herald.v1 import messages_pb2
from kernel.delivery.retry import RETRY_AFTER_SPREAD, RetryPolicy
from kernel.delivery.throttling import DomainThrottle, ramp_rate
from kernel.settings import Settings, WarmUp
from sender_ext import Rate
from tests.delivery.conftest import sender_worker
from tests.delivery.support import person, rows, send_request, wait_for

TODAY = date(2026, 11, 20)


def test_limits_defaults_and_warm_up_ramps() -> None:
    throttle = DomainThrottle(
        Settings(
            domain_limits={"gmail.com": "500/min"},
            default_domain_limit="100/s",
            domain_warmup={
                "gmail.com": WarmUp(start=TODAY, daily=[1000, 2_000_000]),
                "new.example": WarmUp(start=TODAY - timedelta(days=1), daily=[10, 20]),
            },
        )
    )
    assert throttle.limit("gmail.com", TODAY) == Rate(1000, 86400.0)
    assert throttle.limit("gmail.com", TODAY + timedelta(days=1)) == Rate(500, 60.0)
    assert throttle.limit("gmail.com", TODAY - timedelta(days=1)) == Rate(500, 60.0)
    assert throttle.limit("new.example", TODAY) == Rate(20, 86400.0)
    assert throttle.limit("other.example", TODAY) == Rate(100, 1.0)
    assert DomainThrottle(Settings()).limit("any.example", TODAY) is None


def test_every_domain_ramp_and_the_workers_share() -> None:
    throttle = DomainThrottle(Settings(domain_warmup={"*": WarmUp(start=TODAY, daily=[86400])}))
    assert throttle.limit("any.example", TODAY) == Rate(86400, 86400.0)
    throttle.refresh(time.time(), live_workers=4)
    assert throttle.throttle.share == 0.25


@given(
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
    daily=st.lists(st.integers(1, 10**6), min_size=1, max_size=30),
    day=st.integers(-40, 40),
)
def test_a_ramp_applies_on_its_days_only(start: date, daily: list[int], day: int) -> None:
    rate = ramp_rate(WarmUp(start=start, daily=daily), start + timedelta(days=day))
    if 0 <= day < len(daily):
        assert rate == Rate(daily[day], 86400.0)
    else:
        assert rate is None


POLICY = RetryPolicy(base_seconds=30.0, max_seconds=3600.0, max_age_seconds=86400.0)


@given(attempts=st.integers(1, 80), seed=st.integers(0, 2**32))
def test_backoff_doubles_with_jitter_up_to_the_cap(attempts: int, seed: int) -> None:
    backoff = min(3600.0, 30.0 * 2.0 ** (attempts - 1))
    delay = POLICY.delay(attempts, None, random.Random(seed))
    assert backoff / 2 <= delay <= backoff


@given(
    attempts=st.integers(1, 20),
    retry_after=st.floats(0, 10**6),
    age=st.floats(0, 10**6),
    seed=st.integers(0, 99),
)
def test_retry_after_is_honoured_and_old_messages_expire(
    attempts: int, retry_after: float, age: float, seed: int
) -> None:
    delay = POLICY.delay(attempts, retry_after, random.Random(seed))
    assert retry_after <= delay <= retry_after * (1 + RETRY_AFTER_SPREAD)
    following = POLICY.next_delay(attempts, retry_after, age, random.Random(seed))
    assert following == (None if age + delay > POLICY.max_age_seconds else delay)


async def test_a_limited_domain_is_spread_out(messages, profiles, configured, sparkpost, server, db) -> None:
    for index in range(4):
        await person(profiles, configured, f"s{index}", email=f"s{index}@slow.example")
        await person(profiles, configured, f"f{index}", email=f"f{index}@fast.example")
    async with sender_worker(server, domain_limits={"slow.example": "1/min"}):
        send = await messages.CreateSend(send_request(), metadata=configured.auth)
        await wait_for(messages, configured, send.send_id, lambda s: s.sent == 5)
        outbox = await rows(db, configured, send.send_id)
        await messages.CancelSend(
            messages_pb2.CancelSendRequest(send_id=send.send_id), metadata=configured.auth
        )
    assert sorted(r["email"].split("@")[1] for r in sparkpost.accepted) == ["fast.example"] * 4 + [
        "slow.example"
    ]
    waiting = sorted(row["due_at"] for row in outbox if row["status"] == "waiting")
    assert len(waiting) == 3
    # One a minute: each deferred message is scheduled a minute after the one before it.
    gaps = [later - earlier for earlier, later in pairwise(waiting)]
    assert all(timedelta(seconds=59) <= gap <= timedelta(seconds=61) for gap in gaps)


async def test_a_domain_that_defers_is_slowed_down(messages, profiles, configured, sparkpost, worker) -> None:
    await person(profiles, configured, "ann", email="ann@busy.example")
    sparkpost.fail_next(1, 429)
    send = await messages.CreateSend(send_request(), metadata=configured.auth)
    await wait_for(messages, configured, send.send_id, lambda s: s.state == messages_pb2.SEND_STATE_COMPLETED)
    assert worker.throttle.throttle.multiplier("busy.example", time.time()) < 1.0
    assert worker.throttle.throttle.multiplier("calm.example", time.time()) == 1.0
