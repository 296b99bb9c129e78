"""The SARIF 2.1.0 report, shaped for GitHub code scanning: by default one result per failed
check result (`--sarif-all` keeps every verdict), every check as a rule with its fix.

Schema: `reports/schema/sarif-schema-2.1.0.json` (OASIS, errata 01); GitHub's upload rules
are encoded in `tests/unit/test_report_sarif_code_scanning.py`. Mapping choices are
documented in `docs/report-format.md`; the short version:

| verdict                 | kind            | level   |
|-------------------------|-----------------|---------|
| fail                    | `fail`          | by severity (a suppression if accepted) |
| error, inconclusive     | `open`          | `none`  (only with --sarif-all) |
| pass                    | `pass`          | `none`  (only with --sarif-all) |
| not_applicable, skipped | `notApplicable` | `none`  (only with --sarif-all) |

| severity | level     | security-severity |
|----------|-----------|-------------------|
| critical | `error`   | 9.5 |
| high     | `error`   | 8.0 |
| medium   | `warning` | 5.5 |
| low      | `note`    | 2.0 |
| info     | `note`    | none: a note, no security alert |

A device is not a file, but code scanning needs a repository-relative path and a region for
every result: `devices/ADDRESS/TRANSPORT-PORT-PROTOCOL` (`devices/ADDRESS/device` for a
device-level check), with IPv6 colons as hyphens, line 1. No file is there; the path only
keeps an alert on the same device and service from run to run.

SARIF lets only `kind: fail` carry a level other than `none`, so an error is also reported
as a tool execution notification of level `error`: the tool could not finish that check.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from datetime import UTC
from typing import TYPE_CHECKING

from reports.findings import CWE, Findings, reference_url
from scanner.codec import evidence_to_dict
from scanner.judging.assess import JudgedResult, RequirementStatus, exit_code
from scanner.model import Verdict
from scanner.probe import Severity

if TYPE_CHECKING:
    from datetime import datetime

    from scanner.judging.profiles import Profile
    from scanner.judging.report_data import ReportData
    from scanner.model import JSONValue, Result
    from scanner.probe import Check

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

#: severity -> (SARIF level, GitHub security-severity or None). The scores sit inside
#: GitHub's bands (critical >= 9.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9).
SEVERITY_LEVELS: dict[Severity, tuple[str, str | None]] = {
    Severity.CRITICAL: ("error", "9.5"),
    Severity.HIGH: ("error", "8.0"),
    Severity.MEDIUM: ("warning", "5.5"),
    Severity.LOW: ("note", "2.0"),
    Severity.INFO: ("note", None),
}

#: GitHub rejects a rule with more than 20 tags and keeps only the first 10: the useful ones
#: first ("security", CWE IDs), then as many requirement clauses as fit.
TAG_LIMIT = 10

_PATH_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _utc(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def artifact_path(r: Result) -> str:
    """`devices/127.0.10.3/tcp-23-telnet`: relative, no scheme, no colon (IPv6 colons become
    hyphens), the same for the same device and service in every run."""
    device = _PATH_UNSAFE.sub("-", r.target.replace(":", "-"))
    s = r.service
    leaf = "device" if s is None else f"{s.transport}-{s.port}-{_PATH_UNSAFE.sub('-', s.protocol)}"
    return f"devices/{device}/{leaf}"


def _location(r: Result, labels: dict[str, str]) -> dict[str, JSONValue]:
    s = r.service
    if s is None:
        logical: dict[str, JSONValue] = {"name": r.target, "kind": "device"}
    else:
        logical = {
            "name": f"{s.key} {s.protocol}",
            "fullyQualifiedName": f"{r.target}/{s.key}",
            "kind": "service",
        }
    if labels.get(r.target):
        logical["properties"] = {"device_label": labels[r.target]}
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": artifact_path(r)},
            "region": {"startLine": 1},
        },
        "logicalLocations": [logical],
    }


def _cited(profile: Profile, check_id: str) -> list[tuple[str, str, str]]:
    """(framework, requirement, role) for every requirement the check gives evidence for."""
    return [
        (fw.id, r.id, m.role)
        for fw, level in profile.frameworks
        for r in fw.selected(level)
        for m in r.checks
        if m.check == check_id
    ]


def _tags(check: Check, clauses: tuple[str, ...]) -> list[str]:
    """At most TAG_LIMIT: `security`, CWE IDs as GitHub links them (`external/cwe/cwe-319`),
    then the requirement clauses (direct ones first), as many as fit."""
    cwe = [f"external/cwe/cwe-{int(m.group(1))}" for r in check.references if (m := CWE.match(r))]
    tags = list(dict.fromkeys(["security", *cwe, *clauses]))
    return tags[:TAG_LIMIT]


def _help(check: Check, references: tuple[str, ...]) -> dict[str, JSONValue]:
    """The rule's help: the fix (per protocol where it differs), severity and references."""
    fixes = [("", check.remediation.en)] + [(p, r.en) for p, r in check.remedies]
    fixes = [(p, text) for p, text in fixes if text]
    text = [f"{check.title}.", "", f"Severity: {check.severity.value}."]
    md = [f"**{check.title}**", "", f"**Severity:** {check.severity.value}"]
    if check.severity_reason:
        text[-1] += f" {check.severity_reason}"
        md[-1] += f" ({check.severity_reason})"
    if fixes:
        text += ["", "Remediation:"]
        md += ["", "**Remediation**", ""]
        for protocol, fix in fixes:
            text.append(f"- {protocol}: {fix}" if protocol else f"- {fix}")
            md.append(f"- **{protocol}:** {fix}" if protocol else f"- {fix}")
    text += ["", f"How it is decided: {check.method}"]
    md += ["", f"**How it is decided:** {check.method}"]
    if references:
        text += ["", "References: " + ", ".join(references)]
        md += ["", "**References**", ""]
        for ref in references:
            url = reference_url(ref)
            md.append(f"- [{ref}]({url})" if url else f"- {ref}")
    return {"text": "\n".join(text), "markdown": "\n".join(md)}


