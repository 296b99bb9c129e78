"""The fleet overview's trend chart, drawn on the server as SVG: failed checks by severity
over the last runs, one stacked bar per run.

Drawn here rather than in the browser because the service's CSP allows no inline script
and no chart library from a CDN, and because an SVG in the page prints and archives with
it (an auditor's copy of the page keeps the chart). Every label is escaped (a site name or
a run ID is text someone typed); the SVG has a title and a description for screen readers
and each bar a <title> with its numbers, so the chart says the same thing without colour.
Colours are presentation attributes (`fill=`), which the CSP's style-src does not govern.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from markupsafe import Markup, escape

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import datetime

#: stacked bottom to top: the worst at the bottom, where the eye compares lengths best
SEVERITIES = ("critical", "high", "medium", "low", "info")
#: colour per severity: a sequence dark red -> grey that also reads in greyscale print
COLOURS = {
    "critical": "#7f1d1d",
    "high": "#c2410c",
    "medium": "#d97706",
    "low": "#6b8fbf",
    "info": "#9ca3af",
}


@dataclass(frozen=True, slots=True)
class Bar:
    """One run on the chart."""

    run_id: str
    started: datetime
    counts: Mapping[str, int]  # severity -> failed checks (missing = 0)


@dataclass(frozen=True, slots=True)
class ChartText:
    """The chart's words, already in the reader's language (the caller translates)."""

    title: str
    desc: str
    y_label: str
    x_label: str
    empty: str  # shown instead of bars when there is no run yet
    series: Mapping[str, str]  # severity -> its name
    bar_title: Callable[[Bar], str]  # a bar's tooltip and accessible name


@dataclass(frozen=True, slots=True)
class Box:
    """The chart's size in SVG user units; the page scales it to its column's width."""

    width: int = 760
    height: int = 260
    left: int = 56  # room for the y axis' numbers and label
    right: int = 12
    top: int = 34  # room for the legend
    bottom: int = 52  # room for the date labels and the x axis' label


def nice_step(top: int, ticks: int = 5) -> int:
    """A tick step of 1, 2 or 5 times a power of ten, giving at most `ticks` steps up to
    `top` (at least 1)."""
    if top <= ticks:
        return 1
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return int(factor * power)
    return int(10 * power)  # pragma: no cover - the loop always returns


def _fmt(value: float) -> str:
    """A coordinate with at most one decimal (short, stable output)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def date_label(started: datetime) -> str:
    return started.strftime("%m-%d %H:%M")


def trend_svg(
    bars: Sequence[Bar], text: ChartText, *, box: Box | None = None, ident: str = "trend"
) -> Markup:
    """The chart as an inline <svg> element (Markup: safe to put in a template as is)."""
    box = box or Box()
    title_id, desc_id = f"{ident}-title", f"{ident}-desc"
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trend-chart" role="img" '
        f'viewBox="0 0 {box.width} {box.height}" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}">',
        f'<title id="{escape(title_id)}">{escape(text.title)}</title>',
        f'<desc id="{escape(desc_id)}">{escape(text.desc)}</desc>',
    ]
    plot_w = box.width - box.left - box.right
    plot_h = box.height - box.top - box.bottom
    x0, y0 = box.left, box.top + plot_h  # the origin, bottom left of the plot
    out.append(_legend(text, box))
    totals = [sum(max(0, b.counts.get(s, 0)) for s in SEVERITIES) for b in bars]
    peak = max(totals, default=0)
    step = nice_step(peak)
    top = max(step, math.ceil(peak / step) * step)
    # y axis: grid lines and numbers
    for value in range(0, top + 1, step):
        y = y0 - plot_h * value / top
        out.append(
            f'<line class="grid" x1="{x0}" x2="{x0 + plot_w}" y1="{_fmt(y)}" y2="{_fmt(y)}" '
            'stroke="#d9dde5" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{x0 - 6}" y="{_fmt(y + 4)}" text-anchor="end" font-size="11" '
            f'fill="#5b6578">{value}</text>'
        )
    out.append(
        f'<text x="14" y="{_fmt(box.top + plot_h / 2)}" text-anchor="middle" font-size="12" '
        f'fill="#1d2330" transform="rotate(-90 14 {_fmt(box.top + plot_h / 2)})">'
        f"{escape(text.y_label)}</text>"
    )
    out.append(
        f'<text x="{_fmt(x0 + plot_w / 2)}" y="{box.height - 6}" text-anchor="middle" '
        f'font-size="12" fill="#1d2330">{escape(text.x_label)}</text>'
    )
    out.append(
        f'<line x1="{x0}" x2="{x0 + plot_w}" y1="{y0}" y2="{y0}" '
        'stroke="#5b6578" stroke-width="1"/>'
    )
    if not bars:
        out.append(
            f'<text x="{_fmt(x0 + plot_w / 2)}" y="{_fmt(box.top + plot_h / 2)}" '
            f'text-anchor="middle" font-size="13" fill="#5b6578">{escape(text.empty)}</text>'
        )
        out.append("</svg>")
        return _markup(out)
    slot = plot_w / len(bars)
    width = max(1.0, min(28.0, slot * 0.7))
    # label at most ~8 dates, evenly, always the newest
    every = max(1, math.ceil(len(bars) / 8))
    for i, (bar, total) in enumerate(zip(bars, totals, strict=True)):
        cx = x0 + slot * (i + 0.5)
        out.append(f'<g class="bar"><title>{escape(text.bar_title(bar))}</title>')
        y = float(y0)
        for severity in SEVERITIES:
            n = max(0, bar.counts.get(severity, 0))
            if n == 0:
                continue
            h = plot_h * n / top
            y -= h
            out.append(
                f'<rect x="{_fmt(cx - width / 2)}" y="{_fmt(y)}" width="{_fmt(width)}" '
                f'height="{_fmt(h)}" fill="{COLOURS[severity]}"/>'
            )
        if total == 0:  # a run with nothing failed: a mark on the axis, not nothing
            out.append(
                f'<rect x="{_fmt(cx - width / 2)}" y="{y0 - 2}" width="{_fmt(width)}" '
                'height="2" fill="#1e7b34"/>'
            )
        out.append("</g>")
        if (len(bars) - 1 - i) % every == 0:
            out.append(
                f'<text x="{_fmt(cx)}" y="{y0 + 16}" text-anchor="middle" font-size="10" '
                f'fill="#5b6578">{escape(date_label(bar.started))}</text>'
            )
    out.append("</svg>")
    return _markup(out)


