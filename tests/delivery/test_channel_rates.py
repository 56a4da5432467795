"""A channel's declared default rate is enforced per project by every sender: the example SMS channel
declares 10 messages a second. Driven by a fake clock given to the worker, a bulk send goes a second's
worth at a time, and what waits is planned again, never lost; SendTransactional draws from the same
budget, and what it may not send now a worker sends later."""

from __future__ import annotations

import asyncio
import time

from herald.v1 import common_pb2, messages_pb2
from kernel.server import RunningServer
from tests.delivery.conftest import SMS, sender_worker
from tests.delivery.support import FakeClock, person, rows, send_request, until, wait_for

SMS_ONLY = {"channels": [SMS], "templates": {SMS: messages_pb2.MessageTemplate(text="Hi")}}


def declared_rate(server: RunningServer) -> int:
    rate = server.kernel.channels.channel(SMS).capabilities.default_rate_per_second
    assert rate is not None and rate.is_integer()
    return int(rate)


async def test_a_bulk_send_goes_at_the_channels_default_rate(
    messages, profiles, configured, gateway, server, db
) -> None:
    rate = declared_rate(server)
    count = 2 * rate + 5
    for index in range(count):
        await person(profiles, configured, f"p{index}", phone=f"+336123456{index:02d}")
    clock = FakeClock()
    async with sender_worker(server, clock=clock):
        send = await messages.CreateSend(send_request(**SMS_ONLY), metadata=configured.auth)
        # While the clock stands, a second's worth goes and the rest waits for the budget to refill.
        await wait_for(messages, configured, send.send_id, lambda s: s.sent == rate)

        async def all_others_held() -> bool:
            outbox = await rows(db, configured, send.send_id)
            held = sum(row["status"] == "waiting" and row["detail"] == "channel rate" for row in outbox)
            return held == count - rate

        await until(all_others_held, "every message beyond the budget planned again")
        assert len(gateway.accepted) == rate
        for expected in (2 * rate, count):
            clock.now += 1.0
            await wait_for(messages, configured, send.send_id, lambda s, n=expected: s.sent == n)
        done = await wait_for(
            messages, configured, send.send_id, lambda s: s.state == messages_pb2.SEND_STATE_COMPLETED
        )
    assert (done.sent, done.failed, len(gateway.accepted)) == (count, 0, count)
    assert len({record["message_id"] for record in gateway.accepted}) == count


async def test_transactional_sends_draw_from_the_same_budget(
    messages, profiles, configured, gateway, server, kernel_workers
) -> None:
    rate = declared_rate(server)
    calls = 3 * rate
    started = time.time()
    answers = await asyncio.gather(
        *(
            messages.SendTransactional(
                messages_pb2.SendTransactionalRequest(
                    address=common_pb2.Address(kind="phone", value=f"+336123457{i:02d}"),
                    channels=[SMS],
                    template=messages_pb2.MessageTemplate(text="Your code"),
                ),
                metadata=configured.auth,
            )
            for i in range(calls)
        )
    )
    elapsed = time.time() - started
    statuses = [answer.deliveries[0] for answer in answers]
    accepted = sum(d.status == messages_pb2.DELIVERY_STATUS_ACCEPTED for d in statuses)
    held = [d for d in statuses if d.status == messages_pb2.DELIVERY_STATUS_RETRY_SCHEDULED]
    # The budget: a second's worth at first, then the rate (the kernel's clock is this one).
    assert accepted <= rate + rate * elapsed + 1
    assert accepted + len(held) == calls
    assert all(d.reason == "channel_rate" for d in held)

    # Held messages are not lost: the workers send them as the budget refills.
    async def all_sent() -> bool:
        return len(gateway.accepted) == calls

    await until(all_sent, "every held message sent by a worker")
    assert sorted(r["to"] for r in gateway.accepted) == sorted(f"+336123457{i:02d}" for i in range(calls))
