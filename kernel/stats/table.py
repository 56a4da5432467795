"""Statistics as a table of figures (rows) by column: a send's channels (the total first), or a
campaign's occurrences; what ``herald sends stats`` and ``herald campaigns stats`` print and the reports
show. :func:`aligned` prints any table (an automation's, :mod:`kernel.stats.automation_table`)."""

from __future__ import annotations

from collections.abc import Sequence

from herald.v1 import stats_pb2

#: A column of a table: its heading and its figures.
Column = tuple[str, stats_pb2.ChannelStats]

#: (label, figure) in the order people read a send: the audience, the outcomes, the reports.
FIGURE_ROWS = (
    ("targeted", "targeted"),
    ("deduplicated", "deduplicated"),
    ("not consented", "not_consented"),
    ("suppressed", "suppressed"),
    ("sent", "sent"),
    ("failed", "failed"),
    ("expired", "expired"),
    ("cancelled", "cancelled"),
    ("capped", "capped"),
    ("grace period", "grace_period"),
    ("quiet hours, dropped", "quiet_hours_dropped"),
    ("quiet hours, delayed", "quiet_hours_delayed"),
    ("retries", "retries"),
    ("delivered", "delivered"),
    ("bounced", "bounced"),
    ("opened", "opened"),
    ("clicked", "clicked"),
    ("converted", "converted"),
    ("open events", "open_events"),
    ("click events", "click_events"),
    ("unsubscribed", "unsubscribed"),
    ("complained", "complained"),
)
#: (label, rate) — fractions of sent (delivery, conversion) and of delivered (open, click).
RATE_ROWS = (
    ("delivery rate", "delivery"),
    ("open rate", "open"),
    ("click rate", "click"),
    ("conversion rate", "conversion"),
)


def columns(stats: stats_pb2.SendStats) -> list[Column]:
    """The total, then each channel."""
    return [(heading(channel), channel) for channel in (stats.total, *stats.channels)]


def heading(channel: stats_pb2.ChannelStats) -> str:
    return channel.channel or "total"


def rows(shown: Sequence[Column]) -> Body:
    """Each figure's and rate's label and cells, one per column."""
    cells = [channel for _, channel in shown]
    table = [(label, [f"{getattr(c.figures, name):,}" for c in cells]) for label, name in FIGURE_ROWS]
    table.insert(FIGURE_ROWS.index(("retries", "retries")), ("pending", [f"{c.pending:,}" for c in cells]))
    table += [(label, [f"{getattr(c.rates, name):.1%}" for c in cells]) for label, name in RATE_ROWS]
    return table


#: A table's body: each row's label and cells, one per column.
Body = list[tuple[str, list[str]]]


def text_table(shown: Sequence[Column]) -> str:
    """The table as aligned text."""
    return aligned([title for title, _ in shown], rows(shown))


def aligned(headings: Sequence[str], body: Body) -> str:
    """Any table as aligned text: the headings over the cells, the labels on the left."""
    label_width = max(len(label) for label, _ in body)
    widths = [max(len(title), *(len(cells[i]) for _, cells in body)) for i, title in enumerate(headings)]
    lines = [" " * label_width + "".join(f"  {t:>{w}}" for t, w in zip(headings, widths, strict=True))]
    lines += [
        f"{label:<{label_width}}" + "".join(f"  {c:>{w}}" for c, w in zip(cells, widths, strict=True))
        for label, cells in body
    ]
    return "\n".join(lines)
