"""``herald sends report``: one HTML page that holds everything (styles and charts inline, no script,
nothing fetched), so that it can be mailed, archived and opened offline.

Made of GetSendStats' answer: the figures table, the funnel (targeted, sent, delivered, opened,
clicked) with the channels side by side, and delivery and engagement per hour. Charts take any number of
series (:mod:`kernel.stats.svg`): a campaign's report adds its occurrences (and variants) side by side,
each group as a table and a funnel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape

from herald.v1 import stats_pb2
from kernel.stats.svg import Series, bar_chart, line_chart
from kernel.stats.table import Body, Column, columns, rows

FUNNEL = ("targeted", "sent", "delivered", "opened", "clicked")
#: A campaign's, which has a goal.
CAMPAIGN_FUNNEL = (*FUNNEL, "converted")
DELIVERY = ("sent", "delivered", "failed", "bounced")
ENGAGEMENT = ("opened", "clicked", "unsubscribed", "complained")
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #111827; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { padding: 0.25rem 0.75rem; border-bottom: 1px solid #e5e7eb; text-align: right; }
th:first-child, td:first-child { text-align: left; }
figure { margin: 1.5rem 0; }
.ids { color: #6b7280; font-size: 0.85rem; }
"""


def _hour_labels(stats: stats_pb2.SendStats) -> list[str]:
    starts = sorted({bucket.start.seconds for bucket in stats.hours})
    return [datetime.fromtimestamp(start, UTC).strftime("%m-%d %H:00") for start in starts]


def _per_hour(stats: stats_pb2.SendStats, figure: str) -> list[float]:
    """``figure`` of every channel together, per hour."""
    totals: dict[int, float] = {}
    for bucket in stats.hours:
        totals[bucket.start.seconds] = totals.get(bucket.start.seconds, 0) + getattr(bucket.figures, figure)
    return [totals[start] for start in sorted(totals)]


def _over_time(title: str, stats: stats_pb2.SendStats, figures: Sequence[str]) -> str:
    return line_chart(title, _hour_labels(stats), [Series(f, _per_hour(stats, f)) for f in figures])


def _table(shown: Sequence[Column]) -> str:
    return html_table([title for title, _ in shown], rows(shown))


def html_table(headings: Sequence[str], body: Body) -> str:
    """Any table (:mod:`kernel.stats.table`'s form) as an HTML table."""
    head = "".join(f"<th>{escape(title)}</th>" for title in headings)
    cells = "".join(
        f"<tr><td>{escape(label)}</td>{''.join(f'<td>{escape(cell)}</td>' for cell in cells)}</tr>"
        for label, cells in body
    )
    return f"<table><thead><tr><th></th>{head}</tr></thead><tbody>{cells}</tbody></table>"


def _funnel(shown: Sequence[Column], steps: Sequence[str]) -> list[Series]:
    return [Series(title, [getattr(channel.figures, step) for step in steps]) for title, channel in shown]


def render(
    stats: stats_pb2.SendStats,
    title: str,
    groups: Mapping[str, Sequence[Column]] | None = None,
    funnel_steps: Sequence[str] = FUNNEL,
) -> str:
    """The report page of ``stats``; ``groups``: further columns side by side (a campaign's occurrences,
    its variants), each under its name with its table and its funnel of ``funnel_steps``."""
    funnel = _funnel(columns(stats), funnel_steps)
    charts = [
        bar_chart("Funnel", funnel_steps, funnel[:1]),
        bar_chart("Funnel by channel", funnel_steps, funnel[1:]),
        _over_time("Delivery per hour (UTC)", stats, DELIVERY),
        _over_time("Engagement per hour (UTC)", stats, ENGAGEMENT),
    ]
    figures = "".join(f"<figure>{chart}</figure>" for chart in charts)
    for name, shown in (groups or {}).items():
        chart = bar_chart(f"Funnel by {name}", funnel_steps, _funnel(shown, funnel_steps))
        figures += f"<h2>By {escape(name)}</h2>{_table(shown)}<figure>{chart}</figure>"
    ids = ", ".join(stats.send_ids)
    return page(title, f"sends {ids}", f"{_table(columns(stats))}{figures}")


def page(title: str, about: str, body: str) -> str:
    """A whole report page: ``title``, a line ``about`` what it reads (and when it was made), ``body``."""
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="ids">{escape(about)}; made {made}</p>'
        f"{body}</body></html>\n"
    )
