"""gRPC client plumbing for the CLI's calls to a running kernel: the options every client command takes,
the key it authenticates with, and refusals explained in the operator's terms (which key was refused,
where it came from; whether anything listens at the address)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from kernel.grpc_tls import TlsFileError, channel_credentials
from kernel.key_sources import FoundKey, KeyNotFound, find_admin_key, find_api_key
from kernel.settings import Settings

KeyKind = Literal["api", "admin"]


class CommandFailed(Exception):
    """A client command cannot go on: the message is for the operator, ``status`` is the exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Connection:
    """A channel to the kernel and the key every call carries."""

    channel: grpc.Channel
    address: str
    key: FoundKey

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.key.secret}"),)

    def call(self, method: Callable[..., Any], request: Any) -> Any:
        """One unary call; a refusal becomes :class:`CommandFailed` saying what the operator can check."""
        try:
            return method(request, metadata=self.metadata)
        except grpc.RpcError as error:
            raise CommandFailed(self._explain(error)) from error

    def stream(self, method: Callable[..., Any], request: Any) -> Iterator[Any]:
        """A server-streaming call's messages; a refusal, even mid-stream, becomes :class:`CommandFailed`."""
        try:
            yield from method(request, metadata=self.metadata)
        except grpc.RpcError as error:
            raise CommandFailed(self._explain(error)) from error

    def _explain(self, error: grpc.RpcError) -> str:
        code, details = error.code(), error.details()
        hint = ""
        if code == grpc.StatusCode.UNAUTHENTICATED:
            hint = f" (the key came from {self.key.source})"
        elif code == grpc.StatusCode.UNAVAILABLE:
            hint = f" (is a Herald kernel serving at {self.address}?)"
        return f"{code.name}: {details}{hint}"


def add_connection_options(parser: argparse.ArgumentParser, key: KeyKind) -> None:
    parser.add_argument("--address", default="", help="Herald's gRPC address (default: $HERALD_GRPC_ADDRESS)")
    parser.add_argument(
        "--tls",
        action="store_true",
        help="connect over TLS, trusting the system's certificate authorities (default: $HERALD_GRPC_TLS)",
    )
    parser.add_argument(
        "--ca-file",
        default="",
        help="connect over TLS, trusting the PEM certificates in this file, e.g. the kernel's self-signed "
        "one (default: $HERALD_GRPC_TLS_CA_FILE)",
    )
    if key == "api":
        parser.add_argument("--api-key", default="", help="project API key (default: $HERALD_API_KEY)")
    else:
        parser.add_argument(
            "--admin-key",
            default="",
            help="operator key (default: $HERALD_ADMIN_KEY, else <data_dir>/admin_key, else the key file "
            "of the `herald serve` listening on the address's port on this machine)",
        )


def client_credentials(args: argparse.Namespace, settings: Settings) -> grpc.ChannelCredentials | None:
    """TLS as the options say, else as the settings say; None for plaintext."""
    return channel_credentials(args.tls or settings.grpc_tls, args.ca_file or settings.grpc_tls_ca_file)


def open_channel(address: str, args: argparse.Namespace, settings: Settings) -> grpc.Channel:
    credentials = client_credentials(args, settings)
    if credentials is None:
        return grpc.insecure_channel(address)
    return grpc.secure_channel(address, credentials)


ClientCommand = Callable[[Connection, argparse.Namespace], int]


def client_command(key: KeyKind, command: ClientCommand) -> Callable[[argparse.Namespace, Settings], int]:
    """``command`` as ``herald`` runs it: connected with the right key, failures printed on stderr."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        address = args.address or settings.grpc_address
        try:
            found = (
                find_api_key(args.api_key)
                if key == "api"
                else find_admin_key(args.admin_key, settings, address)
            )
        except KeyNotFound as missing:
            print(f"herald: {missing}", file=sys.stderr)
            return 2
        try:
            with open_channel(address, args, settings) as channel:
                return command(Connection(channel, address, found), args)
        except (CommandFailed, TlsFileError) as failed:
            print(f"herald: {failed}", file=sys.stderr)
            return failed.status

    return run


def timestamp(moment: str, option: str) -> Timestamp:
    """An ISO 8601 date or date and time from the command line (UTC unless it says otherwise)."""
    try:
        parsed = datetime.fromisoformat(moment)
    except ValueError as error:
        raise CommandFailed(f"{option}: not an ISO 8601 date or time: {moment!r}", status=2) from error
    stamp = Timestamp()
    stamp.FromDatetime(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))
    return stamp


def enum_choices(values: Iterable[tuple[str, int]], prefix: str) -> dict[str, int]:
    """A protobuf enum's values by their command-line names (``SEND_STATE_RUNNING``: ``running``), the
    unspecified zero left out: what a ``--state`` option accepts."""
    return {name.removeprefix(prefix).lower(): number for name, number in values if number}


def moment(stamp: Timestamp) -> str:
    """A timestamp for humans (UTC, to the second); empty when unset."""
    if not stamp.seconds and not stamp.nanos:
        return ""
    return stamp.ToDatetime(UTC).strftime("%Y-%m-%d %H:%M:%S")


def add_paging_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--page-size", type=int, default=0, help="per page (default: the server's, 100)")
    parser.add_argument(
        "--page-token", default="", help="the page to show, as printed after the previous one"
    )
    parser.add_argument("--all", action="store_true", help="every page, one after the other")


def paged(
    connection: Connection, method: Callable[..., Any], request: Any, items: str, args: argparse.Namespace
) -> list[Any]:
    """The listed resources (``items``: the answer's repeated field) of one page, or of all with ``--all``;
    after one page that is not the last, says on stderr how to ask for the next."""
    request.page_size, request.page_token = args.page_size, args.page_token
    listed: list[Any] = []
    while True:
        reply = connection.call(method, request)
        listed.extend(getattr(reply, items))
        if not reply.next_page_token:
            return listed
        if not args.all:
            print(f"(more: --page-token {reply.next_page_token}, or --all)", file=sys.stderr)
            return listed
        request.page_token = reply.next_page_token
