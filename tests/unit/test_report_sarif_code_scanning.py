"""The SARIF report as GitHub code scanning takes it: valid against the SARIF 2.1.0 schema and
within the upload rules GitHub documents for third-party SARIF (SARIF support for code
scanning; the upload limits): a driver name, a message and at least one location per result
whose artifact URI is relative and has no scheme plus a region, `level` one of SARIF's four,
`security-severity` a number 0.0-10.0 written as a string, at most 20 tags per rule, and
fingerprints so an alert is matched across runs.

`tests/unit/sarif/rejected-by-code-scanning.sarif.json` is the golden SARIF as it was before
these rules were followed (`tcp://` URIs, no region): the rules must reject it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from probes.registry import all_checks
from reports import sarif
from reports.findings import Findings, citation, reference_url
from scanner.judging.assess import assess
from scanner.judging.profiles import Coverage, Framework, MappedCheck, Requirement, load_profile
from scanner.judging.report_data import RenderOptions
from scanner.model import Verdict
from scanner.probe import Severity
from tests.unit.test_report_formats import (
    CAMERA,
    DEVICES,
    IEC,
    NIST,
    PROFILE,
    RESULTS,
    ROUTER,
    SARIF_SCHEMA,
    TODAY,
    report_data,
)

REJECTED = Path(__file__).parent / "sarif" / "rejected-by-code-scanning.sarif.json"
LEVELS = {"none", "note", "warning", "error"}
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# GitHub's documented hard limits for one upload
MAX_RUNS, MAX_RESULTS, MAX_RULES, MAX_TAGS, MAX_LOCATIONS = 20, 25_000, 25_000, 20, 1_000


def code_scanning_problems(log: dict[str, Any]) -> list[str]:
    """Why GitHub code scanning would reject the log, or show its alerts nowhere; empty when
    it takes every result."""
    problems: list[str] = []
    if log.get("version") != "2.1.0":
        problems.append("version is not 2.1.0")
    runs = log.get("runs")
    if not isinstance(runs, list) or not 1 <= len(runs) <= MAX_RUNS:
        return [*problems, f"runs: 1 to {MAX_RUNS} expected"]
    for n, run in enumerate(runs):
        driver = run.get("tool", {}).get("driver", {})
        if not driver.get("name"):
            problems.append(f"runs[{n}].tool.driver.name is missing")
        rules = driver.get("rules", [])
        if len(rules) > MAX_RULES:
            problems.append(f"runs[{n}]: {len(rules)} rules")
        for rule in rules:
            props = rule.get("properties", {})
            tags = props.get("tags", [])
            if len(tags) > MAX_TAGS:
                problems.append(f"rule {rule.get('id')}: {len(tags)} tags")
            if "security-severity" in props:
                score = props["security-severity"]
                if not isinstance(score, str) or not re.fullmatch(r"\d+(\.\d+)?", score):
                    problems.append(f"rule {rule.get('id')}: security-severity {score!r}")
                elif not 0.0 <= float(score) <= 10.0:
                    problems.append(f"rule {rule.get('id')}: security-severity out of range")
            level = rule.get("defaultConfiguration", {}).get("level", "warning")
            if level not in LEVELS:
                problems.append(f"rule {rule.get('id')}: level {level!r}")
        results = run.get("results", [])
        if len(results) > MAX_RESULTS:
            problems.append(f"runs[{n}]: {len(results)} results")
        for i, result in enumerate(results):
            where = f"runs[{n}].results[{i}]"
            if not result.get("ruleId") and not result.get("rule", {}).get("id"):
                problems.append(f"{where}: no rule ID")
            if not result.get("message", {}).get("text"):
                problems.append(f"{where}: no message text")
            if result.get("level", "warning") not in LEVELS:
                problems.append(f"{where}: level {result.get('level')!r}")
            if not result.get("partialFingerprints"):
                problems.append(f"{where}: no partialFingerprints")
            locations = result.get("locations", [])
            if not 1 <= len(locations) <= MAX_LOCATIONS:
                problems.append(f"{where}: {len(locations)} locations")
            for loc in locations:
                physical = loc.get("physicalLocation", {})
                uri = physical.get("artifactLocation", {}).get("uri", "")
                if not uri or _SCHEME.match(uri) or uri.startswith(("/", "\\")) or ":" in uri:
                    problems.append(f"{where}: artifact URI {uri!r} is not repository-relative")
                start = physical.get("region", {}).get("startLine")
                if not isinstance(start, int) or start < 1:
                    problems.append(f"{where}: no region.startLine")
    return problems


def _valid_sarif(log: dict[str, Any]) -> None:
    jsonschema.Draft4Validator(
        SARIF_SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    ).validate(log)


def test_the_sarif_of_before_is_rejected_by_the_rules_and_the_new_one_taken():
    old = json.loads(REJECTED.read_text(encoding="utf-8"))
    _valid_sarif(old)  # the schema alone let it through
    problems = code_scanning_problems(old)
    assert any("'tcp://127.0.10.3:23' is not repository-relative" in p for p in problems)
    assert any("'//127.0.10.3' is not repository-relative" in p for p in problems)
    assert any("no region.startLine" in p for p in problems)
    for everything in (False, True):
        data = dataclasses.replace(report_data(), options=RenderOptions(sarif_all=everything))
        log = json.loads(sarif.render(data))
        _valid_sarif(log)
        assert code_scanning_problems(log) == []


def test_the_rules_reject_what_github_rejects():
    log = json.loads(sarif.render(report_data()))
    good = json.dumps(log)

    def broken(change: Any) -> list[str]:
        copy = json.loads(good)
        change(copy)
        return code_scanning_problems(copy)

    assert broken(lambda x: x["runs"][0]["tool"]["driver"].pop("name"))
    assert broken(lambda x: x["runs"][0]["results"][0].update(level="critical"))
    assert broken(lambda x: x["runs"][0]["results"][0].pop("partialFingerprints"))
    assert broken(
        lambda x: x["runs"][0]["tool"]["driver"]["rules"][0]["properties"].update(
            tags=[f"t{i}" for i in range(21)]
        )
    )
    assert broken(
        lambda x: x["runs"][0]["tool"]["driver"]["rules"][0]["properties"].update(
            {"security-severity": 9.5}
        )
    )

    def loc(x: Any) -> Any:
        return x["runs"][0]["results"][0]["locations"][0]["physicalLocation"]

    assert broken(lambda x: loc(x)["artifactLocation"].update(uri="C:/devices/a"))
    assert broken(lambda x: loc(x)["artifactLocation"].update(uri="/devices/a"))
    assert broken(lambda x: loc(x).pop("region"))


def _results(log: Any) -> list[Any]:
    results: list[Any] = log["runs"][0]["results"]
    return results


def test_only_failures_by_default_and_every_verdict_with_sarif_all():
    data = report_data()
    default = json.loads(sarif.render(data))
    fails = [r for r in RESULTS if r.verdict is Verdict.FAIL]
    assert len(_results(default)) == len(fails) == 3
    assert {r["kind"] for r in _results(default)} == {"fail"}
    # a device's failures worst first
    assert [r["properties"]["severity"] for r in _results(default)] == [
        "critical",
        "high",
        "medium",
    ]
    assert default["runs"][0]["properties"]["results_included"] == "failures"
    full = json.loads(sarif.render(dataclasses.replace(data, options=RenderOptions(True))))
    assert len(_results(full)) == len(RESULTS)
    assert full["runs"][0]["properties"]["results_included"] == "all"
    # a check that could not finish is still a tool notification either way
    for log in (default, full):
        (note,) = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        assert note["associatedRule"]["id"] == "services.cleartext-admin"


def test_a_location_is_a_stable_pseudo_path_per_device_and_service():
    full = json.loads(
        sarif.render(dataclasses.replace(report_data(), options=RenderOptions(sarif_all=True)))
    )
    uris = {
        (r["ruleId"], r["properties"]["address"]): r["locations"][0]["physicalLocation"]
        for r in _results(full)
    }
    telnet = uris[("services.cleartext-admin", CAMERA)]
    assert telnet == {
        "artifactLocation": {"uri": f"devices/{CAMERA}/tcp-23-telnet"},
        "region": {"startLine": 1},
    }
    assert uris[("auth.lockout", CAMERA)]["artifactLocation"]["uri"] == f"devices/{CAMERA}/device"
    router = uris[("ssh.ciphers", ROUTER)]["artifactLocation"]["uri"]
    assert router == "devices/2001-db8--5/tcp-2222-ssh"  # IPv6: no colon in a path


def test_level_and_security_severity_follow_github_bands():
    bands = {"critical": (9.0, 10.0), "high": (7.0, 8.9), "medium": (4.0, 6.9), "low": (0.1, 3.9)}
    for severity, (level, score) in sarif.SEVERITY_LEVELS.items():
        if severity is Severity.INFO:
            assert (level, score) == ("note", None)
            continue
        assert score is not None
        low, high = bands[severity.value]
        assert low <= float(score) <= high
    expected = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
    assert {s.value: lv for s, (lv, _) in sarif.SEVERITY_LEVELS.items()} == expected | {
        "info": "note"
    }
    log = json.loads(sarif.render(report_data()))
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    checks = report_data().checks
    for cid, rule in rules.items():
        level, score = sarif.SEVERITY_LEVELS[checks[cid].severity]
        assert rule["defaultConfiguration"]["level"] == level
        assert rule["properties"].get("security-severity") == score
    for result in _results(log):
        rule = rules[result["ruleId"]]
        assert result["level"] == rule["defaultConfiguration"]["level"]
        assert result["properties"]["severity"] == rule["properties"]["severity"]


def test_each_rule_has_help_with_the_fix_and_references_and_a_help_uri():
    data = report_data()
    log = json.loads(sarif.render(data))
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    lockout = rules["auth.lockout"]
    check = data.checks["auth.lockout"]
    assert check.remediation.en in lockout["help"]["text"]
    assert check.remediation.en in lockout["help"]["markdown"]
    assert "IEC 62443-4-2 CR 1.11" in lockout["help"]["markdown"]
    assert lockout["helpUri"] == "https://cwe.mitre.org/data/definitions/307.html"
    assert (
        "[CWE-307](https://cwe.mitre.org/data/definitions/307.html)"
        in (lockout["help"]["markdown"])
    )
    # the failed result carries its own fix (it may depend on the service) in both languages
    (creds,) = [r for r in _results(log) if r["ruleId"] == "creds.default.telnet"]
    fix = data.checks["creds.default.telnet"].remedy_for(RESULTS[4])
    assert creds["properties"]["remediation"] == {"en": fix.en, "ja": fix.ja}
    assert f"Fix: {fix.en}" in creds["message"]["text"]
    assert creds["properties"]["references"][0].startswith("CWE-")
    assert "IEC 62443-4-2 CR 1.5" in creds["properties"]["references"]


def _many_clauses(n: int) -> Framework:
    reqs = tuple(
        Requirement(
            f"R-{i}",
            f"Requirement {i}",
            Coverage.PARTIAL,
            (MappedCheck("auth.lockout", "direct", "w"),),
        )
        for i in range(n)
    )
    return Framework("acme-many", "ACME-MANY 1.0 baseline", reqs, Path("many.yaml"))


def test_tags_stay_within_the_limit_cwe_first_and_clauses_capped():
    data = report_data()
    profile = dataclasses.replace(
        PROFILE, frameworks=((IEC, 2), (NIST, None), (_many_clauses(30), None))
    )
    assessment = assess(RESULTS, profile, [d.address for d in DEVICES], today=TODAY)
    log = json.loads(sarif.render(dataclasses.replace(data, assessment=assessment)))
    (rule,) = [r for r in log["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "auth.lockout"]
    tags = rule["properties"]["tags"]
    assert len(tags) == sarif.TAG_LIMIT <= MAX_TAGS
    assert tags[:2] == ["security", "external/cwe/cwe-307"]
    assert "IEC 62443-4-2 CR 1.11" in tags  # the profile's own clauses before the 30 new ones
    # nothing is lost: every clause is still a relationship and a reference
    assert len(rule["relationships"]) == 31
    own = data.checks["auth.lockout"].references  # CWE-307, SP 800-53 AC-7
    assert len(rule["properties"]["references"]) == len(own) + 31
    assert code_scanning_problems(log) == []


def test_the_base_profile_with_every_check_is_taken_by_code_scanning():
    checks = all_checks()
    profile = load_profile("base", checks)
    assessment = assess(RESULTS, profile, [d.address for d in DEVICES], today=TODAY)
    data = dataclasses.replace(
        report_data(), assessment=assessment, checks=checks, options=RenderOptions(True)
    )
    log = json.loads(sarif.render(data))
    _valid_sarif(log)
    assert code_scanning_problems(log) == []
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert len(rules) == len(checks)
    # the cap mattered: some check is evidence for more clauses than fit in the tags
    assert max(len(r.get("relationships", [])) for r in rules) > sarif.TAG_LIMIT
    assert all(r["help"]["text"] and r["help"]["markdown"] for r in rules)
    # every shipped check cites something with a public page
    assert [r["id"] for r in rules if not r.get("helpUri", "").startswith("https://")] == []


@pytest.mark.parametrize(
    ("reference", "url"),
    [
        ("CWE-0307", "https://cwe.mitre.org/data/definitions/307.html"),
        ("RFC 8996", "https://www.rfc-editor.org/rfc/rfc8996"),
        ("NIST SP 800-53 AC-8", "https://csrc.nist.gov/pubs/sp/800/53/r5/upd1/final"),
        ("NIST SP 800-52 Rev. 2", "https://csrc.nist.gov/pubs/sp/800/52/r2/final"),
        ("IEC 62443-4-2 CR 1.11", None),  # no public page: listed, never linked
    ],
)
def test_a_reference_links_to_its_public_page(reference, url):
    assert reference_url(reference) == url


@pytest.mark.parametrize(
    ("title", "cited"),
    [
        ("IEC 62443-4-2:2019 Technical security requirements for IACS components", "IEC 62443-4-2"),
        ("EN 18031-1:2024 Common security requirements for radio equipment", "EN 18031-1"),
        ("ETSI EN 303 645 V2.1.1 Cyber Security for Consumer IoT", "ETSI EN 303 645 V2.1.1"),
        ("JC-STAR (Japan IoT security labelling) ★1 conformity requirements", "JC-STAR"),
        ("NIST SP 800-171 Rev. 3: Protecting CUI in Nonfederal Systems", "NIST SP 800-171 Rev. 3"),
        ("our own baseline", "acme"),
    ],
)
def test_a_framework_is_cited_by_its_designator(title, cited):
    assert citation(Framework("acme", title, (), Path("x.yaml"))) == cited


def test_findings_exist_only_for_failed_results():
    findings = Findings.of_report(report_data())
    assert [r.check_id for r in RESULTS if findings.of(r)] == [
        "services.cleartext-admin",
        "creds.default.telnet",
        "ssh.ciphers",
    ]


def test_a_failure_of_a_check_no_longer_registered_is_still_an_alert():
    data = report_data()
    checks = {cid: c for cid, c in data.checks.items() if cid != "creds.default.telnet"}
    log = json.loads(sarif.render(dataclasses.replace(data, checks=checks)))
    (orphan,) = [r for r in _results(log) if r["ruleId"] == "creds.default.telnet"]
    assert (orphan["kind"], orphan["level"]) == ("fail", "warning")  # SARIF's default level
    assert "severity" not in orphan["properties"]
    assert "ruleIndex" not in orphan
    assert code_scanning_problems(log) == []
