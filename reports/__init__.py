"""Renderers: pure functions from `ReportData` to text. The CLI writes the files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reports import csv_report, html, json_report, junit, oscal, sarif

if TYPE_CHECKING:
    from collections.abc import Callable

    from reports.data import ReportData

#: format name -> (file name, renderer)
FORMATS: dict[str, tuple[str, Callable[[ReportData], str]]] = {
    "json": ("report.json", json_report.render),
    "junit": ("report.junit.xml", junit.render),
    "sarif": ("report.sarif.json", sarif.render),
    "csv": ("report.csv", csv_report.render),
    "csv-requirements": ("report-requirements.csv", csv_report.render_requirements),
    "oscal": ("report.oscal.json", oscal.render),
    "html": ("report.html", html.render),
    "html-ja": ("report.ja.html", html.render_ja),
}