def _markup(parts: list[str]) -> Markup:
    """The SVG as Markup: every piece of text in `parts` went through `escape` above."""
    return Markup("\n".join(parts))  # noqa: S704 - built from escaped text only


def _legend(text: ChartText, box: Box) -> str:
    """One row of coloured squares with the severities' names, above the plot."""
    parts = ['<g class="legend">']
    x = box.left
    for severity in SEVERITIES:
        name = text.series.get(severity, severity)
        parts.append(
            f'<rect x="{x}" y="10" width="12" height="12" fill="{COLOURS[severity]}"/>'
            f'<text x="{x + 16}" y="20" font-size="12" fill="#1d2330">{escape(name)}</text>'
        )
        # advance by the name's width: CJK glyphs are about twice as wide as Latin ones
        x += 16 + 12 + sum(13 if ord(c) > 0x2E7F else 7 for c in name) + 10
    parts.append("</g>")
    return "".join(parts)


#: requirement statuses in a framework's bar, worst first (left), and their colours
STATUSES = (
    "not_satisfied",
    "error",
    "partially_assessed",
    "not_assessed",
    "not_applicable",
    "satisfied",
)
STATUS_COLOURS = {
    "not_satisfied": "#b3261e",
    "error": "#7c3aed",
    "partially_assessed": "#d97706",
    "not_assessed": "#9ca3af",
    "not_applicable": "#d1d5db",
    "satisfied": "#1e7b34",
}


def status_bar(
    counts: Mapping[str, int],
    names: Mapping[str, str],
    *,
    label: str,
    width: int = 320,
    height: int = 18,
) -> Markup:
    """One framework's requirement statuses as a horizontal bar, worst on the left; each
    segment has a <title> ("not satisfied: 3"), the bar an accessible name `label`."""
    total = sum(max(0, counts.get(s, 0)) for s in STATUSES)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="status-bar" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'preserveAspectRatio="none" '
        f'aria-label="{escape(label)}">'
    ]
    x = 0.0
    if total == 0:
        parts.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="#eef1f6"/>')
    for status in STATUSES:
        n = max(0, counts.get(status, 0))
        if n == 0 or total == 0:
            continue
        w = width * n / total
        parts.append(
            f'<rect x="{_fmt(x)}" y="0" width="{_fmt(w)}" height="{height}" '
            f'fill="{STATUS_COLOURS[status]}"><title>{escape(names.get(status, status))}: '
            f"{n}</title></rect>"
        )
        x += w
    parts.append("</svg>")
    return _markup(parts)
