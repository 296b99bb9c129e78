"""Every report format is a pure function of the assessment: a fixed, hand-built set of results
renders to fixed files (tests/golden/, compared without time stamps, run IDs and versions),
each valid for its consumers: a JUnit parser, the SARIF 2.1.0 schema, a CSV reader.

Regenerate the golden files after an intended change with SHINSA_UPDATE_GOLDEN=1 and review
the diff.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest
from junitparser import Error, Failure, JUnitXml, Skipped, TestSuite

from probes.registry import all_checks
from reports import FORMATS, json_report, junit, sarif
from scanner import __version__
from scanner.judging.assess import assess
from scanner.judging.profiles import (
    Accepted,
    Coverage,
    Framework,
    MappedCheck,
    Profile,
    Requirement,
)
from scanner.judging.report_data import Device, RenderOptions, ReportData
from scanner.judging.report_meta import ReportMeta
from scanner.model import Evidence, Result, Service, Verdict
from scanner.store import RunInfo

if TYPE_CHECKING:
    from scanner.probe import Check

GOLDEN = Path(__file__).parents[1] / "golden"
SARIF_SCHEMA = json.loads(
    (Path(__file__).parents[2] / "reports" / "schema" / "sarif-schema-2.1.0.json").read_text()
)
RUN_ID = "20261128-101500-1a2b"
TODAY = date(2026, 11, 28)
CAMERA, NAS, ROUTER = "127.0.10.3", "127.0.10.4", "2001:db8::5"
HYPERLINK = '=HYPERLINK("http://evil.example/","open me")'
SCRIPT = "<script>alert(1)</script>"
ESC = "\x1b"  # a raw control character: XML 1.0 cannot carry it at all

TELNET = Service("tcp", 23, "telnet", banner=f"{ESC}[31mLogin:")
HTTP = Service("tcp", 80, "http", banner=SCRIPT, product=SCRIPT)
SSH = Service("tcp", 22, "ssh", banner="SSH-2.0-dropbear_2019.78")
FTP = Service("tcp", 21, "ftp", banner=f"220 {SCRIPT}")
SNMP = Service("udp", 161, "unknown", note="answered, not identified")
SSH2 = Service("tcp", 2222, "ssh", banner="SSH-2.0-OpenSSH_9.6")


def _check(cid: str, title: str) -> Check:
    """The registered check with a fixed title and method: the golden files keep their words
    when a probe's change, and show its remediation as the report does."""
    return dataclasses.replace(all_checks()[cid], title=title, method=f"How {cid} is decided.")


CHECKS = {
    c.id: c
    for c in (
        _check("services.unexpected", "Only the services the profile allows are exposed"),
        _check("services.cleartext-admin", "No administration over a cleartext protocol"),
        _check("creds.default.telnet", "Telnet accepts no published default credentials"),
        _check("ssh.ciphers", "SSH offers only strong ciphers"),
        _check("web.hsts", "HTTPS responses set HSTS"),
        _check("auth.lockout", "Repeated failed logins lock the account"),
    )
}


def _req(
    rid: str, title: str, coverage: Coverage, *direct: str, supporting: str = "", ja: str = ""
) -> Requirement:
    mapped = tuple(MappedCheck(c, "direct", "why") for c in direct)
    if supporting:
        mapped += (MappedCheck(supporting, "supporting", "why"),)
    return Requirement(rid, title, coverage, mapped, ja=ja)


