"""The HTML report: one self-contained file a person reads in a browser, English or Japanese.

Inline CSS and SVG, no script and nothing loaded from the network (a Content-Security-Policy
of `default-src 'none'` says so to the browser too). The "pages" are sections of the one file,
in the order a reader handed the report needs them: a title block (product, model, firmware,
who tested it for whom: `ReportData.meta`), the executive summary (a headline per device by
severity, its requirement statuses per standard, the failed checks worst first with their
fix), the devices × requirements matrix (a table per standard, split so that it fits A4), a
section per device (`#device-…`: services, findings by severity with evidence, the fix for
that finding and references), a section per requirement (`#req-…`), the requirements no
network scan can assess (`#not-assessable`), the manual evidence, and last the method
appendix: run ID, digests, exit code, scope, command line (no absolute local path). Dates are
in one local zone per report (`reports/dates.py`); the print stylesheet makes it an A4
document.

A standard lists every requirement, and no network check can assess most of them (coverage
`none`): the same "not assessed" on every device. Those without manual evidence are listed
once per standard, each a row anchored `#req-…`, and are no matrix column, requirement section
or per-device row; the counts and the charts still include them. Long lists fold into
`<details>` so fifty devices by whole standards stay one readable file.

Device text (banners, labels, reasons, evidence) is hostile: the jinja2 environment escapes
every expression, no template marks device text safe, and control characters become visible
`\\xNN` escapes before escaping. This module only arranges the assessment into views; the
strings live in `reports.i18n`, a check's remediation in its `Check` (`scanner/probe.py`).
In Japanese every device-facing text goes through `pick`: the Japanese where one exists.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from reports.dates import Clock, zone_name
from reports.i18n import CATALOGUE, LANGS, Lang, pick, translator
from scanner.judging.assess import Status, exit_code
from scanner.judging.manual import numbered
from scanner.judging.profiles import Coverage
from scanner.judging.report_meta import FIELDS
from scanner.model import Verdict
from scanner.probe import Severity

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from scanner.judging.assess import Assessment, JudgedResult, RequirementStatus
    from scanner.judging.manual import Statement
    from scanner.judging.profiles import Framework, Requirement
    from scanner.judging.report_data import Device, ReportData
    from scanner.model import Evidence, JSONValue, Result
    from scanner.probe import Check

#: Worst first: the order of every count, legend and chart segment.
STATUS_ORDER = (
    Status.NOT_SATISFIED,
    Status.ERROR,
    Status.PARTIALLY_ASSESSED,
    Status.NOT_ASSESSED,
    Status.NOT_APPLICABLE,
    Status.SATISFIED,
)
#: A symbol beside every colour, so the matrix reads in greyscale and for colour-blind readers.
SYMBOL = {
    Status.NOT_SATISFIED: "✗",
    Status.ERROR: "!",
    Status.PARTIALLY_ASSESSED: "◐",
    Status.NOT_ASSESSED: "?",
    Status.NOT_APPLICABLE: "–",
    Status.SATISFIED: "✓",
}
_UNDECIDED = (Verdict.ERROR, Verdict.INCONCLUSIVE, Verdict.SKIPPED)

# Characters HTML cannot carry as text (C0 and C1 controls, lone surrogates, noncharacters).
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def visible(value: object) -> object:
    """Every `{{ … }}` passes through here before it is escaped: control characters in
    device text become `\\xNN`. Markup (a macro's output) is already ours and escaped."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _INVISIBLE.sub(
            lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0xA0 else "\ufffd", value
        )
    return value


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-") or "x"


