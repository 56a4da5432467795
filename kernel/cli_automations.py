"""``herald automations stats|report``: an automation's statistics in total, per version and per step
(project API key), printed, exported as CSV and drawn as one self-contained HTML page."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from herald.v1 import stats_pb2, stats_pb2_grpc
from kernel.cli_stats import add_stats_parsers, write_csv, write_page
from kernel.client import Connection, add_connection_options, client_command
from kernel.stats.automation_table import FIGURES, body, fact_kinds, other_reasons, overview, render, steps
from kernel.stats.table import aligned


def _stats(connection: Connection) -> stats_pb2_grpc.StatsServiceStub:
    return stats_pb2_grpc.StatsServiceStub(connection.channel)


def _read(connection: Connection, automation_id: str) -> stats_pb2.AutomationStats:
    request = stats_pb2.GetAutomationStatsRequest(automation_id=automation_id)
    return connection.call(_stats(connection).GetAutomationStats, request)


def show_automation_stats(connection: Connection, args: argparse.Namespace) -> int:
    """The automation and its versions, then each version's steps; with ``--csv``, a row per version
    and step written to a file instead."""
    if args.csv:
        return _export(connection, args.automation_id, args.csv)
    stats = _read(connection, args.automation_id)
    shown = overview(stats)
    print(aligned([heading for heading, _ in shown], body(shown)))
    for version in stats.versions:
        columns = steps(version)
        print(f"\nsteps of version {version.version}\n{aligned([h for h, _ in columns], body(columns))}")
    return 0


def _export(connection: Connection, automation_id: str, path: Path) -> int:
    """Columns: the figures, then one per exit reason and per fact kind found (``left:<reason>``,
    ``fact:<kind>``): the steps of other engineers' kinds record facts this command need not know."""
    request = stats_pb2.ExportAutomationStatsRequest(automation_id=automation_id)
    rows = list(connection.stream(_stats(connection).ExportAutomationStats, request))
    figures = [row.figures for row in rows]
    reasons, kinds = other_reasons(figures), fact_kinds(figures)
    header = (
        "version",
        "step_id",
        "kind",
        *FIGURES,
        *(f"left:{r}" for r in reasons),
        *(f"fact:{k}" for k in kinds),
    )
    return write_csv(
        path,
        header,
        (
            [
                row.version,
                row.step_id,
                row.kind,
                *(getattr(row.figures, name) for name in FIGURES),
                *(row.figures.left_by_reason.get(reason, 0) for reason in reasons),
                *(row.figures.facts.get(kind, 0) for kind in kinds),
            ]
            for row in rows
        ),
    )


def write_automation_report(connection: Connection, args: argparse.Namespace) -> int:
    stats = _read(connection, args.automation_id)
    write_page(args.output, render(stats, args.title or f"Automation {args.automation_id}"))
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``automations`` and its statistics subcommands, under ``herald``."""
    automations = commands.add_parser("automations", help="a project's automations (API key)")
    automation_commands = automations.add_subparsers(dest="automations_command", required=True)
    stats, report = add_stats_parsers(
        automation_commands,
        "figures in total, per version and per step: entries, exits, messages, reports",
        "per version and step",
        "the automation id",
    )
    commands_of: dict[argparse.ArgumentParser, Callable[[Connection, argparse.Namespace], int]] = {
        stats: show_automation_stats,
        report: write_automation_report,
    }
    for parser, command in commands_of.items():
        parser.add_argument("automation_id")
        add_connection_options(parser, "api")
        parser.set_defaults(run=client_command("api", command))
