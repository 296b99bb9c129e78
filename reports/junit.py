"""The JUnit XML report: one test case per device × requirement assessed, for a maker's CI.

A not-assessed requirement (nothing measured, seen or stated) is left out: it is most of
the matrix, and a CI that shows it as skipped buries the failures (`--junit-all` keeps it).
Each device is one class whose name has no dot (`127_0_10_1 lobby-cam`): Jenkins reads a
dotted class name as packages and would fold every device into one. A failure's message
starts with its worst severity, and its body gives each failing check's fix and references.

A requirement status becomes a test outcome (documented in `docs/report-format.md`):

| status                                   | test case                                     |
|------------------------------------------|-----------------------------------------------|
| satisfied                                | passes                                        |
| partially_assessed, every result passed  | passes; `<system-out>` says coverage is partial |
| partially_assessed, a result undecided   | `<skipped>`: inconclusive is never a pass     |
| not_satisfied                            | `<failure>` listing the failing checks        |
| error                                    | `<error>` listing the checks that did not finish |
| not_applicable                           | `<skipped>` with the reason                   |
| not_assessed                             | left out; with --junit-all `<skipped>`        |
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC
from typing import TYPE_CHECKING

from reports.findings import Findings
from scanner.judging.assess import RequirementStatus, Status
from scanner.model import Verdict

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from scanner.judging.assess import JudgedResult
    from scanner.judging.report_data import Device, ReportData

# Characters XML 1.0 cannot carry at all, not even as character references.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """Device text made safe for XML: ElementTree escapes markup, but would write control
    characters that make the whole file unparsable. They become visible escapes instead."""
    return _NOT_XML.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if m.group() < "\x20" else "\ufffd", text
    )


def device_name(device: Device) -> str:
    label = device.label.strip()
    return f"{device.address} ({label})" if label and label != device.address else device.address


def class_name(device: Device) -> str:
    """The device as one JUnit class: no dot anywhere (`127_0_10_1 lobby-cam`)."""
    label = " ".join(device.label.split())
    name = f"{device.address} {label}" if label and label != device.address else device.address
    return name.replace(".", "_")


def _line(j: JudgedResult, findings: Findings | None = None) -> str:
    r = j.result
    where = f" on {r.service}" if r.service else ""
    line = f"{r.check_id}{where}: {r.verdict.value}: {r.reason}"
    for e in r.evidence:
        line += f"\n    {e.kind}: {e.summary}"
    found = findings.of(r) if findings is not None else None
    if found is not None:
        severity = f"{found.severity.value} ({found.severity_reason})"
        line += f"\n    severity: {severity if found.severity_reason else found.severity.value}"
        if found.remedy_en:
            line += f"\n    fix: {found.remedy_en}"
        if found.references:
            line += f"\n    references: {', '.join(found.references)}"
    acc = j.accepted or j.expired
    if acc is not None:
        state = "accepted" if j.accepted is not None else "acceptance expired"
        line += f"\n    {state}: {acc.reason} (approved by {acc.approved_by}, until {acc.expires})"
    return line


def _lines(results: Iterable[JudgedResult], findings: Findings | None = None) -> str:
    return "\n".join(_line(j, findings) for j in results)


def _worst(st: RequirementStatus, findings: Findings) -> str:
    """`[high] ` for the worst severity among the failing results, or nothing."""
    found = [f for j in st.results if j.counts_as_fail and (f := findings.of(j.result))]
    if not found:
        return ""
    return f"[{max((f.severity for f in found), key=lambda s: s.rank).value}] "


def _outcome(st: RequirementStatus, findings: Findings) -> tuple[str | None, str]:
    """(element name or None for a pass, message)."""
    label = st.status.value.replace("_", " ")
    match st.status:
        case Status.NOT_SATISFIED:
            return "failure", _worst(st, findings) + st.reason
        case Status.ERROR:
            return "error", st.reason
        case Status.NOT_APPLICABLE | Status.NOT_ASSESSED:
            return "skipped", f"{label}: {st.reason}"
        case Status.PARTIALLY_ASSESSED if any(
            j.result.verdict in (Verdict.INCONCLUSIVE, Verdict.SKIPPED) for j in st.results
        ):
            return "skipped", f"{label}: {st.reason}"
        case _:
            return None, f"{label}: {st.reason}"


def _included(data: ReportData, st: RequirementStatus) -> bool:
    return st.status is not Status.NOT_ASSESSED or data.options.junit_all


def _testcase(
    parent: ET.Element, name: str, st: RequirementStatus, findings: Findings
) -> str | None:
    req = st.requirement
    case = ET.SubElement(
        parent,
        "testcase",
        {
            "classname": _xml_text(name),
            "name": _xml_text(f"{st.framework} {req.id} {req.title}"),
            "time": f"{sum(j.result.duration or 0.0 for j in st.results):.3f}",
        },
    )
    kind, message = _outcome(st, findings)
    if kind is not None:
        element = ET.SubElement(case, kind, {"message": _xml_text(message)})
        if kind != "skipped":
            element.set("type", st.status.value)
            if kind == "failure":
                picked = tuple(j for j in st.results if j.counts_as_fail)
            else:
                picked = tuple(j for j in st.results if j.result.verdict is Verdict.ERROR)
            element.text = _xml_text(_lines(picked, findings))
    out = [message, f"coverage: {req.coverage.value}"]
    if st.results:
        out += ["", "direct evidence:", _lines(st.results)]
    if st.related:
        out += ["", "related evidence (never decides the status):", _lines(st.related)]
    ET.SubElement(case, "system-out").text = _xml_text("\n".join(out))
    return kind


def _suite(
    data: ReportData, device: Device, started: str, findings: Findings
) -> tuple[ET.Element, dict[str, int]]:
    """One device's test suite and its counts."""
    a = data.assessment
    name = device_name(device)
    suite = ET.Element(
        "testsuite",
        {"name": _xml_text(name), "hostname": device.address, "timestamp": started},
    )
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("shinsa.run", data.run.id),
        ("shinsa.profile", a.profile.id),
        ("shinsa.profile_digest", a.profile.digest),
        ("shinsa.device_finished", str(device.finished).lower()),
        ("shinsa.requirements_not_assessed", str(a.unassessed_count(device.address))),
        ("shinsa.services", " ".join(str(s) for s in device.services)),
    ):
        ET.SubElement(props, "property", {"name": key, "value": _xml_text(value)})
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    classname = class_name(device)
    for st in a.for_target(device.address):
        if not _included(data, st):
            continue
        kind = _testcase(suite, classname, st, findings)
        counts["tests"] += 1
        if kind is not None:
            counts[_COUNTED[kind]] += 1
    for key, n in counts.items():
        suite.set(key, str(n))
    return suite, counts


