"""The JSON report: the interchange format every other renderer can be built from.

Schema: `reports/schema/report-2.json` (JSON Schema 2020-12), documented in
`docs/report-format.md`. `schema_version` follows semver: a new optional field is a minor
bump, a removed or changed field a major one.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from typing import TYPE_CHECKING

from reports.findings import Findings
from scanner.codec import evidence_to_dict
from scanner.judging.assess import JudgedResult, exit_code, unassessed_reason
from scanner.judging.manual import numbered, statement_to_dict

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from scanner.judging.assess import Assessment
    from scanner.judging.manual import Statement
    from scanner.judging.report_data import Device, ReportData
    from scanner.model import JSONValue

SCHEMA_VERSION = "2.1"
# 2.1: a failed result's severity, severity_reason, remediation (en, ja) and references; a
#      check's title_ja, severity, severity_reason, remediation and references
# 2.0: a device lists only the requirements it has evidence for, plus a count of the rest
#      (all not_assessed); titles and coverage once, in the top-level `requirements`
# 1.2: a device's unfinished_reason, run status incomplete/crashed
# 1.1: manual_evidence, a requirement's manual


def result_dict(j: JudgedResult, findings: Findings) -> dict[str, JSONValue]:
    r = j.result
    found = findings.of(r)
    s = r.service
    out: dict[str, JSONValue] = {
        "address": r.target,
        "transport": s.transport if s else None,
        "port": s.port if s else None,
        "protocol": s.protocol if s else None,
        "check_id": r.check_id,
        "verdict": r.verdict.value,
        "reason": r.reason,
        "evidence": [evidence_to_dict(e) for e in r.evidence],
        "started": r.started.isoformat() if r.started else None,
        "duration": r.duration,
        "accepted": None,
        # a failed result's: what it exposes, how to fix it, what it is evidence against
        "severity": found.severity.value if found else None,
        "severity_reason": found.severity_reason if found else None,
        "remediation": {"en": found.remedy_en, "ja": found.remedy_ja} if found else None,
        "references": list(found.references) if found else [],
    }
    acc = j.accepted or j.expired
    if acc is not None:
        out["accepted"] = {
            "reason": acc.reason,
            "approved_by": acc.approved_by,
            "expires": acc.expires.isoformat(),
            "active": j.accepted is not None,
        }
    return out


def _ref(j: JudgedResult) -> dict[str, JSONValue]:
    return {
        "check_id": j.result.check_id,
        "service": j.result.service_key or None,
        "verdict": j.result.verdict.value,
    }


def requirement_entries(a: Assessment) -> list[JSONValue]:
    """The profile's requirements, once: every device has a status for each of them."""
    return [
        {
            "framework": fw,
            "id": req.id,
            "title": req.title,
            "coverage": req.coverage.value,
            "not_assessed_reason": unassessed_reason(req),
        }
        for fw, req in a.requirements
    ]


def device_dict(
    d: Device,
    a: Assessment,
    manual_ids: Mapping[Statement, str],
    findings: Findings,
    *,
    results: bool = True,
) -> dict[str, JSONValue]:
    """One device: its services and results, and the statuses of the requirements it has
    evidence for. The others (`requirements_not_assessed` of them) are `not_assessed`, with
    the top-level requirement's `not_assessed_reason`: listing them on every device made an
    empty device cost 111 KB. `results=False` leaves the results out (JSON Lines gives each
    its own line)."""
    return {
        "address": d.address,
        "label": d.label,
        "finished": d.finished,
        "unfinished_reason": d.unfinished_reason,
        "profile": d.profile or a.profile_for(d.address).id,
        "services": [
            {
                "address": d.address,
                "transport": s.transport,
                "port": s.port,
                "protocol": s.protocol,
                "tls": s.tls,
                "banner": s.banner,
                "product": s.product,
                "note": s.note,
            }
            for s in d.services
        ],
        **(
            {"results": [result_dict(j, findings) for j in a.results_for(d.address)]}
            if results
            else {}
        ),
        "requirements": [
            {
                "framework": st.framework,
                "id": st.requirement.id,
                "status": st.status.value,
                "reason": st.reason,
                "results": [_ref(j) for j in st.results],
                "related": [_ref(j) for j in st.related],
                "manual": [manual_ids[m] for m in st.manual],
            }
            for st in a.evidenced_for(d.address)
        ],
        "requirements_not_assessed": a.unassessed_count(d.address),
    }


