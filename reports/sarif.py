"""The SARIF 2.1.0 report: every check result as a SARIF result, every check as a rule.

Schema: `reports/schema/sarif-schema-2.1.0.json` (OASIS, errata 01). Mapping choices are
documented in `docs/report-format.md`; the short version:

| verdict                 | kind            | level   |
|-------------------------|-----------------|---------|
| fail                    | `fail`          | `error` (a suppression if accepted) |
| error, inconclusive     | `open`          | `none`  |
| pass                    | `pass`          | `none`  |
| not_applicable, skipped | `notApplicable` | `none`  |

SARIF lets only `kind: fail` carry a level other than `none`, so an error is also reported
as a tool execution notification of level `error`: the tool could not finish that check.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC
from typing import TYPE_CHECKING

from scanner.codec import evidence_to_dict
from scanner.judging.assess import JudgedResult, RequirementStatus, exit_code
from scanner.model import Verdict

if TYPE_CHECKING:
    from datetime import datetime

    from scanner.judging.profiles import Profile
    from scanner.judging.report_data import ReportData
    from scanner.model import JSONValue, Result

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)

_KIND = {
    Verdict.PASS: "pass",
    Verdict.FAIL: "fail",
    Verdict.ERROR: "open",
    Verdict.INCONCLUSIVE: "open",
    Verdict.NOT_APPLICABLE: "notApplicable",
    Verdict.SKIPPED: "notApplicable",
}


def _utc(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _location(r: Result, labels: dict[str, str]) -> dict[str, JSONValue]:
    """A service is `tcp://127.0.10.3:443`; a device-level result is `//127.0.10.3`."""
    s = r.service
    if s is None:
        uri = f"//{_host(r.target)}"
        logical: dict[str, JSONValue] = {"name": r.target, "kind": "device"}
    else:
        uri = f"{s.transport}://{_host(r.target)}:{s.port}"
        logical = {
            "name": f"{s.key} {s.protocol}",
            "fullyQualifiedName": f"{r.target}/{s.key}",
            "kind": "service",
        }
    if labels.get(r.target):
        logical["properties"] = {"device_label": labels[r.target]}
    return {"physicalLocation": {"artifactLocation": {"uri": uri}}, "logicalLocations": [logical]}


def _cited(profile: Profile, check_id: str) -> list[tuple[str, str, str]]:
    """(framework, requirement, role) for every requirement the check gives evidence for."""
    return [
        (fw.id, r.id, m.role)
        for fw, level in profile.frameworks
        for r in fw.selected(level)
        for m in r.checks
        if m.check == check_id
    ]


def _rules(data: ReportData) -> list[JSONValue]:
    rules: list[JSONValue] = []
    for cid, check in sorted(data.checks.items()):
        cited = _cited(data.assessment.profile, cid)
        tags: list[JSONValue] = list(dict.fromkeys(f"{fw} {rid}" for fw, rid, _ in cited))
        rule: dict[str, JSONValue] = {
            "id": cid,
            "shortDescription": {"text": check.title},
            "fullDescription": {"text": check.method},
            "defaultConfiguration": {"level": "error"},
            "properties": {"tags": tags},
        }
        if cited:
            rule["relationships"] = [
                {
                    "target": {"id": rid, "toolComponent": {"name": fw}},
                    "kinds": ["relevant"],
                    "properties": {"role": role},
                }
                for fw, rid, role in cited
            ]
        rules.append(rule)
    return rules


def _taxonomies(profile: Profile) -> list[JSONValue]:
    return [
        {
            "name": fw.id,
            "fullName": fw.title,
            "properties": {"security_level": level},
            "taxa": [
                {
                    "id": r.id,
                    "shortDescription": {"text": r.title},
                    "properties": {"coverage": r.coverage.value},
                }
                for r in fw.selected(level)
            ],
        }
        for fw, level in profile.frameworks
    ]


def _result(
    j: JudgedResult,
    rule_index: dict[str, int],
    labels: dict[str, str],
    statuses: list[tuple[RequirementStatus, str]],
) -> dict[str, JSONValue]:
    r = j.result
    s = r.service
    kind = _KIND[r.verdict]
    props: dict[str, JSONValue] = {
        "verdict": r.verdict.value,
        "address": r.target,
        "device_label": labels.get(r.target, ""),
        "service": (
            {"transport": s.transport, "port": s.port, "protocol": s.protocol} if s else None
        ),
        "evidence": [evidence_to_dict(e) for e in r.evidence],
        "requirements": [
            {
                "framework": st.framework,
                "id": st.requirement.id,
                "role": role,
                "status": st.status.value,
            }
            for st, role in statuses
        ],
    }
    if r.started is not None:
        props["started"] = _utc(r.started)
    if r.duration is not None:
        props["duration"] = r.duration
    out: dict[str, JSONValue] = {
        "ruleId": r.check_id,
        "kind": kind,
        "level": "error" if kind == "fail" else "none",
        "message": {"text": r.reason or r.check_id},
        "locations": [_location(r, labels)],
        # stable across runs, so a viewer can tell a new finding from one already known
        "partialFingerprints": {"shinsaResult/v1": f"{r.target}|{r.service_key}|{r.check_id}"},
    }
    if r.check_id in rule_index:
        out["ruleIndex"] = rule_index[r.check_id]
    if j.accepted is not None:
        acc = j.accepted
        out["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": (
                    f"{acc.reason} (approved by {acc.approved_by}, until {acc.expires})"
                ),
            }
        ]
    if j.expired is not None:
        props["acceptance_expired"] = {
            "reason": j.expired.reason,
            "approved_by": j.expired.approved_by,
            "expires": j.expired.expires.isoformat(),
        }
    out["properties"] = props
    return out


def to_dict(data: ReportData) -> dict[str, JSONValue]:
    a = data.assessment
    labels = {d.address: d.label for d in data.devices if d.label != d.address}
    rules = _rules(data)
    rule_index = {cid: i for i, cid in enumerate(sorted(data.checks))}
    by_result: dict[tuple[str, str], list[tuple[RequirementStatus, str]]] = defaultdict(list)
    # a requirement citing a check with a result on a device has evidence there, so is stored
    for t in a.targets:
        for st in a.evidenced_for(t):
            for m in st.requirement.checks:
                by_result[(st.target, m.check)].append((st, m.role))
    results: list[JSONValue] = [
        _result(j, rule_index, labels, by_result[(j.result.target, j.result.check_id)])
        for d in data.devices
        for j in a.results_for(d.address)
    ]
    notifications: list[JSONValue] = []
    for j in a.results:
        if j.result.verdict is Verdict.ERROR:
            note: dict[str, JSONValue] = {
                "level": "error",
                "message": {"text": j.result.reason or j.result.check_id},
                "locations": [_location(j.result, labels)],
                "associatedRule": {"id": j.result.check_id},
            }
            if j.result.check_id in rule_index:
                note["associatedRule"] = {
                    "id": j.result.check_id,
                    "index": rule_index[j.result.check_id],
                }
            notifications.append(note)
    invocation: dict[str, JSONValue] = {
        "executionSuccessful": data.run.status == "complete",
        "startTimeUtc": _utc(data.run.started),
        "exitCode": exit_code(a),
        "toolExecutionNotifications": notifications,
    }
    if data.run.finished is not None:
        invocation["endTimeUtc"] = _utc(data.run.finished)
    run: dict[str, JSONValue] = {
        "tool": {
            "driver": {
                "name": "shinsa",
                "version": data.scanner_version,
                "semanticVersion": data.scanner_version,
                "rules": rules,
            }
        },
        "automationDetails": {"id": f"shinsa/{a.profile.id}/{data.run.id}"},
        "invocations": [invocation],
        "taxonomies": _taxonomies(a.profile),
        "results": results,
        "properties": {
            "run_id": data.run.id,
            "run_status": data.run.status,
            "scan_version": data.run.scanner_version,
            "profile": {
                "id": a.profile.id,
                "title": a.profile.title,
                "digest": a.profile.digest,
                "changed_since_scan": data.profile_changed,
            },
            "requirement_statuses": {s.value: n for s, n in a.status_counts().items()},
            "devices": [
                {
                    "address": d.address,
                    "label": d.label,
                    "finished": d.finished,
                    # only those with evidence; the rest are not assessed, counted
                    "requirements": [
                        {
                            "framework": st.framework,
                            "id": st.requirement.id,
                            "status": st.status.value,
                            "reason": st.reason,
                        }
                        for st in a.evidenced_for(d.address)
                    ],
                    "requirements_not_assessed": a.unassessed_count(d.address),
                }
                for d in data.devices
            ],
        },
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render(data: ReportData) -> str:
    return json.dumps(to_dict(data), indent=2, ensure_ascii=False) + "\n"
