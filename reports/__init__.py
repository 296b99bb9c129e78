"""Renderers: pure functions from `ReportData` to text. The CLI writes the files."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scanner.judging.report_data import ReportData

#: format name -> (file name, module in reports/, renderer function)
_TABLE: dict[str, tuple[str, str, str]] = {
    "json": ("report.json", "json_report", "render"),
    "jsonl": ("report.jsonl", "jsonl", "render"),
    "junit": ("report.junit.xml", "junit", "render"),
    "sarif": ("report.sarif.json", "sarif", "render"),
    "csv": ("report.csv", "csv_report", "render"),
    "csv-requirements": ("report-requirements.csv", "csv_report", "render_requirements"),
    "oscal": ("report.oscal.json", "oscal", "render"),
    "html": ("report.html", "html", "render"),
    "html-ja": ("report.ja.html", "html", "render_ja"),
}

Renderer = Callable[["ReportData"], str]
LineRenderer = Callable[["ReportData"], Iterable[str]]

#: formats that can also be made piece by piece: format name -> (module, function yielding
#: the text in pieces). The CLI writes these as they are made, never as one string.
_STREAMS: dict[str, tuple[str, str]] = {
    "json": ("json_report", "pieces"),
    "jsonl": ("jsonl", "lines"),
    "junit": ("junit", "pieces"),
    "csv-requirements": ("csv_report", "requirement_pieces"),
    "html": ("html", "pieces"),
    "html-ja": ("html", "pieces_ja"),
}


def streamer(name: str) -> LineRenderer | None:
    """The piecewise renderer of format `name`, or None if it renders only whole."""
    if name not in _STREAMS:
        return None
    module, function = _STREAMS[name]
    render: LineRenderer = getattr(importlib.import_module(f"reports.{module}"), function)
    return render


class _Formats(Mapping[str, tuple[str, Renderer]]):
    """format name -> (file name, renderer). A renderer's module (jinja2 for HTML) is
    imported when it is first asked for: `shinsa --help` and `discover` need only names."""

    def __getitem__(self, name: str) -> tuple[str, Renderer]:
        filename, module, function = _TABLE[name]
        render: Renderer = getattr(importlib.import_module(f"reports.{module}"), function)
        return filename, render

    def __iter__(self) -> Iterator[str]:
        return iter(_TABLE)

    def __len__(self) -> int:
        return len(_TABLE)


FORMATS: Mapping[str, tuple[str, Renderer]] = _Formats()