def checks_list(data: ReportData) -> list[JSONValue]:
    """Every check, with the requirements of this profile it gives evidence for, its
    severity and its fix (a finding's own fix, which may depend on its service, is on the
    failed result)."""
    cited: dict[str, list[JSONValue]] = {}
    for fw, r in data.assessment.requirements:
        for cid in dict.fromkeys((*r.direct, *r.supporting)):
            cited.setdefault(cid, []).append(f"{fw} {r.id}")
    findings = Findings.of_report(data)
    return [
        {
            "id": cid,
            "title": check.title,
            "title_ja": check.title_ja,
            "method": check.method,
            "requirements": cited.get(cid, []),
            "severity": check.severity.value,
            "severity_reason": check.severity_reason,
            "remediation": {"en": check.remediation.en, "ja": check.remediation.ja},
            "references": list(findings.references(check)),
        }
        for cid, check in sorted(data.checks.items())
    ]


def head(data: ReportData) -> dict[str, JSONValue]:
    """What describes the run rather than a device: scanner, run, scope, profile."""
    profile = data.assessment.profile
    req = data.run.request
    limits = req.get("limits") or {}
    return {
        "scanner": {
            "name": "shinsa",
            "version": data.scanner_version,
            "scan_version": data.run.scanner_version,
        },
        "run": {
            "id": data.run.id,
            "status": data.run.status,
            "started": data.run.started.isoformat(),
            "finished": data.run.finished.isoformat() if data.run.finished else None,
        },
        "scope": {
            "allow": req.get("allow", []),
            "exclude": req.get("exclude", []),
            "targets": req.get("targets", []),
            "ports": str(req.get("ports", "")),
            # how the run went about it: its pace and the checks it selected (null: all)
            "pace": {
                "max_rate": limits.get("max_rate") if isinstance(limits, dict) else None,
                "scan_delay": limits.get("scan_delay", 0.0) if isinstance(limits, dict) else 0.0,
            },
            "selected_checks": req.get("selected_checks"),
        },
        "profile": {
            "id": profile.id,
            "title": profile.title,
            "digest": profile.digest,
            "scan_digest": data.run.profile_digest,
            "changed_since_scan": data.profile_changed,
            "files": [{"path": p, "sha256": h} for p, h in profile.files],
            "frameworks": [
                {"id": fw.id, "title": fw.title, "security_level": level}
                for fw, level in profile.frameworks
            ],
        },
    }


def summary(data: ReportData) -> dict[str, JSONValue]:
    a = data.assessment
    return {
        "devices": len(data.devices),
        "services": sum(len(d.services) for d in data.devices),
        "results": dict(Counter(j.result.verdict.value for j in a.results)),
        "requirements": {s.value: n for s, n in a.status_counts().items()},
        "exit_code": exit_code(a),
    }


def manual_evidence(data: ReportData, manual_ids: Mapping[Statement, str]) -> dict[str, JSONValue]:
    return {
        "files": [
            {"path": f.path, "sha256": f.sha256, "statements": len(f.statements)}
            for f in data.evidence
        ],
        "statements": [{"id": i, **statement_to_dict(m)} for m, i in manual_ids.items()],
    }


def _top(data: ReportData, devices: JSONValue) -> dict[str, JSONValue]:
    manual_ids = numbered(data.evidence)
    return {
        "schema": "shinsa-report",
        "schema_version": SCHEMA_VERSION,
        **head(data),
        "summary": summary(data),
        "requirements": requirement_entries(data.assessment),
        "checks": checks_list(data),
        "devices": devices,
        "manual_evidence": manual_evidence(data, manual_ids),
    }


def to_dict(data: ReportData) -> dict[str, JSONValue]:
    a = data.assessment
    manual_ids = numbered(data.evidence)
    findings = Findings.of_report(data)
    return _top(data, [device_dict(d, a, manual_ids, findings) for d in data.devices])


def pieces(data: ReportData) -> Iterator[str]:
    """The same text as `render`, device by device: the CLI writes it as it is made, so a
    large run's report is never one string (nor one dict) in memory."""
    # stands for the device list in the document around it: random, so that no text in the
    # report (a statement, a label) can be taken for it
    mark = f"devices-{secrets.token_hex(16)}"
    outer = json.dumps(_top(data, mark), indent=2, ensure_ascii=False)
    before, after = outer.split(json.dumps(mark), 1)
    if not data.devices:
        yield before + "[]" + after + "\n"
        return
    yield before + "["
    a = data.assessment
    manual_ids = numbered(data.evidence)
    findings = Findings.of_report(data)
    for i, d in enumerate(data.devices):
        text = json.dumps(device_dict(d, a, manual_ids, findings), indent=2, ensure_ascii=False)
        # at depth 2 of the document: every line indented by two levels
        yield ("," if i else "") + "\n    " + text.replace("\n", "\n    ")
    yield "\n  ]" + after + "\n"


def render(data: ReportData) -> str:
    return "".join(pieces(data))
