"""``herald sends stats|report``: the statistics of one send or several read together (project API key)."""

from __future__ import annotations

import argparse
import csv
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from herald.v1 import stats_pb2, stats_pb2_grpc
from kernel.client import CommandFailed, Connection
from kernel.stats.figures import FIGURES
from kernel.stats.report import render
from kernel.stats.table import columns, text_table

CSV_COLUMNS = ("send_id", "channel", "bucket_start", *FIGURES)


def _stats(connection: Connection) -> stats_pb2_grpc.StatsServiceStub:
    return stats_pb2_grpc.StatsServiceStub(connection.channel)


def show_stats(connection: Connection, args: argparse.Namespace) -> int:
    """The figures table; with ``--csv``, the rows per send, channel and hour written to a file instead."""
    if args.csv:
        return _export(connection, args.send_ids, args.csv)
    request = stats_pb2.GetSendStatsRequest(send_ids=args.send_ids)
    print(text_table(columns(connection.call(_stats(connection).GetSendStats, request))))
    return 0


def _export(connection: Connection, send_ids: list[str], path: Path) -> int:
    request = stats_pb2.ExportSendStatsRequest(send_ids=send_ids)
    rows = connection.stream(_stats(connection).ExportSendStats, request)
    return write_csv(path, CSV_COLUMNS, ([row.send_id, *bucket_cells(row)] for row in rows))


def bucket_cells(
    row: stats_pb2.ExportSendStatsResponse | stats_pb2.ExportCampaignStatsResponse,
) -> list[object]:
    """An export row's channel, hour (ISO 8601, UTC) and figures, as CSV cells."""
    start = datetime.fromtimestamp(row.bucket_start.seconds, UTC).isoformat()
    return [row.channel, start, *(getattr(row.figures, name) for name in FIGURES)]


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Writes the header and the rows to ``path``, and says how many rows."""
    written = 0
    with _opened(path) as file:
        writer = csv.writer(file)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            written += 1
    print(f"{written:,} rows written to {path}")
    return 0


def write_report(connection: Connection, args: argparse.Namespace) -> int:
    request = stats_pb2.GetSendStatsRequest(send_ids=args.send_ids)
    stats = connection.call(_stats(connection).GetSendStats, request)
    title = args.title or ("Send " if len(args.send_ids) == 1 else "Sends ") + ", ".join(args.send_ids)
    write_page(args.output, render(stats, title))
    return 0


def write_page(path: Path, page: str) -> None:
    with _opened(path) as file:
        file.write(page)
    print(f"report written to {path}")


def _opened(path: Path) -> TextIO:
    try:
        return path.open("w", encoding="utf-8", newline="")
    except OSError as error:
        raise CommandFailed(f"cannot write {path}: {error.strerror}") from error


def add_stats_commands(
    send_commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> dict[argparse.ArgumentParser, Callable[[Connection, argparse.Namespace], int]]:
    """``stats`` and ``report`` under ``herald sends``; returns each parser's command."""
    stats, report = add_stats_parsers(
        send_commands,
        "figures in total and per channel: audience, outcomes, provider reports, rates",
        "per send, channel and hour",
        "the send ids",
    )
    for parser in (stats, report):
        parser.add_argument("send_ids", nargs="+", metavar="send_id", help="several are read together")
    return {stats: show_stats, report: write_report}


def add_stats_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], about: str, rows: str, default_title: str
) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The ``stats`` (``about`` it, with ``--csv`` of the figures ``rows``) and ``report`` parsers of
    a command group, whose pages are titled ``default_title`` unless told."""
    stats = commands.add_parser("stats", help=about)
    stats.add_argument("--csv", type=Path, help=f"write the figures {rows} to this file")
    report = commands.add_parser("report", help="one self-contained HTML page: figures and charts")
    report.add_argument("-o", "--output", type=Path, required=True, help="the HTML file to write")
    report.add_argument("--title", default="", help=f"the page's title (default: {default_title})")
    return stats, report