class _Anchors:
    """Unique, URL-safe fragment IDs: device and requirement IDs are free text."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def __call__(self, prefix: str, *parts: str) -> str:
        base = "-".join([prefix, *(_slug(p) for p in parts)])
        anchor, n = base, 2
        while anchor in self._used:
            anchor, n = f"{base}-{n}", n + 1
        self._used.add(anchor)
        return anchor


# --- views: the assessment arranged the way the page reads -----------------------------------


@dataclass(frozen=True, slots=True)
class ReqRef:
    anchor: str
    framework: str
    id: str
    status: Status


@dataclass(frozen=True, slots=True)
class Finding:
    judged: JudgedResult
    breaks: tuple[ReqRef, ...]  # the requirements it is direct evidence for, on this device
    severity: Severity  # its check's; a check the registry no longer knows counts as medium
    anchor: str  # `finding-…`: the executive summary links here


@dataclass(frozen=True, slots=True)
class FindingGroup:
    """The findings of one check on one device that share a fix: one article listing each
    service and its reason (the home router's eight cleartext services are one finding to
    fix, not eight pages to read)."""

    findings: tuple[Finding, ...]  # in the device's order, worst first

    @property
    def first(self) -> Finding:
        return self.findings[0]

    @property
    def breaks(self) -> tuple[ReqRef, ...]:
        return tuple(dict.fromkeys(ref for f in self.findings for ref in f.breaks))


def _groups(findings: Iterable[Finding], checks: Mapping[str, Check]) -> tuple[FindingGroup, ...]:
    grouped: dict[tuple[str, object, bool], list[Finding]] = {}
    for f in findings:
        check = checks.get(f.judged.result.check_id)
        remedy = check.remedy_for(f.judged.result) if check is not None else None
        key = (f.judged.result.check_id, remedy, f.judged.counts_as_fail)
        grouped.setdefault(key, []).append(f)
    return tuple(FindingGroup(tuple(fs)) for fs in grouped.values())


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """One check that failed somewhere, for the executive summary: worst first."""

    check_id: str
    severity: Severity
    #: the devices it failed on, each with its findings there (one per service)
    where: tuple[tuple[DeviceView, tuple[Finding, ...]], ...]

    @property
    def first(self) -> Finding:
        return self.where[0][1][0]


@dataclass(frozen=True, slots=True)
class DeviceView:
    device: Device
    anchor: str
    name: str
    counts: tuple[tuple[Status, int], ...]  # over every requirement, the unassessable too
    # (requirement anchor, status): something measured or stated on this device …
    measured: tuple[tuple[str, RequirementStatus], ...]
    # … nothing, though a check is mapped or a statement names another device …
    unmeasured: tuple[tuple[str, RequirementStatus], ...]
    unassessable: int  # … and how many no network scan can assess (listed once, not here)
    cells: Mapping[str, RequirementStatus]  # requirement anchor -> status
    findings: tuple[Finding, ...]  # worst first, then by service; accepted ones last
    groups: tuple[FindingGroup, ...]  # the same, one per check and fix
    undecided: tuple[JudgedResult, ...]
    results: tuple[JudgedResult, ...]
    #: the headline: failed results that count (no active accepted deviation) per severity,
    #: worst first, zeros left out; empty = no failure found
    severities: tuple[tuple[Severity, int], ...]
    decided: int  # results with a verdict (pass or fail): what "N checks" counts
    #: requirement statuses per standard (framework id, counts), authored requirements only
    by_framework: tuple[tuple[str, tuple[tuple[Status, int], ...]], ...]


@dataclass(frozen=True, slots=True)
class RequirementView:
    anchor: str
    framework: Framework
    requirement: Requirement
    term: str  # the guidebook's Japanese name, or ""
    counts: tuple[tuple[Status, int], ...]
    failing: tuple[tuple[DeviceView, RequirementStatus], ...]  # not satisfied, error
    others: tuple[tuple[Status, tuple[DeviceView, ...]], ...]
    unassessable: bool  # coverage none and no statement for any device: not assessed anywhere


@dataclass(frozen=True, slots=True)
class Segment:
    status: Status | None  # None: the requirements no network scan can assess, as one
    x: float
    width: float
    count: int


@dataclass(frozen=True, slots=True)
class ChartRow:
    label: str
    anchor: str  # "" for the total row
    y: int
    segments: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class Chart:
    """A stacked bar per requirement (devices per status) and one for the whole standard.
    Geometry is computed here, in numbers; the template only draws it."""

    width: int
    height: int
    label_width: int
    bar_width: int
    row_height: int
    rows: tuple[ChartRow, ...]


@dataclass(frozen=True, slots=True)
class FrameworkView:
    framework: Framework
    level: int | None
    requirements: tuple[RequirementView, ...]  # every one judged, in the standard's order
    counts: tuple[tuple[Status, int], ...]
    chart: Chart

    @property
    def assessed(self) -> tuple[RequirementView, ...]:
        """A matrix column and a section each: a check is mapped, or a person stated it."""
        return tuple(r for r in self.requirements if not r.unassessable)

    @property
    def unassessable(self) -> tuple[RequirementView, ...]:
        """One row each in `#not-assessable`."""
        return tuple(r for r in self.requirements if r.unassessable)


def _counts(statuses: Iterable[Status]) -> tuple[tuple[Status, int], ...]:
    return _counts_of(Counter(statuses))


def _counts_of(c: Mapping[Status, int]) -> tuple[tuple[Status, int], ...]:
    return tuple((s, c.get(s, 0)) for s in STATUS_ORDER)


def _result_order(j: JudgedResult) -> tuple[bool, str, int, str]:
    s = j.result.service
    return (s is not None, s.transport if s else "", s.port if s else 0, j.result.check_id)


_CHART_WIDTH, _LABEL_WIDTH, _ROW = 560, 96, 20


def _chart(rows: list[tuple[str, str, tuple[tuple[Status | None, int], ...]]]) -> Chart:
    bar = _CHART_WIDTH - _LABEL_WIDTH - 40
    out: list[ChartRow] = []
    for i, (label, anchor, counts) in enumerate(rows):
        total = sum(n for _, n in counts) or 1
        x = float(_LABEL_WIDTH)
        segments: list[Segment] = []
        for status, n in counts:
            if n:
                w = round(bar * n / total, 2)
                segments.append(Segment(status, round(x, 2), w, n))
                x += w
        out.append(ChartRow(label, anchor, 4 + i * _ROW, tuple(segments)))
    return Chart(_CHART_WIDTH, 8 + len(rows) * _ROW, _LABEL_WIDTH, bar, _ROW, tuple(out))


def _unassessable(a: Assessment, req_anchor: Mapping[int, str]) -> frozenset[str]:
    """The anchors of the requirements no network scan can assess (coverage none) and no
    statement covers on any device: "not assessed" on every device, so listed once."""
    stated = {id(st.requirement) for t in a.targets for st in a.evidenced_for(t) if st.manual}
    return frozenset(
        req_anchor[id(r)]
        for fw, level in a.all_frameworks()
        for r in fw.selected(level)
        if r.coverage is Coverage.NONE and id(r) not in stated and authored(r)
    )


def authored(requirement: Requirement) -> bool:
    """Whether a framework file's entry for the requirement is written: one that is not
    (no title yet, or flagged so by its framework file) stays out of every rendered report,
    which shows no placeholder. `shinsa validate --strict` lists them instead."""
    return requirement.authored and bool(requirement.title.strip())


def severity_of(checks: Mapping[str, Check], check_id: str) -> Severity:
    check = checks.get(check_id)
    return check.severity if check is not None else Severity.MEDIUM


def _devices(
    data: ReportData, anchors: _Anchors, req_anchor: Mapping[int, str], unassessable: frozenset[str]
) -> list[DeviceView]:
    a = data.assessment
    views: list[DeviceView] = []
    for d in data.devices:
        statuses = tuple(st for st in a.for_target(d.address) if authored(st.requirement))
        results = tuple(sorted(a.results_for(d.address), key=_result_order))
        fails = sorted(
            (j for j in results if j.result.verdict is Verdict.FAIL),
            key=lambda j: (
                not j.counts_as_fail,
                -severity_of(data.checks, j.result.check_id).rank,
                _result_order(j),
            ),
        )
        findings = tuple(
            Finding(
                j,
                tuple(
                    ReqRef(
                        req_anchor[id(st.requirement)], st.framework, st.requirement.id, st.status
                    )
                    for st in a.evidenced_for(d.address)
                    if j.result.check_id in st.requirement.direct and authored(st.requirement)
                ),
                severity_of(data.checks, j.result.check_id),
                anchors("finding", d.address, j.result.check_id, j.result.service_key),
            )
            for j in fails
        )
        severities = Counter(f.severity for f in findings if f.judged.counts_as_fail)
        per_fw: dict[str, Counter[Status]] = {}
        for st in statuses:
            per_fw.setdefault(st.framework, Counter())[st.status] += 1
        label = d.label.strip()
        anchored = [(req_anchor[id(st.requirement)], st) for st in statuses]
        views.append(
            DeviceView(
                device=d,
                anchor=anchors("device", d.address),
                name=label if label and label != d.address else d.address,
                counts=_counts(st.status for st in statuses),
                measured=tuple(
                    (r, st) for r, st in anchored if st.status is not Status.NOT_ASSESSED
                ),
                unmeasured=tuple(
                    (r, st)
                    for r, st in anchored
                    if st.status is Status.NOT_ASSESSED and r not in unassessable
                ),
                unassessable=sum(1 for r, _ in anchored if r in unassessable),
                cells=dict(anchored),
                findings=findings,
                groups=_groups(findings, data.checks),
                undecided=tuple(j for j in results if j.result.verdict in _UNDECIDED),
                results=results,
                severities=tuple(
                    (sev, severities[sev])
                    for sev in sorted(Severity, key=lambda x: x.rank, reverse=True)
                    if severities[sev]
                ),
                decided=sum(1 for j in results if j.result.verdict in (Verdict.PASS, Verdict.FAIL)),
                by_framework=tuple((fw, _counts_of(c)) for fw, c in per_fw.items()),
            )
        )
    return views


def _summary(devices: Iterable[DeviceView], checks: Mapping[str, Check]) -> tuple[SummaryRow, ...]:
    """Every check that failed (and counts) on some device, worst first, then by check: a
    row per check and fix (the cleartext finding about HTTP needs HTTPS, about Telnet needs
    it off), with the devices and services it failed on."""
    rows: dict[tuple[str, object], dict[str, tuple[DeviceView, list[Finding]]]] = {}
    severity: dict[str, Severity] = {}
    for d in devices:
        for f in d.findings:
            if f.judged.counts_as_fail:
                cid = f.judged.result.check_id
                check = checks.get(cid)
                remedy = check.remedy_for(f.judged.result) if check is not None else None
                rows.setdefault((cid, remedy), {}).setdefault(d.anchor, (d, []))[1].append(f)
                severity[cid] = f.severity
    return tuple(
        SummaryRow(key[0], severity[key[0]], tuple((d, tuple(fs)) for d, fs in where.values()))
        for key, where in sorted(rows.items(), key=lambda kv: (-severity[kv[0][0]].rank, kv[0][0]))
    )


def _frameworks(
    data: ReportData,
    devices: list[DeviceView],
    req_anchor: Mapping[int, str],
    unassessable: frozenset[str],
) -> list[FrameworkView]:
    views: list[FrameworkView] = []
    for fw, level in data.assessment.all_frameworks():
        reqs: list[RequirementView] = []
        for req in fw.selected(level):
            if not authored(req):
                continue
            anchor = req_anchor[id(req)]
            per_device = [(d, d.cells[anchor]) for d in devices if anchor in d.cells]
            failing = tuple(
                (d, st)
                for status in (Status.NOT_SATISFIED, Status.ERROR)
                for d, st in per_device
                if st.status is status
            )
            others = tuple(
                (status, tuple(d for d, st in per_device if st.status is status))
                for status in STATUS_ORDER[2:]
            )
            reqs.append(
                RequirementView(
                    anchor=anchor,
                    framework=fw,
                    requirement=req,
                    term=req.ja,
                    counts=_counts(st.status for _, st in per_device),
                    failing=failing,
                    others=tuple((s, ds) for s, ds in others if ds),
                    unassessable=anchor in unassessable,
                )
            )
        summed: Counter[Status] = Counter()
        for r in reqs:
            summed.update(dict(r.counts))
        total = tuple((s, summed[s]) for s in STATUS_ORDER)
        # the overall bar counts the unassessable as one segment of their own; a bar each
        # only for the requirements something can be measured of
        offline = sum(n for r in reqs if r.unassessable for _, n in r.counts)
        overall: list[tuple[Status | None, int]] = []
        for s, n in total:
            if s is Status.NOT_ASSESSED:
                overall += [(s, n - offline), (None, offline)]
            else:
                overall.append((s, n))
        chart = _chart(
            [("", "", tuple(overall))]
            + [(r.requirement.id, r.anchor, r.counts) for r in reqs if not r.unassessable]
        )
        views.append(FrameworkView(fw, level, tuple(reqs), total, chart))
    return views


#: columns of one matrix table: with the device column it fits an A4 page, so no column is
#: clipped in print; a standard with more is split into parts
MATRIX_COLUMNS = 24


def _matrix_parts(
    frameworks: Iterable[FrameworkView], width: int = MATRIX_COLUMNS
) -> list[tuple[FrameworkView, int, int, tuple[RequirementView, ...]]]:
    """(standard, part, parts, columns): a table per standard, split every `width`
    columns, balanced (30 columns are 15 + 15, not 24 + 6)."""
    out: list[tuple[FrameworkView, int, int, tuple[RequirementView, ...]]] = []
    for fw in frameworks:
        cols = fw.assessed
        if not cols:
            continue
        parts = -(-len(cols) // width)
        size = -(-len(cols) // parts)
        for i in range(parts):
            out.append((fw, i + 1, parts, cols[i * size : (i + 1) * size]))
    return out


@dataclass(frozen=True, slots=True)
class StatementView:
    id: str  # M1, M2 …: the anchor is `manual-M1`
    statement: Statement
    req_anchor: str  # "" when the requirement is not in the profile's scope


def _needs_a_person(r: RequirementView, devices: Iterable[DeviceView]) -> bool:
    """A network cannot show it, or measured nothing of it on any device (manual evidence
    does not take it off this list: the list says where a statement is needed)."""
    return r.requirement.coverage is Coverage.NONE or not any(
        r.anchor in d.cells and d.cells[r.anchor].results for d in devices
    )


def _statements(data: ReportData, frameworks: Iterable[FrameworkView]) -> tuple[StatementView, ...]:
    anchor = {
        (fw.framework.id, r.requirement.id): r.anchor for fw in frameworks for r in fw.requirements
    }
    return tuple(
        StatementView(i, s, anchor.get((s.framework, s.requirement), ""))
        for s, i in numbered(data.evidence).items()
    )


def _details(details: Mapping[str, JSONValue]) -> str:
    """Evidence details as `key: value` lines. Strings show as they are: device text in them
    is bounded with each odd byte escaped once (`\\xff`), and JSON's quoting would escape
    those escapes again (`\\\\xff`) for a reader who never asked for JSON."""
    return "\n".join(_detail_lines(details, ""))


def _detail_lines(details: Mapping[str, JSONValue], indent: str) -> Iterator[str]:
    for key in sorted(details):
        value = details[key]
        if isinstance(value, dict) and value:
            yield f"{indent}{key}:"
            yield from _detail_lines(value, indent + "  ")
        else:
            yield f"{indent}{key}: {_detail_value(value)}"


def _detail_value(value: JSONValue) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(_detail_value(v) for v in value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_detail_value(v)}" for k, v in sorted(value.items())) + "}"
    return json.dumps(value)  # numbers, true/false, null


_ABSOLUTE = re.compile(r"(?<![\w.~])(?:/[^/\s,=:]+)+/([^/\s,=:]+)")


def local_paths_hidden(text: str) -> str:
    """`text` with every absolute path cut to its file name: a report leaves the machine
    it was made on, and the maker's directory layout is not the customer's business."""
    return _ABSOLUTE.sub(lambda m: m.group(1), text)


def file_name(path: str) -> str:
    """A file as the report names it: relative paths as given, absolute ones by name."""
    return local_paths_hidden(path) if path.startswith("/") else path


def context(data: ReportData, lang: Lang) -> dict[str, Any]:
    """Everything the template reads: the views and the language's helpers."""
    a = data.assessment
    anchors = _Anchors()
    req_anchor = {
        id(req): anchors("req", fw.id, req.id)
        for fw, level in a.all_frameworks()
        for req in fw.selected(level)
    }
    unassessable = _unassessable(a, req_anchor)
    devices = _devices(data, anchors, req_anchor, unassessable)
    frameworks = _frameworks(data, devices, req_anchor, unassessable)
    manual = tuple(r for fw in frameworks for r in fw.requirements if _needs_a_person(r, devices))
    statements = _statements(data, frameworks)
    manual_id = {v.statement: v.id for v in statements}
    request = data.run.request
    code = exit_code(a)
    _ = translator(lang)
    clock = Clock(zone_name(lang, data.meta.timezone, data.scan_zone), lang)
    checks = data.checks

    def tr(en: str, ja: str) -> str:
        return pick(lang, en, ja)

    def fix(result: Result) -> str:
        """The remedy for this finding (its service's own where the check has one)."""
        check = checks.get(result.check_id)
        if check is None:
            return ""
        remedy = check.remedy_for(result)
        return tr(remedy.en, remedy.ja)

    def check_fix(check_id: str) -> str:
        check = checks.get(check_id)
        return tr(check.remediation.en, check.remediation.ja) if check is not None else ""

    def title(check_id: str) -> str:
        check = checks.get(check_id)
        return tr(check.title, check.title_ja) if check is not None else check_id

    def severity_reason(check_id: str) -> str:
        check = checks.get(check_id)
        return tr(check.severity_reason, check.severity_reason_ja) if check is not None else ""

    def references(check_id: str) -> tuple[str, ...]:
        check = checks.get(check_id)
        return check.references if check is not None else ()

    def reason(r: Result) -> str:
        return tr(r.reason, r.reason_ja)

    def summary(e: Evidence) -> str:
        return tr(e.summary, e.summary_ja)

    def status_reason(st: RequirementStatus) -> str:
        return tr(st.reason, st.reason_ja)

    def req_title(req: Requirement) -> str:
        # in Japanese: the framework file's Japanese title (it names the guidebook's term
        # where there is one), else the guidebook's term alone, else the English
        return tr(req.title, req.title_ja or req.ja)

    def fw_title(fw: Framework) -> str:
        return tr(fw.title, fw.title_ja)

    def run_status(status: str) -> str:
        key = f"run_status.{status}"
        return _(key) if key in CATALOGUE else status

    def service(r: Result) -> str:
        return str(r.service) if r.service is not None else ""

    def headline(d: DeviceView) -> str:
        if not d.severities:
            if not d.decided:  # nothing passed either: "no failure" would read as clean
                return _("headline.nothing")
            return _("headline.clean_one" if d.decided == 1 else "headline.clean").format(
                n=d.decided
            )
        return _("headline.sep").join(
            _("headline.count").format(n=n, severity=_("severity." + sev.value))
            for sev, n in d.severities
        )

    argv = request.get("argv")
    meta = data.meta
    return {
        "lang": lang,
        "_": _,
        "run_status": run_status,
        "data": data,
        "profile": a.profile,
        "run": data.run,
        "devices": devices,
        "frameworks": frameworks,
        "manual": manual,
        "statements": statements,
        "manual_id": manual_id,
        "stated": {
            v.req_anchor: [w.id for w in statements if w.req_anchor == v.req_anchor]
            for v in statements
        },
        "evidence_files": data.evidence,
        "status_order": STATUS_ORDER,
        "not_assessed": Status.NOT_ASSESSED,
        "symbol": SYMBOL,
        "verdicts": tuple(Verdict),
        "coverages": tuple(Coverage),
        "totals": _counts_of(sum((Counter(dict(d.counts)) for d in devices), Counter())),
        "unassessable": len(unassessable),  # requirements; × devices of the not assessed
        "verdict_counts": Counter(j.result.verdict for j in a.results),
        "exit_code": code,
        "allow": [str(x) for x in request.get("allow", [])],
        "ports": [p for p in str(request.get("ports", "")).split(",") if p],
        "argv": [local_paths_hidden(str(x)) for x in argv] if isinstance(argv, list) else [],
        "profile_files": [(file_name(path), digest) for path, digest in a.profile.files],
        "file_name": file_name,
        "checks": sorted(data.checks.items()),
        "summary": _summary(devices, data.checks),
        "severities": sorted(Severity, key=lambda x: x.rank, reverse=True),
        "meta": [(k, getattr(meta, k)) for k in FIELDS if k != "timezone" and getattr(meta, k)],
        "clock": clock,
        "tr": tr,
        "check_fix": check_fix,
        "severity_reason": severity_reason,
        "references": references,
        "reason": reason,
        "summary_of": summary,
        "status_reason": status_reason,
        "req_title": req_title,
        "fw_title": fw_title,
        "matrix": _matrix_parts(frameworks),
        "headline": headline,
        "cited": {
            cid: [
                (fw.id, req.id, req_anchor[id(req)], m.role)
                for fw, level in a.all_frameworks()
                for req in fw.selected(level)
                for m in req.checks
                if m.check == cid and authored(req)
            ]
            for cid in data.checks
        },
        "fix": fix,
        "title": title,
        "when": clock.time,
        "service": service,
        "details": _details,
    }


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        finalize=visible,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_lang(data: ReportData, lang: Lang) -> str:
    return _environment().get_template("report.html").render(context(data, lang))


def pieces(data: ReportData) -> Iterator[str]:
    """The English report as the template makes it: written piece by piece, the page of
    1,000 devices is never one string (nor jinja's list of its parts) in memory."""
    return _environment().get_template("report.html").generate(context(data, "en"))


def pieces_ja(data: ReportData) -> Iterator[str]:
    """The Japanese report, piece by piece (see `pieces`)."""
    return _environment().get_template("report.html").generate(context(data, "ja"))


def render(data: ReportData) -> str:
    """The English report (`report.html`)."""
    return render_lang(data, "en")


def render_ja(data: ReportData) -> str:
    """The Japanese report (`report.ja.html`), in the source guidebook's terms."""
    return render_lang(data, "ja")


__all__ = ["LANGS", "pieces", "pieces_ja", "render", "render_ja", "render_lang"]
