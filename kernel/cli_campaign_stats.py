"""``herald campaigns stats|report``: a campaign's statistics, in total, per channel and per occurrence
(project API key), printed and drawn as ``herald sends stats|report`` do a send's."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from herald.v1 import stats_pb2, stats_pb2_grpc
from kernel.cli_stats import add_stats_parsers, bucket_cells, write_csv, write_page
from kernel.client import Connection
from kernel.stats.figures import FIGURES
from kernel.stats.report import CAMPAIGN_FUNNEL, render
from kernel.stats.table import Column, columns, text_table

CSV_COLUMNS = ("occurrence_key", "send_id", "channel", "bucket_start", *FIGURES)


def _stats(connection: Connection) -> stats_pb2_grpc.StatsServiceStub:
    return stats_pb2_grpc.StatsServiceStub(connection.channel)


def _read(connection: Connection, campaign_id: str) -> stats_pb2.CampaignStats:
    request = stats_pb2.GetCampaignStatsRequest(campaign_id=campaign_id)
    return connection.call(_stats(connection).GetCampaignStats, request)


def _by_occurrence(stats: stats_pb2.CampaignStats) -> list[Column]:
    """A column per occurrence's send, headed by its key, and in an A/B test by its part: the variant's
    name, then the winner's name again for the rest of the audience (the occurrence's last send)."""
    columns = []
    parts: set[tuple[str, str]] = set()
    for occurrence in stats.occurrences:
        heading, part = occurrence.occurrence_key, (occurrence.occurrence_key, occurrence.variant)
        if occurrence.variant:
            heading += f" {occurrence.variant}" + (" (rest)" if part in parts else " (test)")
        parts.add(part)
        columns.append((heading, occurrence.total))
    return columns


def show_campaign_stats(connection: Connection, args: argparse.Namespace) -> int:
    """The campaign's table (total and channels), then one column per occurrence; with ``--csv``, the
    rows per occurrence, channel and hour written to a file instead."""
    if args.csv:
        request = stats_pb2.ExportCampaignStatsRequest(campaign_id=args.campaign_id)
        rows = connection.stream(_stats(connection).ExportCampaignStats, request)
        return write_csv(
            args.csv, CSV_COLUMNS, ([row.occurrence_key, row.send_id, *bucket_cells(row)] for row in rows)
        )
    stats = _read(connection, args.campaign_id)
    print(text_table(columns(stats.campaign)))
    if stats.occurrences:
        print(f"\nby occurrence\n{text_table(_by_occurrence(stats))}")
    return 0


def write_campaign_report(connection: Connection, args: argparse.Namespace) -> int:
    stats = _read(connection, args.campaign_id)
    groups = {"occurrence": _by_occurrence(stats)}
    if stats.variants:
        groups["variant"] = [(variant.variant, variant.total) for variant in stats.variants]
    title = args.title or f"Campaign {args.campaign_id}"
    write_page(args.output, render(stats.campaign, title, groups, CAMPAIGN_FUNNEL))
    return 0


def add_campaign_stats_commands(
    campaign_commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> dict[argparse.ArgumentParser, Callable[[Connection, argparse.Namespace], int]]:
    """``stats`` and ``report`` under ``herald campaigns``; returns each parser's command."""
    stats, report = add_stats_parsers(
        campaign_commands,
        "figures in total, per channel and per occurrence (test sends not counted)",
        "per occurrence, channel and hour",
        "the campaign id",
    )
    return {stats: show_campaign_stats, report: write_campaign_report}
