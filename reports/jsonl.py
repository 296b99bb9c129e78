"""JSON Lines (`report.jsonl`): the JSON report as one object per line, for SIEMs and for
runs too big to hold as one document.

Lines, each with a `type`: one `header` (schema, scanner, run, scope without the target
list, profile, the profile's requirements, checks, manual evidence); then per device its
`result` lines followed by its `device` line (services and the requirements it has evidence
for, as in `report.json`); a final `summary`. A reader that sees no `summary` line holds a
cut-off file. `lines` yields them one by one, so the CLI writes them as they are made
(`scanner/cli/commands.py`) and a 65,536-device report is never one string in memory.

Non-ASCII is escaped (`\\uXXXX`): device text may hold U+2028 or U+0085, which some line
readers (Python's `str.splitlines`) take for line ends.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from reports.findings import Findings
from reports.json_report import (
    SCHEMA_VERSION,
    checks_list,
    device_dict,
    head,
    manual_evidence,
    requirement_entries,
    result_dict,
    summary,
)
from scanner.judging.manual import numbered

if TYPE_CHECKING:
    from collections.abc import Iterator

    from scanner.judging.report_data import ReportData
    from scanner.model import JSONValue


def _line(kind: str, body: dict[str, JSONValue]) -> str:
    return json.dumps({"type": kind, **body}, ensure_ascii=True, separators=(",", ":")) + "\n"


def lines(data: ReportData) -> Iterator[str]:
    """The report, line by line (each ends in a newline)."""
    a = data.assessment
    manual_ids = numbered(data.evidence)
    top = head(data)
    scope = top["scope"]
    if isinstance(scope, dict):  # the targets are the device lines; a /16 is 65,536 of them
        top["scope"] = {k: v for k, v in scope.items() if k != "targets"}
    yield _line(
        "header",
        {
            "schema": "shinsa-report-lines",
            "schema_version": SCHEMA_VERSION,
            **top,
            "requirements": requirement_entries(a),
            "checks": checks_list(data),
            "manual_evidence": manual_evidence(data, manual_ids),
        },
    )
    findings = Findings.of_report(data)
    for d in data.devices:
        for j in a.results_for(d.address):
            yield _line("result", result_dict(j, findings))
        yield _line("device", device_dict(d, a, manual_ids, findings, results=False))
    yield _line("summary", summary(data))


def render(data: ReportData) -> str:
    """The whole file as one string (tests, small runs); the CLI streams `lines`."""
    return "".join(lines(data))
