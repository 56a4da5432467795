"""`herald sends list|show|watch|pause|resume|cancel` against the test kernel, a sender worker and the
SparkPost emulator; and the watch view's lines."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path

from herald.v1 import messages_pb2
from kernel.send_watch import RateMeter, plain_line, view
from kernel.server import RunningServer
from tests.cli_support import HERALD, herald, operator_environment
from tests.conftest import ProjectKey
from tests.delivery.conftest import EMAIL, SMS, sender_worker
from tests.delivery.support import (
    EMAIL_TEMPLATE,
    SMS_TEMPLATE,
    FakeClock,
    completed,
    person,
    send_request,
    wait_for,
)


async def test_watch_follows_a_send_until_it_completes_and_prints_the_final_counts(
    messages, profiles, configured: ProjectKey, sparkpost, worker, server: RunningServer, tmp_path: Path
) -> None:
    await person(profiles, configured, "ann", email="ann@example.com", first_name="Ann")
    await person(profiles, configured, "bob", email="bob@example.org", first_name="Bob")
    send = await messages.CreateSend(send_request(start_paused=True), metadata=configured.auth)
    environment = operator_environment(tmp_path, HERALD_API_KEY=configured.key)
    watching = await asyncio.create_subprocess_exec(
        *(HERALD, "sends", "watch", send.send_id, "--interval", "0.1", "--address", server.address),
        cwd=tmp_path,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert watching.stdout is not None
    first = (await watching.stdout.readline()).decode()
    assert first.startswith("PAUSED "), first  # plain lines: its stdout is a pipe, not a terminal

    resumed = await herald(
        tmp_path, "sends", "resume", send.send_id, "--address", server.address, HERALD_API_KEY=configured.key
    )
    assert resumed.status == 0, resumed.err
    assert resumed.out == f"send {send.send_id}: RUNNING\n"

    rest, err = await watching.communicate()
    assert watching.returncode == 0, err.decode()
    lines = rest.decode().splitlines()
    assert lines[-2].startswith("COMPLETED 100%  2/2  sent 2  failed 0"), lines
    assert lines[-1].startswith(f"send {send.send_id} completed: planned 2, sent 2, failed 0, suppressed 0")
    assert len(sparkpost.accepted) == 2


async def test_watch_of_a_cancelled_send_ends_with_status_one(
    messages, profiles, configured: ProjectKey, sparkpost, worker, server: RunningServer, tmp_path: Path
) -> None:
    await person(profiles, configured, "ann", email="ann@example.com")
    send = await messages.CreateSend(send_request(start_paused=True), metadata=configured.auth)
    connection = ("--address", server.address)
    key = {"HERALD_API_KEY": configured.key}
    cancelled = await herald(tmp_path, "sends", "cancel", send.send_id, *connection, **key)
    assert cancelled.out == f"send {send.send_id}: CANCELLED\n", cancelled.err
    watched = await herald(tmp_path, "sends", "watch", send.send_id, *connection, **key)
    assert watched.status == 1
    # Cancelled before any of its audience was read: nothing was planned.
    assert f"send {send.send_id} cancelled: planned 0," in watched.out

    paused = await herald(tmp_path, "sends", "pause", send.send_id, *connection, **key)
    assert paused.status == 1
    assert paused.err.startswith("herald: FAILED_PRECONDITION: "), paused.err


async def test_list_filters_by_state_and_pages(
    messages, profiles, configured: ProjectKey, server: RunningServer, tmp_path: Path
) -> None:
    await person(profiles, configured, "ann", email="ann@example.com")
    first = await messages.CreateSend(send_request(name="first", start_paused=True), metadata=configured.auth)
    second = await messages.CreateSend(
        send_request(name="second", start_paused=True), metadata=configured.auth
    )
    connection = ("--address", server.address, "--api-key", configured.key)
    assert (await herald(tmp_path, "sends", "cancel", first.send_id, *connection)).status == 0

    cancelled = await herald(tmp_path, "sends", "list", "--state", "cancelled", *connection)
    assert cancelled.status == 0, cancelled.err
    assert [line.split()[0] for line in cancelled.out.splitlines()] == [first.send_id]
    assert "CANCELLED" in cancelled.out and cancelled.out.rstrip().endswith(f"{EMAIL}  first")

    one = await herald(tmp_path, "sends", "list", "--page-size", "1", *connection)
    assert [line.split()[0] for line in one.out.splitlines()] == [second.send_id]  # newest first
    token = one.err.split("--page-token ")[1].split(",")[0]
    rest = await herald(tmp_path, "sends", "list", "--page-size", "1", "--page-token", token, *connection)
    assert [line.split()[0] for line in rest.out.splitlines()] == [first.send_id]
    every = await herald(tmp_path, "sends", "list", "--page-size", "1", "--all", *connection)
    assert [line.split()[0] for line in every.out.splitlines()] == [second.send_id, first.send_id]

    later = await herald(tmp_path, "sends", "list", "--since", "2999-01-01", *connection)
    assert later.status == 0 and later.out == ""
    wrong = await herald(tmp_path, "sends", "list", "--since", "yesterday", *connection)
    assert wrong.status == 2 and "--since: not an ISO 8601 date or time: 'yesterday'" in wrong.err


async def test_show_prints_the_counts_and_json(
    messages, profiles, configured: ProjectKey, sparkpost, worker, server: RunningServer, tmp_path: Path
) -> None:
    await person(profiles, configured, "ann", email="ann@example.com")
    send = await messages.CreateSend(send_request(name="spring"), metadata=configured.auth)
    await completed(messages, configured, send.send_id)
    connection = ("--address", server.address, "--api-key", configured.key)
    shown = await herald(tmp_path, "sends", "show", send.send_id, *connection)
    assert shown.status == 0, shown.err
    assert f"send {send.send_id}  'spring'" in shown.out
    assert "state      COMPLETED" in shown.out and "planned    1: sent 1  failed 0" in shown.out
    assert f"  {EMAIL}  planned 1: sent 1  failed 0" in shown.out
    as_json = await herald(tmp_path, "sends", "show", send.send_id, "--json", *connection)
    assert json.loads(as_json.out)["sent"] == "1"  # int64 in proto3 JSON is a string

    unknown = await herald(tmp_path, "sends", "show", "00000000-0000-0000-0000-000000000000", *connection)
    assert unknown.status == 1 and unknown.err.startswith("herald: NOT_FOUND: ")
    refused = await herald(
        tmp_path, "sends", "show", send.send_id, "--address", server.address, HERALD_API_KEY="hrk_x"
    )
    assert "UNAUTHENTICATED" in refused.err and "(the key came from HERALD_API_KEY)" in refused.err


def test_the_view_shows_a_bar_per_channel_when_the_counts_are_that_channels() -> None:
    send = messages_pb2.Send(
        send_id="s",
        name="n",
        state=messages_pb2.SEND_STATE_RUNNING,
        channels=[EMAIL],
        planned=10,
        sent=4,
        failed=1,
        pending=5,
        outbox_complete=True,
    )
    lines = view(send, rate=2.5)
    assert lines[1].startswith(f"{EMAIL}  [###############...............]  50%  5/10")
    assert "rate 2.5/s  ETA 0:00:02" in lines[3]
    both = messages_pb2.Send(
        channels=[EMAIL, SMS],
        planned=4,
        pending=4,
        paused_channels=[messages_pb2.ChannelPause(channel=SMS, reason="20 of 20 answers")],
    )
    lines = view(both, rate=None)
    assert lines[1].startswith(f"all channels ({EMAIL}, {SMS})  [") and "4+" in lines[1]
    assert lines[-1] == f"  paused {SMS}: 20 of 20 answers"
    assert "rate -" in plain_line(both, None)


def test_the_rate_is_measured_over_the_recent_window() -> None:
    meter = RateMeter()
    assert meter.add(0.0, 0) is None
    assert meter.add(5.0, 50) == 10.0
    assert meter.add(20.0, 60) == 10 / 15  # the sample at 0 s has left the window


async def test_on_a_terminal_watch_draws_the_view(
    messages, profiles, configured: ProjectKey, sparkpost, worker, server: RunningServer, tmp_path: Path
) -> None:
    await person(profiles, configured, "ann", email="ann@example.com")
    send = await messages.CreateSend(send_request(), metadata=configured.auth)
    await completed(messages, configured, send.send_id)
    terminal, screen = os.openpty()
    try:
        watching = await asyncio.create_subprocess_exec(
            *(HERALD, "sends", "watch", send.send_id, "--address", server.address),
            cwd=tmp_path,
            env=operator_environment(tmp_path, HERALD_API_KEY=configured.key),
            stdout=screen,
        )
        assert await watching.wait() == 0
        drawn = os.read(terminal, 65536).decode()
    finally:
        os.close(terminal)
        os.close(screen)
    assert "\x1b[J" in drawn  # drawn in place, not as plain lines
    assert f"{EMAIL}  [##############################] 100%  1/1" in drawn
    assert f"send {send.send_id} completed: planned 1, sent 1," in drawn


class _Screen:
    """The terminal's side of a pty, read as the watch draws: a full pty would block the watch."""

    def __init__(self) -> None:
        self.terminal, self.screen = os.openpty()
        self.drawn = ""
        os.set_blocking(self.terminal, False)
        asyncio.get_running_loop().add_reader(self.terminal, self._read)

    def _read(self) -> None:
        # Nothing yet; or the watch ended and closed its side.
        with contextlib.suppress(BlockingIOError, OSError):
            self.drawn += os.read(self.terminal, 65536).decode(errors="replace")

    async def showing(self, text: str) -> str:
        """What was drawn so far, once it holds ``text``."""
        for _ in range(1200):
            if text in self.drawn:
                return self.drawn
            await asyncio.sleep(0.05)
        raise AssertionError(f"never drawn: {text!r} in {self.drawn!r}")

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.terminal)
        os.close(self.terminal)
        os.close(self.screen)


