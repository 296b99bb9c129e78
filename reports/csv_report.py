"""The CSV reports, for spreadsheets: one row per device × check result (`render`), and the
auditor's matrix, one row per device × requirement (`render_requirements`).

Columns are documented in `docs/report-format.md`. Device text is hostile: a banner such as
`=HYPERLINK(...)` must stay text in a spreadsheet, so a cell that starts like a formula gets a
leading apostrophe (OWASP "CSV injection"), and control characters become visible escapes.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC
from typing import TYPE_CHECKING

from reports.findings import Findings

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from scanner.judging.assess import JudgedResult, RequirementStatus
    from scanner.judging.report_data import ReportData

#: on every row of both files, so that the files of scheduled runs can be concatenated
RUN_COLUMNS = ("run_id", "scan_time", "profile")
RESULT_COLUMNS = (
    *RUN_COLUMNS,
    "address",
    "label",
    "transport",
    "port",
    "protocol",
    "check_id",
    "check_title",
    "verdict",
    "severity",
    "severity_reason",
    "reason",
    "evidence",
    "remediation",
    "remediation_ja",
    "references",
    "acceptance",
    "requirements",
    "supporting",
)
REQUIREMENT_COLUMNS = (
    *RUN_COLUMNS,
    "address",
    "label",
    "framework",
    "requirement",
    "title",
    "coverage",
    "status",
    "severity",
    "reason",
    "results",
    "related",
)

# A spreadsheet reads a cell starting with one of these as a formula (full-width forms
# included: some spreadsheet input paths normalise them).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _cell(value: str | int | None) -> str | int:
    if value is None:
        return ""
    if isinstance(value, int):
        return value
    # a lone surrogate (from a surrogate-escaped command line) could not even be written as UTF-8
    text = _CONTROL.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if m.group() <= "\x7f" else "\ufffd", value
    )
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_pieces(
    header: Sequence[str], rows: Iterable[Sequence[str | int | None]], *, every: int = 500
) -> Iterator[str]:
    """The CSV text in pieces of `every` rows: a matrix of 1,000 devices x 287 requirements
    is never one list of rows nor one string."""
    buf = io.StringIO()
    # A byte-order mark, so a spreadsheet opened by double-click reads UTF-8 (Japanese labels,
    # "…" in bounded text); CRLF line ends per RFC 4180, as the csv module writes them.
    buf.write("\ufeff")
    writer = csv.writer(buf, dialect="excel")
    writer.writerow(header)
    for count, row in enumerate(rows, 1):
        writer.writerow([_cell(v) for v in row])
        if count % every == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _csv(header: Sequence[str], rows: Iterable[Sequence[str | int | None]]) -> str:
    return "".join(_csv_pieces(header, rows))


def _statuses(statuses: Iterable[RequirementStatus]) -> str:
    return "; ".join(f"{st.framework} {st.requirement.id}: {st.status.value}" for st in statuses)


def _acceptance(j: JudgedResult) -> str:
    acc = j.accepted or j.expired
    if acc is None:
        return ""
    state = "accepted" if j.accepted is not None else "expired"
    return f"{state}: {acc.reason} (approved by {acc.approved_by}, until {acc.expires})"


def _ref(j: JudgedResult) -> str:
    r = j.result
    where = f" {r.service_key}" if r.service else ""
    return f"{r.check_id}{where}: {r.verdict.value}"


def _run_cells(data: ReportData) -> list[str | int | None]:
    """run ID, scan start (ISO 8601 with its UTC offset), profile ID."""
    started = data.run.started
    if started.tzinfo is None:  # the store keeps UTC; say so rather than leave it unzoned
        started = started.replace(tzinfo=UTC)
    return [data.run.id, started.isoformat(timespec="seconds"), data.assessment.profile.id]


def _worst(st: RequirementStatus, findings: Findings) -> str:
    """The worst severity among the failing results that decided `st`, or empty."""
    found = [f for j in st.results if j.counts_as_fail and (f := findings.of(j.result))]
    return max((f.severity for f in found), key=lambda s: s.rank).value if found else ""


def _order(j: JudgedResult) -> tuple[str, int, str]:
    s = j.result.service
    return (s.transport if s else "", s.port if s else 0, j.result.check_id)


def render(data: ReportData) -> str:
    a = data.assessment
    run = _run_cells(data)
    findings = Findings.of_report(data)
    rows: list[list[str | int | None]] = []
    for d in data.devices:
        # a requirement citing a check with a result here has evidence, so is stored
        statuses = a.evidenced_for(d.address)
        for j in sorted(a.results_for(d.address), key=_order):
            r = j.result
            s = r.service
            check = data.checks.get(r.check_id)
            found = findings.of(r)
            rows.append(
                [
                    *run,
                    d.address,
                    d.label,
                    s.transport if s else None,
                    s.port if s else None,
                    s.protocol if s else None,
                    r.check_id,
                    check.title if check else None,
                    r.verdict.value,
                    found.severity.value if found else None,
                    found.severity_reason if found else None,
                    r.reason,
                    "\n".join(f"{e.kind}: {e.summary}" for e in r.evidence),
                    found.remedy_en if found else None,
                    found.remedy_ja if found else None,
                    "; ".join(found.references) if found else None,
                    _acceptance(j),
                    _statuses(st for st in statuses if r.check_id in st.requirement.direct),
                    _statuses(st for st in statuses if r.check_id in st.requirement.supporting),
                ]
            )
    return _csv(RESULT_COLUMNS, rows)


def requirement_pieces(data: ReportData) -> Iterator[str]:
    """`render_requirements` in pieces, one device's rows made at a time."""
    a = data.assessment
    run = _run_cells(data)
    findings = Findings.of_report(data)

    def rows() -> Iterator[list[str | int | None]]:
        for d in data.devices:
            for st in a.for_target(d.address):
                req = st.requirement
                yield [
                    *run,
                    d.address,
                    d.label,
                    st.framework,
                    req.id,
                    req.title,
                    req.coverage.value,
                    st.status.value,
                    _worst(st, findings),
                    st.reason,
                    "\n".join(_ref(j) for j in sorted(st.results, key=_order)),
                    "\n".join(_ref(j) for j in sorted(st.related, key=_order)),
                ]

    return _csv_pieces(REQUIREMENT_COLUMNS, rows())


def render_requirements(data: ReportData) -> str:
    return "".join(requirement_pieces(data))
