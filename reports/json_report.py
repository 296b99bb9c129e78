"""The JSON report: the interchange format every other renderer can be built from.

Schema: `reports/schema/report-1.json` (JSON Schema 2020-12), documented in
`docs/report-format.md`. `schema_version` follows semver: a new optional field is a minor
bump, a removed or changed field a major one.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING

from scanner.assess import JudgedResult, exit_code
from scanner.codec import evidence_to_dict
from scanner.manual import numbered, statement_to_dict

if TYPE_CHECKING:
    from reports.data import ReportData
    from scanner.model import JSONValue

SCHEMA_VERSION = "1.2"  # 1.2: a device's unfinished_reason, run status incomplete/crashed
# 1.1: manual_evidence, a requirement's manual


def _result(j: JudgedResult) -> dict[str, JSONValue]:
    r = j.result
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


def to_dict(data: ReportData) -> dict[str, JSONValue]:
    a = data.assessment
    profile = a.profile
    req = data.run.request
    manual_ids = numbered(data.evidence)
    devices: list[JSONValue] = []
    for d in data.devices:
        statuses = a.for_target(d.address)
        devices.append(
            {
                "address": d.address,
                "label": d.label,
                "finished": d.finished,
                "unfinished_reason": d.unfinished_reason,
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
                "results": [_result(j) for j in a.results if j.result.target == d.address],
                "requirements": [
                    {
                        "framework": st.framework,
                        "id": st.requirement.id,
                        "title": st.requirement.title,
                        "coverage": st.requirement.coverage.value,
                        "status": st.status.value,
                        "reason": st.reason,
                        "results": [_ref(j) for j in st.results],
                        "related": [_ref(j) for j in st.related],
                        "manual": [manual_ids[m] for m in st.manual],
                    }
                    for st in statuses
                ],
            }
        )
    checks: list[JSONValue] = []
    for cid, check in sorted(data.checks.items()):
        cited: list[JSONValue] = [
            f"{fw.id} {r.id}"
            for fw, level in profile.frameworks
            for r in fw.selected(level)
            if cid in r.direct or cid in r.supporting
        ]
        checks.append(
            {"id": cid, "title": check.title, "method": check.method, "requirements": cited}
        )
    return {
        "schema": "shinsa-report",
        "schema_version": SCHEMA_VERSION,
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
            "targets": req.get("targets", []),
            "ports": str(req.get("ports", "")),
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
        "summary": {
            "devices": len(data.devices),
            "services": sum(len(d.services) for d in data.devices),
            "results": dict(Counter(j.result.verdict.value for j in a.results)),
            "requirements": dict(Counter(s.status.value for s in a.statuses)),
            "exit_code": exit_code(a),
        },
        "checks": checks,
        "devices": devices,
        "manual_evidence": {
            "files": [
                {"path": f.path, "sha256": f.sha256, "statements": len(f.statements)}
                for f in data.evidence
            ],
            "statements": [{"id": i, **statement_to_dict(m)} for m, i in manual_ids.items()],
        },
    }


def render(data: ReportData) -> str:
    return json.dumps(to_dict(data), indent=2, ensure_ascii=False) + "\n"
