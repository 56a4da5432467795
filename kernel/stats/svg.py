"""Charts as inline SVG text, drawn here: a report must open anywhere, offline, without a script or a
library, so each chart is a handful of rectangles, polylines and labels.

Every chart takes any number of series (channels today, a campaign's variants tomorrow), each drawn in
its colour of :data:`PALETTE` and named in the legend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

#: Distinct colours, taken in order by the series (and again from the first past the last).
PALETTE = ("#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d")
_WIDTH = 720
_HEIGHT = 300
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 40, 56
_GRID_LINES = 4


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    #: One value per category (bar chart) or per point (line chart).
    values: Sequence[float]


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:,.2g}"


def _frame(title: str, body: list[str], series: Sequence[Series]) -> str:
    """The chart's svg element: its title, ``body``, and a legend of ``series`` at the bottom."""
    legend = []
    x = _LEFT
    for index, one in enumerate(series):
        legend.append(f'<rect x="{x}" y="{_HEIGHT - 18}" width="10" height="10" fill="{_colour(index)}"/>')
        legend.append(f'<text x="{x + 14}" y="{_HEIGHT - 9}" font-size="11">{escape(one.name)}</text>')
        x += 24 + 7 * len(one.name)
    return "".join(
        (
            f'<svg width="{_WIDTH}" height="{_HEIGHT}" '
            f'viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" aria-label="{escape(title)}" '
            'font-family="system-ui, sans-serif">',
            f'<text x="{_LEFT}" y="22" font-size="14" font-weight="600">{escape(title)}</text>',
            *body,
            *legend,
            "</svg>",
        )
    )


def _grid(top_value: float) -> list[str]:
    """Horizontal lines and their values from 0 to ``top_value``."""
    lines = []
    plot_height = _HEIGHT - _TOP - _BOTTOM
    for step in range(_GRID_LINES + 1):
        y = _HEIGHT - _BOTTOM - plot_height * step / _GRID_LINES
        right = _WIDTH - _RIGHT
        lines.append(f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        label = _number(top_value * step / _GRID_LINES)
        lines.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{label}</text>')
    return lines


def _top(series: Sequence[Series]) -> float:
    return max((value for one in series for value in one.values), default=0.0) or 1.0


def _y(value: float, top_value: float) -> float:
    return _HEIGHT - _BOTTOM - (_HEIGHT - _TOP - _BOTTOM) * value / top_value


def bar_chart(title: str, categories: Sequence[str], series: Sequence[Series]) -> str:
    """Bars grouped by category, one per series side by side (e.g. a funnel's steps, per channel)."""
    top_value = _top(series)
    body = _grid(top_value)
    slot = (_WIDTH - _LEFT - _RIGHT) / max(len(categories), 1)
    bar = slot * 0.8 / max(len(series), 1)
    for position, category in enumerate(categories):
        left = _LEFT + slot * position + slot * 0.1
        for index, one in enumerate(series):
            value = one.values[position]
            y = _y(value, top_value)
            body.append(
                f'<rect x="{left + bar * index:.1f}" y="{y:.1f}" width="{bar * 0.92:.1f}" '
                f'height="{_HEIGHT - _BOTTOM - y:.1f}" fill="{_colour(index)}">'
                f"<title>{escape(one.name)} {escape(category)}: {_number(value)}</title></rect>"
            )
        middle = _LEFT + slot * (position + 0.5)
        body.append(
            f'<text x="{middle:.1f}" y="{_HEIGHT - _BOTTOM + 16}" font-size="11" text-anchor="middle">'
            f"{escape(category)}</text>"
        )
    return _frame(title, body, series)


def line_chart(title: str, labels: Sequence[str], series: Sequence[Series]) -> str:
    """A line per series over ``labels`` (e.g. hours), evenly spaced; a lone point is drawn as a dot."""
    top_value = _top(series)
    body = _grid(top_value)
    span = _WIDTH - _LEFT - _RIGHT
    step = span / (len(labels) - 1) if len(labels) > 1 else 0.0

    def x(position: int) -> float:
        return _LEFT + (step * position if len(labels) > 1 else span / 2)

    shown = max(1, len(labels) // 8)  # at most about eight labels under the axis
    for position, label in enumerate(labels):
        if position % shown == 0:
            body.append(
                f'<text x="{x(position):.1f}" y="{_HEIGHT - _BOTTOM + 16}" font-size="10" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    for index, one in enumerate(series):
        points = " ".join(f"{x(p):.1f},{_y(v, top_value):.1f}" for p, v in enumerate(one.values))
        colour = _colour(index)
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        body.extend(
            f'<circle cx="{x(p):.1f}" cy="{_y(v, top_value):.1f}" r="3" fill="{colour}">'
            f"<title>{escape(one.name)} {escape(labels[p])}: {_number(v)}</title></circle>"
            for p, v in enumerate(one.values)
        )
    return _frame(title, body, series)
