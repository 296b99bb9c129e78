"""Renderers: pure functions from `ReportData` to text. The CLI writes the files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reports import json_report

if TYPE_CHECKING:
    from collections.abc import Callable

    from reports.data import ReportData

#: format name -> (file name, renderer)
FORMATS: dict[str, tuple[str, Callable[[ReportData], str]]] = {
    "json": ("report.json", json_report.render),
}