IEC = Framework(
    "iec-62443-4-2",
    "IEC 62443-4-2:2019",
    (
        _req(
            "CR 7.7",
            "Least functionality",
            Coverage.FULL,
            "services.unexpected",
            "services.cleartext-admin",
        ),
        _req(
            "CR 1.5",
            "Authenticator management",
            Coverage.PARTIAL,
            "creds.default.telnet",
            ja="認証機構管理（初期認証機能）",
        ),
        _req(
            "CR 4.3", "Use of cryptography", Coverage.PARTIAL, "ssh.ciphers", supporting="web.hsts"
        ),
        _req(
            "CR 1.11",
            "Unsuccessful login attempts",
            Coverage.PARTIAL,
            "auth.lockout",
            ja="認証ロック機能",
        ),
        _req("CR 3.2", "Protection from malicious code", Coverage.NONE, ja="マルウェア対策"),
    ),
    Path("iec.yaml"),
)
NIST = Framework(
    "nist-sp-800-171r2",
    "NIST SP 800-171 rev. 2",
    (
        _req("3.4.7", "Restrict nonessential services", Coverage.FULL, "services.unexpected"),
        _req(
            "3.13.8",
            "Cryptography for CUI in transit",
            Coverage.PARTIAL,
            "services.cleartext-admin",
        ),
    ),
    Path("nist.yaml"),
)
PROFILE = Profile(
    id="acme-cam-200",
    title="ACME CAM-200 acceptance",
    frameworks=((IEC, 2), (NIST, None)),
    params={},
    accepted=(
        Accepted("ssh.ciphers", "firmware 2.1 removes CBC", "QA-7", date(2027, 3, 31), CAMERA),
        Accepted("creds.default.telnet", "lab only", "QA-2", date(2026, 1, 31), CAMERA),
    ),
    allow_intrusive=False,
    files=(("profiles/devices/acme-cam-200.yaml", "ab" * 32),),
    digest="cd" * 32,
)


def _at(second: int) -> datetime:
    return datetime(2026, 11, 28, 10, 15, second, tzinfo=UTC)


def _r(
    check: str,
    target: str,
    service: Service | None,
    verdict: Verdict,
    reason: str,
    *evidence: Evidence,
) -> Result:
    return Result(check, target, service, verdict, reason, evidence, _at(len(reason) % 60), 0.25)


RESULTS = [
    # the camera: telnet with a control character in its banner, a script in its web page
    _r("services.unexpected", CAMERA, TELNET, Verdict.PASS, "tcp/23 telnet is allowed."),
    _r("services.unexpected", CAMERA, HTTP, Verdict.PASS, "tcp/80 http is allowed."),
    _r("services.unexpected", CAMERA, SSH, Verdict.PASS, "tcp/22 ssh is allowed."),
    _r(
        "services.cleartext-admin",
        CAMERA,
        TELNET,
        Verdict.FAIL,
        f"127.0.10.3 exposes Telnet on tcp/23 (banner '{ESC}[31mLogin:').",
        Evidence("banner", f"{ESC}[31mLogin:", {"protocol": "telnet"}),
    ),
    _r(
        "creds.default.telnet",
        CAMERA,
        TELNET,
        Verdict.FAIL,
        "127.0.10.3 accepted the published Telnet login root/******** on tcp/23.",
        Evidence("auth_attempt", "root:******** accepted", {"user": "root", "password": "***"}),
    ),
    _r(
        "ssh.ciphers",
        CAMERA,
        SSH,
        Verdict.FAIL,
        "127.0.10.3 offers aes128-cbc on tcp/22.",
        Evidence("policy", "weak: aes128-cbc", {"weak": ["aes128-cbc"]}),
    ),
    _r("web.hsts", CAMERA, HTTP, Verdict.NOT_APPLICABLE, f"tcp/80 has no TLS; page {SCRIPT}."),
    _r("auth.lockout", CAMERA, None, Verdict.SKIPPED, "Lockout is intrusive and not allowed."),
    # the NAS: an inventory label that is a spreadsheet formula, a timeout, an unknown service
    _r("services.unexpected", NAS, FTP, Verdict.PASS, "tcp/21 ftp is allowed."),
    _r(
        "services.unexpected",
        NAS,
        SNMP,
        Verdict.INCONCLUSIVE,
        "udp/161 answered but could not be identified.",
        Evidence("banner", "-1+1 raw reply", {"bytes": 12}),
        Evidence("banner", "@SUM(A1:A9)", {}),
    ),
    _r(
        "services.cleartext-admin",
        NAS,
        FTP,
        Verdict.ERROR,
        "=cmd|' /C calc'!A0 timed out reading the FTP greeting after 3.0 s.",
        Evidence("exception", "\tTimeoutError", {"after": 3.0}),
    ),
    _r("creds.default.telnet", NAS, None, Verdict.NOT_APPLICABLE, "No Telnet service."),
    _r("ssh.ciphers", NAS, None, Verdict.NOT_APPLICABLE, "No SSH service."),
    _r("auth.lockout", NAS, None, Verdict.NOT_APPLICABLE, "No login interface."),
    # the router: IPv6, no label, interrupted before every check ran
    _r("services.unexpected", ROUTER, SSH2, Verdict.PASS, "tcp/2222 ssh is allowed."),
    _r("ssh.ciphers", ROUTER, SSH2, Verdict.PASS, "Only strong ciphers on tcp/2222."),
]

