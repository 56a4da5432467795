"""An automation's statistics as tables and charts: what ``herald automations stats`` prints and
``herald automations report`` draws, columns of AutomationFigures (the automation, its versions, a
version's steps) in :mod:`kernel.stats.table`'s form, and the page made of them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from herald.v1 import stats_pb2
from kernel.stats.report import html_table, page
from kernel.stats.svg import Series, bar_chart
from kernel.stats.table import Body

#: A column: its heading and its figures.
Column = tuple[str, stats_pb2.AutomationFigures]
#: (label, figure) in the order people read an automation: entries, where they went, messages, reports.
FIGURE_ROWS = (
    ("entered", "entered"),
    ("inside", "inside"),
    ("left", "left"),
    ("completed", "completed"),
    ("exited by exit event", "exited_by_exit_event"),
    ("archived", "archived"),
    ("messages", "messages"),
    ("sent", "sent"),
    ("failed", "failed"),
    ("delivered", "delivered"),
    ("bounced", "bounced"),
    ("opened", "opened"),
    ("clicked", "clicked"),
    ("converted", "converted"),
)
#: The scalar figures, as the CSV export's columns name them.
FIGURES = tuple(name for _, name in FIGURE_ROWS)
#: Reasons and facts with a row of their own above.
_NAMED_REASONS = frozenset({"completed", "exit_event", "archived"})
_NAMED_FACTS = frozenset({"message"})
FUNNEL = ("entered", "sent", "delivered", "opened", "clicked", "converted")
STEP_CHART = ("inside", "left", "sent", "opened", "clicked", "converted")


def other_reasons(figures: Iterable[stats_pb2.AutomationFigures]) -> list[str]:
    """The exit reasons without a named figure, in any of ``figures``."""
    return sorted({reason for f in figures for reason in f.left_by_reason} - _NAMED_REASONS)


def fact_kinds(figures: Iterable[stats_pb2.AutomationFigures]) -> list[str]:
    """The fact kinds without a named figure, in any of ``figures``."""
    return sorted({kind for f in figures for kind in f.facts} - _NAMED_FACTS)


def body(shown: Sequence[Column]) -> Body:
    """Each figure's row, then a row per other exit reason and per fact kind found."""
    cells = [figures for _, figures in shown]
    table = [(label, [f"{getattr(f, name):,}" for f in cells]) for label, name in FIGURE_ROWS]
    table += [
        (f"left: {r}", [f"{f.left_by_reason.get(r, 0):,}" for f in cells]) for r in other_reasons(cells)
    ]
    table += [(f"fact: {k}", [f"{f.facts.get(k, 0):,}" for f in cells]) for k in fact_kinds(cells)]
    return table


def overview(stats: stats_pb2.AutomationStats) -> list[Column]:
    """The automation, then each version."""
    return [("total", stats.total)] + [(f"v{v.version}", v.total) for v in stats.versions]


def steps(version: stats_pb2.AutomationVersionStats) -> list[Column]:
    return [(f"{step.step_id} ({step.kind or '?'})", step.figures) for step in version.steps]


def _chart(title: str, categories: Sequence[str], shown: Sequence[Column]) -> str:
    series = [Series(heading, [getattr(figures, name) for name in categories]) for heading, figures in shown]
    return f"<figure>{bar_chart(title, categories, series)}</figure>"


def _step_chart(version: stats_pb2.AutomationVersionStats) -> str:
    names = [step.step_id for step in version.steps]
    series = [Series(name, [getattr(step.figures, name) for step in version.steps]) for name in STEP_CHART]
    return f"<figure>{bar_chart(f'Steps of version {version.version}', names, series)}</figure>"


def render(stats: stats_pb2.AutomationStats, title: str) -> str:
    """The report page: the automation and its versions (table and funnel), then each version's steps."""
    shown = overview(stats)
    goal = f"; converts on {stats.conversion_event}" if stats.conversion_event else ""
    parts = [html_table([h for h, _ in shown], body(shown)), _chart("Funnel", FUNNEL, shown)]
    for version in stats.versions:
        columns = steps(version)
        parts += [
            f"<h2>Version {version.version}</h2>",
            html_table([h for h, _ in columns], body(columns)),
            _step_chart(version),
        ]
    return page(title, f"automation {stats.automation_id}{goal}", "".join(parts))