async def test_watch_draws_a_bar_per_channel_of_a_running_send(
    messages, profiles, configured: ProjectKey, sparkpost, gateway, server: RunningServer, tmp_path: Path
) -> None:
    """A wave of one message a minute on a fake clock: Ann's two messages go (a slice is a profile's), and
    Bob's wait until the clock moves on; meanwhile the send shows each channel's share of what went."""
    await person(profiles, configured, "ann", email="ann@example.com", phone="+33612345678")
    await person(profiles, configured, "bob", email="bob@example.org", phone="+33698765432")
    clock = FakeClock()
    request = send_request(
        channels=[EMAIL, SMS],
        templates={EMAIL: EMAIL_TEMPLATE, SMS: SMS_TEMPLATE},
        pacing=messages_pb2.Pacing(count=1, unit=messages_pb2.PACE_UNIT_MINUTE),
    )
    width = max(len(EMAIL), len(SMS))
    terminal = _Screen()
    try:
        async with sender_worker(server, clock=clock):
            send = await messages.CreateSend(request, metadata=configured.auth)
            await wait_for(messages, configured, send.send_id, lambda s: s.sent == 2)
            watching = await asyncio.create_subprocess_exec(
                *(HERALD, "sends", "watch", send.send_id, "--interval", "0.1", "--address", server.address),
                cwd=tmp_path,
                env=operator_environment(tmp_path, HERALD_API_KEY=configured.key),
                stdout=terminal.screen,
            )
            running = await terminal.showing(f"{SMS:<{width}}  [")
            clock.now += 3600.0
            assert await watching.wait() == 0
        finished = await terminal.showing(f"send {send.send_id} completed")
    finally:
        terminal.close()
    assert "RUNNING" in running
    for channel in (EMAIL, SMS):
        # Ann's message sent, of the one planned so far on each channel; more to come (+).
        assert f"{channel:<{width}}  [{'#' * 30}] 100%  1/1+" in running, running
        assert f"{channel:<{width}}  [{'#' * 30}] 100%  2/2" in finished, finished
