"""``herald demo``: one command that shows Herald at work, on its own sandboxed kernel and embedded
database (no provider account, no DSN, no running server needed)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import timedelta
from pathlib import Path

import grpc

from kernel.client import CommandFailed
from kernel.logs import configure_logging
from kernel.settings import Settings

#: Below this, the test's parts are too small for a winner to mean anything.
MIN_CUSTOMERS = 50


def _refusal(args: argparse.Namespace, settings: Settings) -> str | None:
    """Why the demo does not run with these options and settings, if it does not."""
    if settings.database_url:
        return (
            "the demo runs on an embedded PostgreSQL of its own (--data-dir), never on "
            "HERALD_DATABASE_URL's database, which would keep its project of synthetic customers: unset it"
        )
    if args.customers < MIN_CUSTOMERS:
        return f"--customers: at least {MIN_CUSTOMERS}"
    if args.test_period <= 0:
        return "--test-period: a number of seconds above 0"
    if args.report and not args.report.parent.is_dir():
        return f"--report: no folder {args.report.parent}"
    return None


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from kernel.demo import DemoFailed, TourOptions, run_demo

    if refusal := _refusal(args, settings):
        print(f"herald: {refusal}", file=sys.stderr)
        return 2
    configure_logging("WARNING", "text", settings.log_repeat_window_seconds)
    report = args.report or args.data_dir / "demo-report.html"
    options = TourOptions(args.customers, timedelta(seconds=args.test_period), args.data_dir, report)
    try:
        asyncio.run(run_demo(settings, options))
    except KeyboardInterrupt:
        print("herald: demo interrupted", file=sys.stderr)
        return 130
    except (DemoFailed, CommandFailed) as failure:
        print(f"herald: demo failed: {failure}", file=sys.stderr)
        return 1
    except grpc.aio.AioRpcError as error:
        print(f"herald: demo failed: {error.code().name}: {error.details()}", file=sys.stderr)
        return 1
    print(f"\nexplore it: HERALD_DATA_DIR={args.data_dir} HERALD_SANDBOX=true make run")
    return 0


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``demo``, under ``herald``."""
    demo = commands.add_parser(
        "demo", help="see it work: customers, segments, templates and an A/B campaign, in a sandbox"
    )
    demo.add_argument("--customers", type=int, default=10_000, help="synthetic customers (default 10,000)")
    demo.add_argument(
        "--test-period",
        type=float,
        default=30.0,
        help="seconds the A/B test runs before its winner (default 30)",
    )
    demo.add_argument(
        "--data-dir",
        type=Path,
        default=Path("herald-demo"),
        help="the demo's embedded PostgreSQL and files, kept afterwards (default ./herald-demo)",
    )
    demo.add_argument(
        "--report", type=Path, help="the HTML report to write (default DATA_DIR/demo-report.html)"
    )
    demo.set_defaults(run=_demo)
