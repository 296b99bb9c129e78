"""The server-side trend chart: well-formed SVG, bars as tall as their counts, every label
escaped, accessible names, no script."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from scanner.service.charts import (
    SEVERITIES,
    Bar,
    Box,
    ChartText,
    nice_step,
    status_bar,
    trend_svg,
)

SVG = "{http://www.w3.org/2000/svg}"
START = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def words(**over: str) -> ChartText:
    base = {
        "title": "Failed checks by severity",
        "desc": "One bar per run",
        "y_label": "failed checks",
        "x_label": "run start (UTC)",
        "empty": "no runs yet",
    }
    base.update(over)
    return ChartText(
        series={s: s.upper() for s in SEVERITIES},
        bar_title=lambda b: f"{b.run_id}: {sum(b.counts.values())}",
        **base,
    )


def bars(*counts: dict[str, int]) -> list[Bar]:
    return [Bar(f"run-{i}", START + timedelta(days=i), c) for i, c in enumerate(counts)]


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # noqa: S314 - our own output


def rects_of(group: ET.Element) -> list[ET.Element]:
    return group.findall(f"{SVG}rect")


def test_bars_stack_in_proportion_to_their_counts() -> None:
    svg = parse(trend_svg(bars({"critical": 2, "high": 2}, {"high": 1}, {}), words()))
    groups = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "bar"]
    assert len(groups) == 3
    heights = [[float(r.get("height", "0")) for r in rects_of(g)] for g in groups]
    # first run: two segments of equal height (2 critical, 2 high)
    assert len(heights[0]) == 2
    assert heights[0][0] == pytest.approx(heights[0][1])
    # second run: one high, a quarter of the first run's total
    assert sum(heights[1]) == pytest.approx(sum(heights[0]) / 4)
    # a run with nothing failed is a thin mark, not a bar
    assert heights[2] == [2.0]
    # worst at the bottom: the critical segment is lower (larger y) than the high one
    ys = [float(r.get("y", "0")) for r in rects_of(groups[0])]
    assert ys[0] > ys[1]
    # each bar names its run for a screen reader / tooltip
    assert [g.findtext(f"{SVG}title") for g in groups] == ["run-0: 4", "run-1: 1", "run-2: 0"]


def test_axis_ticks_are_round_numbers_covering_the_peak() -> None:
    svg = parse(trend_svg(bars({"medium": 37}), words()))
    numbers = [
        int(t.text)
        for t in svg.iter(f"{SVG}text")
        if t.text and t.text.isdigit() and t.get("text-anchor") == "end"
    ]
    assert numbers == [0, 10, 20, 30, 40]
    assert nice_step(3) == 1
    assert nice_step(12) == 5
    assert nice_step(230) == 50
    assert nice_step(1000) == 200


def test_every_label_is_escaped_and_there_is_no_script() -> None:
    hostile = '<script>alert(1)</script>"&'
    chart = ChartText(
        title=hostile,
        desc=hostile,
        y_label=hostile,
        x_label=hostile,
        empty=hostile,
        series=dict.fromkeys(SEVERITIES, hostile),
        bar_title=lambda b: hostile + b.run_id,
    )
    for data in (bars({"low": 1}), []):
        markup = str(trend_svg(data, chart, ident='x"><script>'))
        assert "<script" not in markup
        assert "&lt;script&gt;" in markup
        svg = parse(markup)  # well-formed XML with the hostile text as text
        assert svg.findtext(f"{SVG}title") == hostile
        assert not re.search(r"\son\w+=", markup)  # no event handler attributes


def test_accessible_name_and_size() -> None:
    svg = parse(trend_svg(bars({"info": 1}), words(), box=Box(width=500, height=200)))
    assert svg.get("role") == "img"
    labelled = (svg.get("aria-labelledby") or "").split()
    ids = {e.get("id") for e in svg.iter() if e.get("id")}
    assert labelled
    assert set(labelled) <= ids
    assert svg.get("viewBox") == "0 0 500 200"
    assert svg.findtext(f"{SVG}desc") == "One bar per run"


def test_empty_history_says_so() -> None:
    svg = parse(trend_svg([], words(empty="no runs yet")))
    assert "no runs yet" in [t.text for t in svg.iter(f"{SVG}text")]
    assert not [g for g in svg.iter(f"{SVG}g") if g.get("class") == "bar"]


def test_many_runs_label_a_few_dates_always_the_newest() -> None:
    many = bars(*({"high": i % 4} for i in range(60)))
    svg = parse(trend_svg(many, words()))
    dates = [
        t.text
        for t in svg.iter(f"{SVG}text")
        if t.text and re.fullmatch(r"\d\d-\d\d \d\d:\d\d", t.text)
    ]
    assert 4 <= len(dates) <= 9
    assert dates[-1] == (START + timedelta(days=59)).strftime("%m-%d %H:%M")
    # every bar fits inside the plot
    for rect in svg.iter(f"{SVG}rect"):
        x, w = float(rect.get("x", "0")), float(rect.get("width", "0"))
        assert x >= 0
        assert x + w <= 760


def test_japanese_legend_does_not_overlap() -> None:
    chart = ChartText(
        title="重大度別の不合格件数",
        desc="説明",
        y_label="不合格件数",
        x_label="スキャン開始日時（UTC）",
        empty="まだスキャンがありません",
        series={"critical": "緊急", "high": "高", "medium": "中", "low": "低", "info": "情報"},
        bar_title=lambda b: b.run_id,
    )
    svg = parse(trend_svg(bars({"critical": 1}), chart))
    legend = next(g for g in svg.iter(f"{SVG}g") if g.get("class") == "legend")
    xs = [float(r.get("x", "0")) for r in legend.findall(f"{SVG}rect")]
    assert xs == sorted(xs)
    assert all(b - a >= 40 for a, b in itertools.pairwise(xs))
    assert xs[-1] < 760


def test_status_bar_segments_are_proportional_worst_first_and_escaped() -> None:
    names = {"not_satisfied": "<ns>", "satisfied": "ok"}
    svg = parse(
        status_bar({"satisfied": 3, "not_satisfied": 1}, names, label='fw "x" <y>', width=200)
    )
    assert svg.get("aria-label") == 'fw "x" <y>'  # parsed back: it was escaped in the markup
    rects = svg.findall(f"{SVG}rect")
    assert [float(r.get("width", "0")) for r in rects] == [50.0, 150.0]
    assert [r.findtext(f"{SVG}title") for r in rects] == ["<ns>: 1", "ok: 3"]
    empty = parse(status_bar({}, names, label="none"))
    assert len(empty.findall(f"{SVG}rect")) == 1  # a grey track, no segment
    assert "<ns>" not in str(status_bar({"not_satisfied": 1}, names, label="l"))
