"""The ``herald`` command: run the server, show settings, manage projects and keys, follow sends, import.

herald serve                    run the kernel (gRPC on HERALD_GRPC_ADDRESS)
herald worker [--workers N]     run sender workers only: bulk sends, no API (several may share a database)
herald settings [--doc]         print the effective settings (or every setting with its default)
herald project create|list      create a project and its first API key, list projects (admin key)
herald key create|list|revoke   a project's API keys (admin key)
herald sends list|show|watch|pause|resume|cancel   a project's bulk sends (API key)
herald campaigns list|show|cancel|stats|report     a project's campaigns, occurrences and statistics (API key)
herald webhooks list|deliveries   a project's outgoing webhook endpoints, their last calls (API key)
herald import FILE              import profiles from a JSONL or CSV file (API key)
herald emulator CHANNEL         run a channel's provider emulator on loopback until Ctrl-C
herald demo                     see it work: an A/B campaign to synthetic customers, in a sandbox of its own
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

import orjson

from kernel import cli_automations, cli_campaigns, cli_demo, cli_projects, cli_sends, cli_webhooks
from kernel.api_processes import SIBLING_OPTION, die_with
from kernel.client import add_connection_options, client_credentials
from kernel.grpc_tls import TlsFileError
from kernel.key_sources import KeyNotFound, find_api_key
from kernel.logs import configure_logging
from kernel.setting_readers import refused_by_worker
from kernel.settings import Settings, documentation, markdown_table


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvloop

    from kernel.server import serve

    configure_logging(settings.log_level, settings.log_format, settings.log_repeat_window_seconds)
    if args.sibling_of is not None:
        die_with(args.sibling_of)
    try:
        uvloop.run(serve(settings))
    except TlsFileError as unreadable:
        print(f"herald: {unreadable}", file=sys.stderr)
        return 2
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    import uvloop

    from kernel.server import work

    if args.workers is not None:
        settings = settings.model_copy(update={"worker_count": args.workers})
    if settings.worker_count < 1:
        print("herald: a worker process needs at least one worker (--workers)", file=sys.stderr)
        return 2
    if refused := refused_by_worker(settings):
        names = ", ".join(f"HERALD_{name.upper()}" for name in refused)
        print(
            f"herald: {names} is applied by the API (herald serve) when a send is created, never by a "
            "worker: set it on the kernels that serve the API, not on `herald worker`",
            file=sys.stderr,
        )
        return 2
    configure_logging(settings.log_level, settings.log_format, settings.log_repeat_window_seconds)
    uvloop.run(work(settings))
    return 0


def _settings(args: argparse.Namespace, settings: Settings) -> int:
    if args.markdown:
        print(markdown_table())
    elif args.doc:
        for env, type_name, default, description in documentation():
            print(f"{env} ({type_name}, default {default})\n    {description}")
    else:
        print(orjson.dumps(settings.effective(), option=orjson.OPT_INDENT_2, default=str).decode())
    return 0


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from kernel.importer import run_import

    try:
        api_key = find_api_key(args.api_key)
    except KeyNotFound as missing:
        print(f"herald: {missing}", file=sys.stderr)
        return 2
    try:
        credentials = client_credentials(args, settings)
    except TlsFileError as unreadable:
        print(f"herald: {unreadable}", file=sys.stderr)
        return 2
    address = args.address or settings.grpc_address
    return asyncio.run(run_import(args.file, api_key.secret, address, args.format, credentials))


def _emulator(args: argparse.Namespace, settings: Settings) -> int:
    from kernel.plugins import ChannelManager, NoEmulator, UnknownChannel

    manager = ChannelManager()
    try:
        emulator = manager.emulator(args.channel)
    except UnknownChannel:
        known = ", ".join(spec.name for spec in manager.channels())
        print(f"herald: unknown channel {args.channel!r} (known: {known})", file=sys.stderr)
        return 2
    except NoEmulator as missing:
        print(f"herald: {missing}", file=sys.stderr)
        return 2
    config = manager.validate_config(args.channel, emulator.enter_sandbox())

    async def run() -> None:
        async with emulator:
            print(f"{args.channel} emulator at {emulator.endpoint} (accepts any well-formed credentials)")
            print("a configuration it accepts:", orjson.dumps(dict(config)).decode(), flush=True)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="herald", description=__doc__.split("\n\n")[0])
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the gRPC kernel")
    # Given by `herald serve` to the processes it starts for api_processes (kernel.api_processes).
    serve.add_argument(SIBLING_OPTION, type=int, default=None, dest="sibling_of", help=argparse.SUPPRESS)
    serve.set_defaults(run=_serve)
    worker = commands.add_parser("worker", help="run sender workers only (bulk sends), no API")
    worker.add_argument("--workers", type=int, default=None, help="how many (default: HERALD_WORKER_COUNT)")
    worker.set_defaults(run=_worker)
    show = commands.add_parser("settings", help="print the effective settings")
    show.add_argument("--doc", action="store_true", help="list every setting with its default instead")
    show.add_argument("--markdown", action="store_true", help="the same as the README's settings table")
    show.set_defaults(run=_settings)
    cli_projects.add_commands(commands)
    cli_sends.add_commands(commands)
    cli_campaigns.add_commands(commands)
    cli_automations.add_commands(commands)
    cli_webhooks.add_commands(commands)
    importing = commands.add_parser("import", help="import profiles from a JSONL or CSV file")
    importing.add_argument("file", help="a .jsonl or .csv file (see the README for the columns)")
    add_connection_options(importing, "api")
    importing.add_argument("--format", choices=("jsonl", "csv"), default=None, help="default: by extension")
    importing.set_defaults(run=_import)
    emulate = commands.add_parser("emulator", help="run a channel's provider emulator on loopback")
    emulate.add_argument("channel", help="a channel name, e.g. email.sparkpost")
    emulate.set_defaults(run=_emulator)
    cli_demo.add_command(commands)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings()
    except ValueError as error:
        print(f"herald: invalid settings: {error}", file=sys.stderr)
        return 2
    return args.run(args, settings)


if __name__ == "__main__":
    sys.exit(main())