def _rules(data: ReportData, findings: Findings) -> list[JSONValue]:
    rules: list[JSONValue] = []
    for cid, check in sorted(data.checks.items()):
        cited = _cited(data.assessment.profile, cid)
        references = findings.references(check)
        level, score = SEVERITY_LEVELS[check.severity]
        props: dict[str, JSONValue] = {
            "tags": list(_tags(check, findings.cited.get(cid, ()))),
            "severity": check.severity.value,
            "severity_reason": check.severity_reason,
            "references": list(references),
            "remediation": {"en": check.remediation.en, "ja": check.remediation.ja},
        }
        if score is not None:
            props["security-severity"] = score
        rule: dict[str, JSONValue] = {
            "id": cid,
            "name": "".join(w.capitalize() for w in re.split(r"[^A-Za-z0-9]+", cid) if w),
            "shortDescription": {"text": check.title},
            "fullDescription": {"text": check.method},
            "help": _help(check, references),
            "defaultConfiguration": {"level": level},
            "properties": props,
        }
        url = next((u for ref in references if (u := reference_url(ref))), None)
        if url is not None:
            rule["helpUri"] = url
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


def _rank(r: Result, findings: Findings) -> int:
    """A failure's severity rank (4 critical .. 0 info); -1 for a result that did not fail."""
    found = findings.of(r)
    return found.severity.rank if found is not None else -1


def _fingerprint(r: Result) -> str:
    """Stable across runs: the same device, service and check is the same alert."""
    digest = hashlib.sha256(f"{r.target}|{r.service_key}|{r.check_id}".encode()).hexdigest()
    return f"{digest[:16]}:1"


def _result(
    j: JudgedResult,
    rule_index: dict[str, int],
    labels: dict[str, str],
    statuses: list[tuple[RequirementStatus, str]],
    findings: Findings,
) -> dict[str, JSONValue]:
    r = j.result
    s = r.service
    kind = _KIND[r.verdict]
    found = findings.of(r)
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
    message = r.reason or r.check_id
    level = "warning"  # SARIF's default, for a fail of a check no longer registered
    if found is not None:
        level, score = SEVERITY_LEVELS[found.severity]
        props["severity"] = found.severity.value
        props["severity_reason"] = found.severity_reason
        props["remediation"] = {"en": found.remedy_en, "ja": found.remedy_ja}
        props["references"] = list(found.references)
        if score is not None:
            props["security-severity"] = score
        if found.remedy_en:
            message += f"\nFix: {found.remedy_en}"
    if r.started is not None:
        props["started"] = _utc(r.started)
    if r.duration is not None:
        props["duration"] = r.duration
    out: dict[str, JSONValue] = {
        "ruleId": r.check_id,
        "kind": kind,
        "level": level if kind == "fail" else "none",
        "message": {"text": message},
        "locations": [_location(r, labels)],
        # stable across runs, so a viewer can tell a new finding from one already known
        "partialFingerprints": {
            "shinsaResult/v1": f"{r.target}|{r.service_key}|{r.check_id}",
            "primaryLocationLineHash": _fingerprint(r),
        },
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
    findings = Findings.of_report(data)
    rules = _rules(data, findings)
    rule_index = {cid: i for i, cid in enumerate(sorted(data.checks))}
    by_result: dict[tuple[str, str], list[tuple[RequirementStatus, str]]] = defaultdict(list)
    # a requirement citing a check with a result on a device has evidence there, so is stored
    for t in a.targets:
        for st in a.evidenced_for(t):
            for m in st.requirement.checks:
                by_result[(st.target, m.check)].append((st, m.role))
    # code scanning makes an alert of every result: the failures only, unless --sarif-all
    everything = data.options.sarif_all
    # device by device, a device's failures worst first (the rest after them, in check order)
    results: list[JSONValue] = [
        _result(j, rule_index, labels, by_result[(j.result.target, j.result.check_id)], findings)
        for d in data.devices
        for j in sorted(a.results_for(d.address), key=lambda j: -_rank(j.result, findings))
        if everything or j.result.verdict is Verdict.FAIL
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
            "results_included": "all" if everything else "failures",
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
                    # what was found, whether or not a result about it is included
                    "services": [
                        {
                            "transport": sv.transport,
                            "port": sv.port,
                            "protocol": sv.protocol,
                            "banner": sv.banner,
                        }
                        for sv in d.services
                    ],
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