DEVICES = (
    Device(CAMERA, f"weak-camera {SCRIPT}", True, (SSH, TELNET, HTTP)),
    Device(NAS, HYPERLINK, True, (FTP, SNMP)),
    Device(ROUTER, "", False, (SSH2,)),
)


#: the HTML report's title block (the other formats do not show it)
META = ReportMeta(
    product="ACME CAM-200",
    model="CAM-200-EU",
    firmware="2.0.7",
    organisation="Example Test Lab",
    tester="T. Sato",
    customer="ACME Corp.",
)


def report_data() -> ReportData:
    run = RunInfo(
        id=RUN_ID,
        started=_at(0),
        finished=datetime(2026, 11, 28, 10, 21, 7, tzinfo=UTC),
        status="complete",
        profile_id=PROFILE.id,
        profile_digest=PROFILE.digest,
        scanner_version=__version__,
        request={
            "allow": [f"{CAMERA}/31", ROUTER],
            "targets": [],
            "ports": "21-23,80,161,2222",
            "argv": ["scan", "--profile", "/home/maker/acme/cam-200.yaml", CAMERA],
        },
    )
    assessment = assess(RESULTS, PROFILE, [d.address for d in DEVICES], today=TODAY)
    return ReportData(
        run,
        __version__,
        DEVICES,
        assessment,
        CHECKS,
        profile_changed=False,
        meta=META,
        scan_zone="Europe/Berlin",
    )


_RUN_ID = re.compile(r"\b\d{8}-\d{6}-[0-9a-f]{4}\b")  # scanner.store.new_run_id
_TIMESTAMP = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?"
    # and as the HTML report shows a time to a reader (reports/dates.py)
    r"|(\d{4}-\d\d-\d\d|\d{4}年\d{1,2}月\d{1,2}日) \d\d:\d\d (UTC[+-]\d\d:\d\d|[A-Z]{2,5})"
)


# OSCAL UUIDs are derived from the run ID on purpose: two runs never share one.
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")


