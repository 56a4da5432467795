"""Wave pacing, driven by a fake clock given to the worker: messages go one per slot, and a wave that fell
behind (a stall, a pause) moves its schedule on instead of releasing its backlog at once."""

from __future__ import annotations

from herald.v1 import messages_pb2
from tests.delivery.conftest import sender_worker
from tests.delivery.support import FakeClock, person, send_request, wait_for


async def test_a_paced_send_goes_one_message_per_slot(
    messages, profiles, configured, sparkpost, server, db
) -> None:
    for index in range(8):
        await person(profiles, configured, f"p{index}", email=f"p{index}@example.com")
    clock = FakeClock()
    per_minute = messages_pb2.Pacing(count=60, unit=messages_pb2.PACE_UNIT_MINUTE)
    async with sender_worker(server, clock=clock):
        send = await messages.CreateSend(send_request(pacing=per_minute), metadata=configured.auth)
        assert (send.pacing.count, send.pacing.unit) == (60, messages_pb2.PACE_UNIT_MINUTE)
        # Slot k opens k seconds after the start: at the start, one message; then one per second.
        await wait_for(messages, configured, send.send_id, lambda s: s.sent == 1)
        for expected in (2, 3, 4):
            clock.now += 1.0
            await wait_for(messages, configured, send.send_id, lambda s, n=expected: s.sent == n)
        # A long stall does not release the backlog: one message, and the schedule moves on.
        clock.now += 100.0
        await wait_for(messages, configured, send.send_id, lambda s: s.sent == 5)
        start = await db.fetchval("SELECT pace_start FROM sends WHERE send_id::text = $1", send.send_id)
        assert start == clock.now - 4.0
        for expected in (6, 7, 8):
            clock.now += 1.0
            await wait_for(messages, configured, send.send_id, lambda s, n=expected: s.sent == n)
        done = await wait_for(
            messages, configured, send.send_id, lambda s: s.state == messages_pb2.SEND_STATE_COMPLETED
        )
    assert done.sent == 8 and len(sparkpost.accepted) == 8


async def test_a_resumed_wave_keeps_its_pace(messages, profiles, configured, sparkpost, server) -> None:
    for index in range(4):
        await person(profiles, configured, f"p{index}", email=f"p{index}@example.com")
    clock = FakeClock()
    per_minute = messages_pb2.Pacing(count=60, unit=messages_pb2.PACE_UNIT_MINUTE)
    async with sender_worker(server, clock=clock):
        send = await messages.CreateSend(send_request(pacing=per_minute), metadata=configured.auth)
        await wait_for(messages, configured, send.send_id, lambda s: s.sent == 1)
        paused = await messages.PauseSend(
            messages_pb2.PauseSendRequest(send_id=send.send_id), metadata=configured.auth
        )
        assert paused.state == messages_pb2.SEND_STATE_PAUSED
        clock.now += 3600.0
        await messages.ResumeSend(
            messages_pb2.ResumeSendRequest(send_id=send.send_id), metadata=configured.auth
        )
        await wait_for(messages, configured, send.send_id, lambda s: s.sent == 2)
        clock.now += 1.0
        await wait_for(messages, configured, send.send_id, lambda s: s.sent == 3)