_COUNTED = {"failure": "failures", "error": "errors", "skipped": "skipped"}


def _totals(data: ReportData, findings: Findings) -> dict[str, int]:
    """The root's counts, from the statuses alone (no XML is built for them)."""
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for device in data.devices:
        for st in data.assessment.for_target(device.address):
            if not _included(data, st):
                continue
            totals["tests"] += 1
            kind, _ = _outcome(st, findings)
            if kind is not None:
                totals[_COUNTED[kind]] += 1
    return totals


def pieces(data: ReportData) -> Iterator[str]:
    """The report in pieces, one device's test suite at a time.

    The whole tree of 1,000 empty devices (287 test cases each) took 610 MB; one suite at a
    time, the root's counts found first by a pass over the statuses, the text is the same.
    """
    a = data.assessment
    # the Ant JUnit schema's timestamp has no zone: UTC, said in the docs
    started = data.run.started.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    root = ET.Element("testsuites", {"name": f"shinsa {a.profile.id}"})
    findings = Findings.of_report(data)
    for key, n in _totals(data, findings).items():
        root.set(key, str(n))
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    if not data.devices:
        yield ET.tostring(root, "unicode") + "\n"
        return
    # ElementTree writes the root's start tag with its attributes escaped: take it whole.
    root.text = "\n  "
    opened = ET.tostring(root, "unicode")
    yield opened[: -len("</testsuites>")]
    last = len(data.devices) - 1
    for index, device in enumerate(data.devices):
        suite, _ = _suite(data, device, started, findings)
        ET.indent(suite, level=1)  # as ET.indent of the whole tree would have it
        suite.tail = "\n" if index == last else "\n  "
        yield ET.tostring(suite, "unicode")
    yield "</testsuites>\n"


def render(data: ReportData) -> str:
    return "".join(pieces(data))