def normalise(text: str, version: str = __version__) -> str:
    text = _UUID.sub("<UUID>", text)
    text = _RUN_ID.sub("<RUN>", _TIMESTAMP.sub("<TIME>", text))
    return re.sub(rf"(?<![\d.]){re.escape(version)}(?![\d.])", "<VERSION>", text)


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_each_format_renders_the_fixed_assessment_to_its_golden_file(name):
    filename, render = FORMATS[name]
    text = render(report_data())
    assert render(report_data()) == text  # pure: same assessment, same bytes
    golden = GOLDEN / filename
    if os.environ.get("SHINSA_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(text.encode("utf-8"))
    assert normalise(golden.read_bytes().decode("utf-8")) == normalise(text), (
        f"{filename} changed; if intended, rerun with SHINSA_UPDATE_GOLDEN=1 and review the diff"
    )


def test_the_golden_comparison_ignores_time_stamps_run_ids_and_versions():
    data = report_data()
    later = dataclasses.replace(
        data,
        run=dataclasses.replace(
            data.run,
            id="20270101-000000-ffff",
            started=datetime(2027, 1, 1, tzinfo=UTC),
            scanner_version="9.9.9",
        ),
        scanner_version="9.9.9",
    )
    for _, render in FORMATS.values():
        text = render(data)
        assert normalise(render(later), "9.9.9") == normalise(text)
        assert normalise(text) != normalise(text.replace("CR 7.7", "CR 7.8"))


# --- JUnit ---------------------------------------------------------------------------------


def _cases(suite: TestSuite) -> dict[str, list[object]]:
    return {case.name: list(case.result) for case in suite}


def _all(data: ReportData) -> ReportData:
    """The same report with every verdict and every requirement (--sarif-all, --junit-all)."""
    return dataclasses.replace(data, options=RenderOptions(sarif_all=True, junit_all=True))


def test_junit_has_a_suite_per_device_and_a_case_per_assessed_requirement():
    data = report_data()
    xml = JUnitXml.fromstring(junit.render(data))
    suites = list(xml)
    assert [s.name for s in suites] == [
        f"{CAMERA} (weak-camera {SCRIPT})",
        f"{NAS} ({HYPERLINK})",
        ROUTER,
    ]
    a = data.assessment
    for suite, device in zip(suites, DEVICES, strict=True):
        # 5 IEC 62443-4-2 requirements at SL 2 + 2 NIST, less those nothing assessed
        assert suite.tests == 7 - a.unassessed_count(device.address) < 7
        assert {case.classname for case in suite} == {junit.class_name(device)}
    assert xml.tests == 15
    assert xml.failures == sum(s.failures for s in suites)
    assert xml.errors == sum(s.errors for s in suites)
    assert xml.skipped == sum(s.skipped for s in suites)
    everything = JUnitXml.fromstring(junit.render(_all(data)))
    assert [s.tests for s in everything] == [7, 7, 7]
    assert everything.tests == 21


def test_junit_class_names_have_no_dot_one_per_device():
    xml = JUnitXml.fromstring(junit.render(report_data()))
    names = [{case.classname for case in suite} for suite in xml]
    assert names == [
        {"127_0_10_3 weak-camera <script>alert(1)</script>"},
        {'127_0_10_4 =HYPERLINK("http://evil_example/","open me")'},
        {ROUTER},  # 2001:db8::5: no dot to fold
    ]
    assert not [n for group in names for n in group if "." in n]


def test_junit_outcome_follows_the_requirement_status():
    data = report_data()
    camera, nas, router = JUnitXml.fromstring(junit.render(data))
    cam = _cases(camera)
    # not_satisfied: a failure listing the failing checks, their severity, fix and references
    (failure,) = cam["iec-62443-4-2 CR 7.7 Least functionality"]
    assert isinstance(failure, Failure)
    assert failure.type == "not_satisfied"
    assert (failure.message or "").startswith("[high] 1 failed check result(s)")
    body = failure.text or ""
    assert "services.cleartext-admin on tcp/23 telnet: fail" in body
    assert "    severity: high" in body
    fix = data.checks["services.cleartext-admin"].remedy_for(RESULTS[3]).en
    assert f"    fix: {fix}" in body
    assert "    references: CWE-319, CWE-489, NIST SP 800-53 CM-7, IEC 62443-4-2 CR 7.7" in body
    assert "services.unexpected" not in body  # passing checks are not listed
    # an expired acceptance is a plain failure, and says so
    (expired,) = cam["iec-62443-4-2 CR 1.5 Authenticator management"]
    assert isinstance(expired, Failure)
    assert (expired.message or "").startswith("[critical] ")
    assert "acceptance expired: lab only" in (expired.text or "")
    # an accepted deviation and partial coverage: passes, saying why it is only partial
    crypto = next(c for c in camera if c.name == "iec-62443-4-2 CR 4.3 Use of cryptography")
    assert crypto.is_passed
    assert "partially assessed" in (crypto.system_out or "")
    assert "accepted: firmware 2.1 removes CBC" in (crypto.system_out or "")
    # a skipped (intrusive) check leaves the requirement undecided: skipped, never a pass
    (lockout,) = cam["iec-62443-4-2 CR 1.11 Unsuccessful login attempts"]
    assert isinstance(lockout, Skipped)
    # coverage none: not assessed, left out unless asked for, then skipped with the reason
    assert "iec-62443-4-2 CR 3.2 Protection from malicious code" not in cam
    everything = _cases(next(iter(JUnitXml.fromstring(junit.render(_all(data))))))
    (manual,) = everything["iec-62443-4-2 CR 3.2 Protection from malicious code"]
    assert isinstance(manual, Skipped)
    assert (manual.message or "").startswith("not assessed:")
    # a check that could not finish: an error, never a pass
    (error,) = _cases(nas)["iec-62443-4-2 CR 7.7 Least functionality"]
    assert isinstance(error, Error)
    assert "timed out" in (error.text or "")
    (na,) = _cases(nas)["iec-62443-4-2 CR 1.5 Authenticator management"]
    assert isinstance(na, Skipped)
    assert (na.message or "").startswith("not applicable:")
    assert next(c for c in router if c.name.startswith("nist-sp-800-171r2 3.4.7")).is_passed


def test_junit_carries_hostile_device_text_as_text():
    text = junit.render(report_data())
    assert ESC not in text  # XML 1.0 cannot carry it: the file would not parse
    root = ET.fromstring(text)  # noqa: S314 -- our own output, not untrusted XML
    assert root.find(".//script") is None
    outs = "".join(e.text or "" for e in root.iter("system-out"))
    assert "\\x1b[31mLogin:" in outs
    assert SCRIPT in outs
    assert root.findall("testsuite")[1].get("name") == f"{NAS} ({HYPERLINK})"


# --- SARIF ---------------------------------------------------------------------------------


def test_sarif_validates_against_the_sarif_2_1_0_schema():
    log = json.loads(sarif.render(report_data()))
    jsonschema.Draft4Validator(
        SARIF_SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    ).validate(log)
    assert log["version"] == "2.1.0"


def test_sarif_schema_rejects_an_invalid_level():
    log = json.loads(sarif.render(report_data()))
    log["runs"][0]["results"][0]["level"] = "critical"
    assert not jsonschema.Draft4Validator(SARIF_SCHEMA).is_valid(log)


def _results(log: Any) -> Any:
    return log["runs"][0]["results"]


def test_sarif_has_a_rule_per_check_and_with_sarif_all_a_result_per_check_result():
    log = json.loads(sarif.render(_all(report_data())))
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert run["tool"]["driver"]["name"] == "shinsa"
    assert [r["id"] for r in rules] == sorted(CHECKS)
    unexpected = next(r for r in rules if r["id"] == "services.unexpected")
    assert unexpected["properties"]["tags"] == [
        "security",
        "external/cwe/cwe-1125",
        "IEC 62443-4-2 CR 7.7",
        "NIST SP 800-171 rev. 2 3.4.7",
    ]
    assert unexpected["shortDescription"]["text"] == CHECKS["services.unexpected"].title
    assert len(_results(log)) == len(RESULTS)
    for result in _results(log):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def _one(log: Any, check: str, address: str) -> Any:
    (hit,) = [
        r for r in _results(log) if r["ruleId"] == check and r["properties"]["address"] == address
    ]
    return hit


def test_sarif_kind_and_level_follow_the_verdict():
    log = json.loads(sarif.render(_all(report_data())))
    telnet = _one(log, "services.cleartext-admin", CAMERA)
    assert (telnet["kind"], telnet["level"]) == ("fail", "error")
    loc = telnet["locations"][0]
    assert loc["physicalLocation"]["artifactLocation"]["uri"] == f"devices/{CAMERA}/tcp-23-telnet"
    assert {"framework": "iec-62443-4-2", "id": "CR 7.7", "role": "direct"}.items() <= telnet[
        "properties"
    ]["requirements"][0].items()
    accepted = _one(log, "ssh.ciphers", CAMERA)
    assert accepted["suppressions"][0]["status"] == "accepted"
    expired = _one(log, "creds.default.telnet", CAMERA)
    assert "suppressions" not in expired
    assert expired["properties"]["acceptance_expired"]["approved_by"] == "QA-2"
    error = _one(log, "services.cleartext-admin", NAS)
    assert (error["kind"], error["level"]) == ("open", "none")
    (note,) = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "error"
    assert note["associatedRule"]["id"] == "services.cleartext-admin"
    lockout = _one(log, "auth.lockout", CAMERA)
    assert (lockout["kind"], lockout["level"]) == ("notApplicable", "none")
    assert lockout["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        f"devices/{CAMERA}/device"
    )
    router = _one(log, "ssh.ciphers", ROUTER)
    assert (router["kind"], router["level"]) == ("pass", "none")
    assert router["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "devices/2001-db8--5/tcp-2222-ssh"
    )
    ciphers = _one(log, "ssh.ciphers", CAMERA)  # medium: a warning, accepted
    assert (ciphers["kind"], ciphers["level"]) == ("fail", "warning")


# --- CSV -----------------------------------------------------------------------------------


def _rows(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def test_csv_has_a_row_per_result_and_a_matrix_row_per_requirement():
    data = report_data()
    rows = _rows(FORMATS["csv"][1](data))
    assert len(rows) == len(RESULTS)
    telnet = next(
        r for r in rows if r["check_id"] == "services.cleartext-admin" and r["address"] == CAMERA
    )
    assert telnet["verdict"] == "fail"
    assert (telnet["transport"], telnet["port"], telnet["protocol"]) == ("tcp", "23", "telnet")
    assert telnet["requirements"] == (
        "iec-62443-4-2 CR 7.7: not_satisfied; nist-sp-800-171r2 3.13.8: not_satisfied"
    )
    fix = CHECKS["services.cleartext-admin"].remedy_for(RESULTS[3])
    assert telnet["severity"] == "high"
    assert (telnet["remediation"], telnet["remediation_ja"]) == (fix.en, fix.ja)
    assert telnet["references"] == (
        "CWE-319; CWE-489; NIST SP 800-53 CM-7; IEC 62443-4-2 CR 7.7; NIST SP 800-171 rev. 2 3.13.8"
    )
    passed = next(r for r in rows if r["verdict"] == "pass")
    assert passed["severity"] == passed["remediation"] == passed["references"] == ""
    matrix = _rows(FORMATS["csv-requirements"][1](data))
    assert len(matrix) == len(data.assessment.statuses) == 21
    cr77 = next(r for r in matrix if r["address"] == NAS and r["requirement"] == "CR 7.7")
    assert cr77["status"] == "error"
    assert "services.cleartext-admin tcp/21: error" in cr77["results"]
    cam77 = next(r for r in matrix if r["address"] == CAMERA and r["requirement"] == "CR 7.7")
    assert (cam77["status"], cam77["severity"]) == ("not_satisfied", "high")
    assert cr77["severity"] == ""


@pytest.mark.parametrize("name", ["csv", "csv-requirements"])
def test_csv_rows_of_scheduled_runs_concatenate(name):
    """Every row names its run, its scan time with the offset, and its profile: the files
    of two runs appended under one header still tell the runs apart."""
    data = report_data()
    later = dataclasses.replace(
        data,
        run=dataclasses.replace(
            data.run,
            id="20261129-101500-ffff",
            started=datetime(2026, 11, 29, 19, 15, tzinfo=timezone(timedelta(hours=9))),
        ),
    )
    first, second = (_rows(FORMATS[name][1](d)) for d in (data, later))
    assert list(first[0])[:3] == ["run_id", "scan_time", "profile"]
    assert {r["run_id"] for r in first} == {RUN_ID}
    assert {r["scan_time"] for r in first} == {"2026-11-28T10:15:00+00:00"}
    assert {r["scan_time"] for r in second} == {"2026-11-29T19:15:00+09:00"}
    assert {r["profile"] for r in first + second} == {PROFILE.id}
    for row in first + second:
        assert datetime.fromisoformat(row["scan_time"]).utcoffset() is not None
    both = first + second
    assert len({r["run_id"] for r in both}) == 2
    assert len(both) == 2 * len(first)


@pytest.mark.parametrize("name", ["csv", "csv-requirements"])
def test_csv_cells_never_start_a_spreadsheet_formula(name):
    text = FORMATS[name][1](report_data())
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    cells = [c for row in rows for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert f"'{HYPERLINK}" in cells
    assert ESC not in text
    if name == "csv":
        assert "'=cmd|' /C calc'!A0 timed out reading the FTP greeting after 3.0 s." in cells
        assert any("\\x1b[31mLogin:" in c for c in cells)


# --- JSON ----------------------------------------------------------------------------------

REPORT_SCHEMA = json.loads(
    (Path(__file__).parents[2] / "reports" / "schema" / "report-2.json").read_text()
)
REPORT_2_0 = Path(__file__).parent / "report_json" / "report-2.0.json"


def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        REPORT_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def test_json_failed_results_carry_severity_fix_and_references():
    data = report_data()
    report = json.loads(json_report.render(data))
    assert report["schema_version"] == json_report.SCHEMA_VERSION == "2.1"
    _validator().validate(report)
    camera = report["devices"][0]
    creds = next(r for r in camera["results"] if r["check_id"] == "creds.default.telnet")
    check = CHECKS["creds.default.telnet"]
    fix = check.remedy_for(RESULTS[4])
    assert creds["severity"] == check.severity.value == "critical"
    assert creds["severity_reason"] == check.severity_reason
    assert creds["remediation"] == {"en": fix.en, "ja": fix.ja}
    assert creds["references"] == [*check.references, "IEC 62443-4-2 CR 1.5"]
    passed = next(r for r in camera["results"] if r["verdict"] == "pass")
    assert (passed["severity"], passed["remediation"], passed["references"]) == (None, None, [])
    lockout = next(c for c in report["checks"] if c["id"] == "auth.lockout")
    assert lockout["severity"] == CHECKS["auth.lockout"].severity.value
    assert lockout["references"][0] == "CWE-307"
    assert lockout["references"][-1] == "IEC 62443-4-2 CR 1.11"
    assert lockout["remediation"]["ja"] == CHECKS["auth.lockout"].remediation.ja
    # the lines carry the same results
    lines = [json.loads(x) for x in FORMATS["jsonl"][1](data).splitlines()]
    line = next(x for x in lines if x["type"] == "result" and x["check_id"] == creds["check_id"])
    assert {k: line[k] for k in creds} == creds


def test_the_2x_schema_keeps_2_0_reports_valid_and_requires_the_new_fields_from_2_1():
    old = json.loads(REPORT_2_0.read_text(encoding="utf-8"))
    assert old["schema_version"] == "2.0"
    _validator().validate(old)  # a 2.x consumer reads the reports written before 2.1
    report = json.loads(json_report.render(report_data()))
    del report["devices"][0]["results"][0]["severity"]
    assert not _validator().is_valid(report)
    report = json.loads(json_report.render(report_data()))
    del report["checks"][0]["remediation"]
    assert not _validator().is_valid(report)
    report = json.loads(json_report.render(report_data()))
    report["devices"][0]["results"][0]["severity"] = "severe"
    assert not _validator().is_valid(report)
