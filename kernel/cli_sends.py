"""``herald sends list|show|watch|pause|resume|cancel``: a project's bulk sends (project API key); ``stats``
and ``report`` are :mod:`kernel.cli_stats`'s."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable

from google.protobuf import json_format

from herald.v1 import channels_pb2, channels_pb2_grpc, common_pb2, messages_pb2, messages_pb2_grpc
from kernel.cli_stats import add_stats_commands
from kernel.client import (
    Connection,
    add_connection_options,
    add_paging_options,
    client_command,
    enum_choices,
    moment,
    paged,
    timestamp,
)
from kernel.send_watch import counts, finished, not_planned, state_name, watch

_STATES = enum_choices(messages_pb2.SendState.items(), "SEND_STATE_")


def _sends(connection: Connection) -> messages_pb2_grpc.MessageServiceStub:
    return messages_pb2_grpc.MessageServiceStub(connection.channel)


def list_sends(connection: Connection, args: argparse.Namespace) -> int:
    request = messages_pb2.ListSendsRequest(states=[_STATES[state] for state in args.state])
    if args.since:
        request.created_after.CopyFrom(timestamp(args.since, "--since"))
    if args.until:
        request.created_before.CopyFrom(timestamp(args.until, "--until"))
    for send in paged(connection, _sends(connection).ListSends, request, "sends", args):
        progress = f"{finished(send):,}/{send.planned:,}"
        when, channels = moment(send.created_at), ",".join(send.channels)
        print(f"{send.send_id}  {when}  {state_name(send):<9} {progress:>15}  {channels}  {send.name}")
    return 0


def show_send(connection: Connection, args: argparse.Namespace) -> int:
    send = connection.call(_sends(connection).GetSend, messages_pb2.GetSendRequest(send_id=args.send_id))
    if args.json:
        print(json_format.MessageToJson(send, preserving_proto_field_name=True))
        return 0
    print(f"send {send.send_id}  {send.name!r}")
    reading = "" if send.outbox_complete else " (audience still being read)"
    print(f"  state      {state_name(send)}{reading}")
    print(f"  purpose    {common_pb2.Purpose.Name(send.purpose).removeprefix('PURPOSE_').lower()}")
    print(f"  channels   {', '.join(send.channels)}")
    if send.HasField("pacing"):
        unit = messages_pb2.PaceUnit.Name(send.pacing.unit).removeprefix("PACE_UNIT_").lower()
        print(f"  pace       {send.pacing.count:,} per {unit}")
    ended = f", ended {moment(send.finished_at)}" if send.HasField("finished_at") else ""
    print(f"  created    {moment(send.created_at)}{ended}")
    print(f"  planned    {send.planned:,}: {counts(send)}, retries {send.retries:,}")
    for counted in send.by_channel:
        figures = f"{counts(counted)}, retries {counted.retries:,}"
        print(f"  {counted.channel}  planned {counted.planned:,}: {figures}")
    print(f"  {not_planned(send)}")
    for pause in send.paused_channels:
        print(f"  paused     {pause.channel} since {moment(pause.paused_at)}: {pause.reason}")
    for reported in send.feedback:
        events = ", ".join(f"{kind} {count:,}" for kind, count in sorted(reported.events.items()))
        print(f"  feedback   {reported.channel}: {events}")
    return 0


def watch_send(connection: Connection, args: argparse.Namespace) -> int:
    stub, request = _sends(connection), messages_pb2.GetSendRequest(send_id=args.send_id)
    channels = channels_pb2_grpc.ChannelServiceStub(connection.channel)

    def throttles(send: messages_pb2.Send) -> list[channels_pb2.DomainThrottle]:
        """The email domains throttled now, when the send has an email channel (the first page)."""
        listing = channels_pb2.ListDomainThrottlesRequest(channels=send.channels)
        return list(connection.call(channels.ListDomainThrottles, listing).domains)

    live = False if args.plain else None
    with contextlib.suppress(KeyboardInterrupt):
        send = watch(
            lambda: connection.call(stub.GetSend, request), args.interval, live=live, throttles=throttles
        )
        return 0 if send.state == messages_pb2.SEND_STATE_COMPLETED else 1
    return 130


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, not {text!r}")
    return seconds


def _change(method: str) -> Callable[[Connection, argparse.Namespace], int]:
    """A command calling ``method`` (PauseSend, ResumeSend, CancelSend) and printing the state after it."""

    def change(connection: Connection, args: argparse.Namespace) -> int:
        request = getattr(messages_pb2, f"{method}Request")(send_id=args.send_id)
        send = connection.call(getattr(_sends(connection), method), request)
        print(f"send {send.send_id}: {state_name(send)}")
        return 0

    return change


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``sends`` and its subcommands, under ``herald``."""
    sends = commands.add_parser("sends", help="a project's bulk sends (API key)")
    send_commands = sends.add_subparsers(dest="sends_command", required=True)
    listing = send_commands.add_parser("list", help="the project's sends, newest first")
    listing.add_argument("--state", action="append", choices=sorted(_STATES), default=[], help="repeatable")
    listing.add_argument("--since", default="", help="created at or after (ISO 8601; UTC unless given)")
    listing.add_argument("--until", default="", help="created before (ISO 8601; UTC unless given)")
    add_paging_options(listing)
    show = send_commands.add_parser(
        "show", help="one send: state, pace, counts per channel, paused channels, feedback"
    )
    show.add_argument("--json", action="store_true", help="the Send message as JSON")
    watching = send_commands.add_parser("watch", help="follow a send's progress until it ends")
    watching.add_argument("--interval", type=_seconds, default=1.0, help="seconds between polls (default 1)")
    watching.add_argument("--plain", action="store_true", help="plain lines even on a terminal")
    pause = send_commands.add_parser("pause", help="stop handing its messages to providers")
    resume = send_commands.add_parser("resume", help="continue a paused send (and its paused channels)")
    cancel = send_commands.add_parser("cancel", help="cancel what is not sent yet")
    commands_of = {
        listing: list_sends,
        show: show_send,
        watching: watch_send,
        pause: _change("PauseSend"),
        resume: _change("ResumeSend"),
        cancel: _change("CancelSend"),
    }
    for parser in commands_of:
        if parser is not listing:
            parser.add_argument("send_id")
    commands_of |= add_stats_commands(send_commands)
    for parser, command in commands_of.items():
        add_connection_options(parser, "api")
        parser.set_defaults(run=client_command("api", command))
