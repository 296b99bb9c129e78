"""The OSCAL assessment-results report (`report.oscal.json`), OSCAL 1.1.3, JSON.

One `result` for the run: every check result is an observation (method TEST, the device as
its subject, the evidence summaries as relevant evidence), every device × requirement a
finding whose target is the requirement and which cites the observations that decided it.
Mapping choices are documented in `docs/report-format.md`; the short version:

| shinsa status                                          | state           | reason  |
|--------------------------------------------------------|-----------------|---------|
| satisfied                                              | `satisfied`     | `pass`  |
| not_satisfied                                          | `not-satisfied` | `fail`  |
| partially_assessed, not_assessed, not_applicable, error | `not-satisfied` | `other` |

OSCAL has only two states; nothing the scan could not show is claimed satisfied. The exact
status rides along as the finding's `shinsa:status` prop.

Every failed check result is also a `risk`: its severity as a characterization facet (and a
`severity` prop), its CWE references as threat IDs, the fix for this finding as a
`recommendation` remediation (the Japanese text as its `remediation-ja` prop), status `open`
(`deviation-approved` while an accepted deviation covers it). A finding cites the risks of
the failed results that decided it.

Identifiers are UUIDv5, so the same run always renders to the same bytes: the document, the
result, observations and findings are derived from the run ID (and the device, service,
check or requirement); a device's inventory item from its address alone, so tools can follow
one device across runs. OSCAL IDs are NCName tokens, which `CR 7.7` and `3.4.7` are not:
requirement `R` of framework `F` becomes control ID `F_r` (`iec-62443-4-2_cr-7.7`).
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from datetime import UTC
from typing import TYPE_CHECKING

from reports.findings import Findings, reference_url
from scanner.judging.assess import JudgedResult, RequirementStatus, Status
from scanner.model import bound_text

if TYPE_CHECKING:
    from datetime import datetime

    from scanner.judging.report_data import Device, ReportData
    from scanner.model import JSONValue, Result

OSCAL_VERSION = "1.1.3"
#: namespace of every prop shinsa defines (OSCAL's own names need none)
NS = "urn:shinsa:oscal"
_ROOT = uuid.uuid5(uuid.NAMESPACE_URL, NS)

_STATE = {
    Status.SATISFIED: ("satisfied", "pass"),
    Status.NOT_SATISFIED: ("not-satisfied", "fail"),
    Status.PARTIALLY_ASSESSED: ("not-satisfied", "other"),
    Status.NOT_ASSESSED: ("not-satisfied", "other"),
    Status.NOT_APPLICABLE: ("not-satisfied", "other"),
    Status.ERROR: ("not-satisfied", "other"),
}

# CommonMark punctuation that could start markup (links, HTML, emphasis, code, tables);
# OSCAL markup fields are Markdown in JSON, and device text must stay text in a viewer.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>#|!])")
_NOT_TOKEN = re.compile(r"[^\w.\-]+")


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(_ROOT, "\x1f".join(parts)))


def _utc(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _line(text: str, fallback: str) -> str:
    """Device or result text as one Markdown line: controls escaped, markup neutralised."""
    flat = " ".join(bound_text(text, 1024).split())
    return _MARKDOWN.sub(r"\\\1", flat) if flat else fallback


def _value(text: str) -> str:
    """A prop value: one line, no surrounding space, never empty (OSCAL's string type)."""
    return " ".join(bound_text(text, 1024).split()) or "-"


def _prop(name: str, value: str | int | bool, *, ns: bool = True) -> dict[str, JSONValue]:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    prop: dict[str, JSONValue] = {"name": name}
    if ns:
        prop["ns"] = NS
    prop["value"] = _value(text)
    return prop


def control_id(framework: str, requirement: str) -> str:
    """`iec-62443-4-2`, `CR 7.7` -> `iec-62443-4-2_cr-7.7`: an NCName, as OSCAL IDs must be."""
    slug = _NOT_TOKEN.sub("-", requirement.strip().lower()).strip("-") or "requirement"
    return f"{_NOT_TOKEN.sub('-', framework.lower())}_{slug}"


def _device_uuid(address: str) -> str:
    return str(uuid.uuid5(_ROOT, f"device\x1f{address}"))


def _observation_uuid(run_id: str, r: Result) -> str:
    return _uuid(run_id, "observation", r.target, r.service_key, r.check_id)


def _inventory_item(d: Device) -> dict[str, JSONValue]:
    version = ipaddress.ip_address(d.address).version
    props: list[JSONValue] = [_prop(f"ipv{version}-address", d.address, ns=False)]
    if d.label and d.label != d.address:
        props.append(_prop("label", d.label))
    props.append(_prop("scan-finished", d.finished))
    props += [_prop("service", f"{s.key} {s.protocol}") for s in d.services]
    return {
        "uuid": _device_uuid(d.address),
        "description": _line(d.label or d.address, d.address),
        "props": props,
    }


def _risk_uuid(run_id: str, r: Result) -> str:
    return _uuid(run_id, "risk", r.target, r.service_key, r.check_id)


def _risk(
    j: JudgedResult, run_id: str, tool: str, findings: Findings, titles: dict[str, str]
) -> dict[str, JSONValue] | None:
    """The risk a failed result stands for, with its severity and fix; None unless failed."""
    r = j.result
    found = findings.of(r)
    if found is None:
        return None
    where = f"{r.target} {r.service.key}" if r.service else r.target
    severity = found.severity.value
    statement = f"Severity {severity}" + (
        f": {found.severity_reason}" if found.severity_reason else "."
    )
    props: list[JSONValue] = [_prop("severity", severity), _prop("check-id", r.check_id)]
    props += [_prop("reference", ref) for ref in found.references]
    risk: dict[str, JSONValue] = {
        "uuid": _risk_uuid(run_id, r),
        "title": _line(f"{titles.get(r.check_id, r.check_id)} on {where}", r.check_id),
        "description": _line(r.reason, f"{r.check_id}: fail"),
        "statement": _line(statement, severity),
        "props": props,
        "status": "deviation-approved" if j.accepted is not None else "open",
        "characterizations": [
            {
                "origin": {"actors": [{"type": "tool", "actor-uuid": tool}]},
                "facets": [{"name": "severity", "system": NS, "value": severity}],
            }
        ],
    }
    cwe = [
        (ref, url)
        for ref in found.references
        if ref.startswith("CWE-") and (url := reference_url(ref))
    ]
    if cwe:
        risk["threat-ids"] = [
            {"system": "https://cwe.mitre.org", "id": url, "href": url} for _, url in cwe
        ]
    if found.remedy_en:
        response: dict[str, JSONValue] = {
            "uuid": _uuid(run_id, "remediation", r.target, r.service_key, r.check_id),
            "lifecycle": "recommendation",
            "title": "Remediation",
            "description": _line(found.remedy_en, "-"),
        }
        if found.remedy_ja:
            response["props"] = [_prop("remediation-ja", found.remedy_ja)]
        risk["remediations"] = [response]
    risk["related-observations"] = [{"observation-uuid": _observation_uuid(run_id, r)}]
    return risk


def _observation(
    j: JudgedResult,
    run_id: str,
    collected: datetime,
    names: dict[str, str],
    tool: str,
    findings: Findings,
) -> dict[str, JSONValue]:
    r = j.result
    where = f"{r.target} {r.service.key}" if r.service else r.target
    props: list[JSONValue] = [_prop("check-id", r.check_id), _prop("verdict", r.verdict.value)]
    if (found := findings.of(r)) is not None:
        props.append(_prop("severity", found.severity.value))
    if r.service is not None:
        props += [
            _prop("transport", r.service.transport),
            _prop("port", r.service.port),
            _prop("protocol", r.service.protocol),
        ]
    for name, acc in (("accepted", j.accepted), ("acceptance-expired", j.expired)):
        if acc is not None:
            props.append(
                _prop(name, f"{acc.reason} (approved by {acc.approved_by}, until {acc.expires})")
            )
    obs: dict[str, JSONValue] = {
        "uuid": _observation_uuid(run_id, r),
        "title": _line(f"{r.check_id} on {where}", r.check_id),
        "description": _line(r.reason, f"{r.check_id}: {r.verdict.value}"),
        "props": props,
        "methods": ["TEST"],
        "types": ["finding"] if j.counts_as_fail else ["control-objective"],
        "origins": [{"actors": [{"type": "tool", "actor-uuid": tool}]}],
        "subjects": [
            {
                "subject-uuid": _device_uuid(r.target),
                "type": "inventory-item",
                "title": _line(names.get(r.target, r.target), r.target),
                "props": [_prop("address", r.target)],
            }
        ],
        "collected": _utc(r.started or collected),
    }
    if r.evidence:
        obs["relevant-evidence"] = [
            {"description": _line(e.summary, e.kind), "props": [_prop("kind", e.kind)]}
            for e in r.evidence
        ]
    return obs


def _finding(st: RequirementStatus, run_id: str, findings: Findings) -> dict[str, JSONValue]:
    req = st.requirement
    state, reason = _STATE[st.status]
    cited = [j.result for j in (*st.results, *st.related)]
    finding: dict[str, JSONValue] = {
        "uuid": _uuid(run_id, "finding", st.target, st.framework, req.id),
        "title": _line(f"{st.framework} {req.id} {req.title} on {st.target}", req.id),
        "description": _line(st.reason, st.status.value),
        "props": [
            _prop("status", st.status.value),
            _prop("address", st.target),
            _prop("framework", st.framework),
            _prop("requirement-id", req.id),
            _prop("coverage", req.coverage.value),
        ],
        "target": {
            "type": "objective-id",
            "target-id": control_id(st.framework, req.id),
            "title": _line(f"{req.id} {req.title}", req.id),
            "status": {"state": state, "reason": reason},
        },
    }
    if cited:
        finding["related-observations"] = [
            {"observation-uuid": _observation_uuid(run_id, r)} for r in cited
        ]
    # the risks of the failed results that decided the status (direct evidence only)
    risks = [j.result for j in st.results if findings.of(j.result) is not None]
    if risks:
        finding["related-risks"] = [{"risk-uuid": _risk_uuid(run_id, r)} for r in risks]
    return finding


def to_dict(data: ReportData) -> dict[str, JSONValue]:
    a = data.assessment
    run = data.run
    profile = a.profile
    names = {d.address: d.label or d.address for d in data.devices}
    tool = _uuid(run.id, "tool")
    plan = _uuid(run.id, "plan")
    end = run.finished or run.started
    selections: list[JSONValue] = [
        {
            "description": f"{fw.title}"
            + (f", security level {level}" if level is not None else ""),
            "props": [_prop("framework", fw.id)],
            "include-controls": [{"control-id": control_id(fw.id, r.id)} for r in reqs],
        }
        for fw, level in profile.frameworks
        if (reqs := fw.selected(level))
    ]
    result: dict[str, JSONValue] = {
        "uuid": _uuid(run.id, "result"),
        "title": f"shinsa run {run.id}",
        "description": (
            f"Network scan of {len(data.devices)} device(s) against profile "
            f"{_line(profile.title, profile.id)} ({profile.id}); run status {run.status}."
        ),
        "start": _utc(run.started),
        "end": _utc(end),
        "props": [
            _prop("run-id", run.id),
            _prop("run-status", run.status),
            _prop("profile-id", profile.id),
            _prop("profile-digest", profile.digest),
            _prop("profile-changed-since-scan", data.profile_changed),
            _prop("scan-version", run.scanner_version),
        ],
        "local-definitions": {
            "inventory-items": [_inventory_item(d) for d in data.devices],
            "assessment-assets": {
                "components": [
                    {
                        "uuid": tool,
                        "type": "software",
                        "title": "shinsa",
                        "description": "Network compliance scanner for IoT and industrial devices.",
                        "props": [_prop("version", data.scanner_version)],
                        "status": {"state": "operational"},
                    }
                ],
                "assessment-platforms": [
                    {
                        "uuid": _uuid(run.id, "platform"),
                        "title": "shinsa",
                        "uses-components": [{"component-uuid": tool}],
                    }
                ],
            },
        },
        "reviewed-controls": {
            "description": f"Every requirement of profile {profile.id} in scope.",
            "control-selections": selections
            or [{"description": "The profile selects no requirement.", "include-all": {}}],
        },
    }
    findings_of = Findings.of_report(data)
    observations: list[JSONValue] = [
        _observation(j, run.id, run.started, names, tool, findings_of)
        for d in data.devices
        for j in a.results_for(d.address)
    ]
    titles = {cid: c.title for cid, c in data.checks.items()}
    risks: list[JSONValue] = [
        risk
        for d in data.devices
        for j in a.results_for(d.address)
        if (risk := _risk(j, run.id, tool, findings_of, titles)) is not None
    ]
    # A finding per requirement with evidence on a device. The rest (not_assessed: nothing
    # measured, seen or stated) would be one identical finding per device x requirement, 287
    # per empty device; `reviewed-controls` lists them, and a control with no finding for a
    # device was not assessed there.
    findings: list[JSONValue] = [
        _finding(st, run.id, findings_of) for d in data.devices for st in a.evidenced_for(d.address)
    ]
    if observations:
        result["observations"] = observations
    if findings:
        result["findings"] = findings
    if risks:
        result["risks"] = risks
    scope = ", ".join(str(x) for x in run.request.get("allow", [])) or "the targets"
    return {
        "assessment-results": {
            "uuid": _uuid(run.id, "assessment-results"),
            "metadata": {
                "title": f"shinsa assessment results: {_line(profile.title, profile.id)}",
                "last-modified": _utc(end),
                "version": data.scanner_version,
                "oscal-version": OSCAL_VERSION,
            },
            # OSCAL requires a plan; a scan has its request instead, described here.
            "import-ap": {"href": f"#{plan}"},
            "results": [result],
            "back-matter": {
                "resources": [
                    {
                        "uuid": plan,
                        "title": "No OSCAL assessment plan: the scan request stands for it",
                        "description": (
                            f"shinsa run {run.id} scanned the devices listed in the result's "
                            f"local definitions, within the allow-list {_line(scope, '-')}, "
                            f"judged by profile {profile.id} (sha256 {profile.digest})."
                        ),
                        "props": [_prop("run-id", run.id)],
                    }
                ]
            },
        }
    }


def render(data: ReportData) -> str:
    return json.dumps(to_dict(data), indent=2, ensure_ascii=False) + "\n"
