"""`shinsa report RUN --format <every format>` on a real lab scan writes one file per format,
each valid for its consumer: the report schema, a JUnit parser, the SARIF 2.1.0 schema, a CSV
reader; and each tells the same story (the camera's telnet fails CR 7.7)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import jsonschema
import pytest
from junitparser import Failure, JUnitXml

from lab.personality import load_builtin
from probes.registry import all_checks
from reports import FORMATS
from scanner.cli import main
from scanner.judging.profiles import load_profile
from scanner.store import Store
from tests.integration.conftest import scan_lab
from tests.report_validation import validate_files
from tests.unit.test_report_sarif_code_scanning import code_scanning_problems

pytestmark = pytest.mark.lab

SCHEMAS = Path(__file__).parents[2] / "reports" / "schema"


def _schema(name: str) -> dict[str, object]:
    return json.loads((SCHEMAS / name).read_text())  # type: ignore[no-any-return]


async def test_every_format_of_a_lab_scan_is_written_and_valid(start_lab, tmp_path, capsys):
    lab = await start_lab([load_builtin("weak-camera"), load_builtin("fault-garbage")])
    camera, garbage = lab.devices
    profile = load_profile("base", all_checks())
    with Store(tmp_path / "shinsa.sqlite") as store:
        scanned = await scan_lab(lab, store, profile=profile)
    formats = ",".join(FORMATS)
    code = main(
        ["report", scanned.run_id, "--out", str(tmp_path), "--profile", "base", "--format", formats]
    )
    assert code == 1  # the camera exposes telnet
    run_dir = tmp_path / scanned.run_id
    out = capsys.readouterr().out
    for name, (filename, _) in FORMATS.items():
        assert f"{name} report: {run_dir / filename}" in out
        assert (run_dir / filename).is_file()

    report = validate_files(run_dir)  # every file against its consumer's validator
    n_requirements = sum(
        len(d["requirements"]) + d["requirements_not_assessed"] for d in report["devices"]
    )
    assessed = [
        r for d in report["devices"] for r in d["requirements"] if r["status"] != "not_assessed"
    ]

    xml = JUnitXml.fromfile(str(run_dir / "report.junit.xml"))
    suites = {s.hostname: s for s in xml}
    assert set(suites) == {camera.address, garbage.address}
    assert xml.tests == len(assessed) < n_requirements  # not assessed: left out by default
    assert not [c for s in xml for c in s if "." in c.classname]
    cr77 = next(c for c in suites[camera.address] if " CR 7.7 " in c.name)
    (failure,) = cr77.result
    assert isinstance(failure, Failure)
    assert "services.cleartext-admin on tcp/" in (failure.text or "")

    log = json.loads((run_dir / "report.sarif.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(
        _schema("sarif-schema-2.1.0.json"), format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    ).validate(log)
    results = log["runs"][0]["results"]
    every = [r for d in report["devices"] for r in d["results"]]
    assert len(results) == len([r for r in every if r["verdict"] == "fail"]) < len(every)
    telnet_port = next(s.port for s in camera.services if s.protocol == "telnet")
    telnet = next(
        r
        for r in results
        if r["ruleId"] == "services.cleartext-admin"
        and r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith(
            f"devices/{camera.address}/tcp-{telnet_port}-"
        )
    )
    assert (telnet["kind"], telnet["level"]) == ("fail", "error")
    assert code_scanning_problems(log) == []

    with (run_dir / "report.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(every)
    assert {r["run_id"] for r in rows} == {scanned.run_id}
    assert {
        r["verdict"]
        for r in rows
        if r["address"] == camera.address
        and r["check_id"] == "services.cleartext-admin"
        and r["port"] == str(telnet_port)
    } == {"fail"}
    with (run_dir / "report-requirements.csv").open(encoding="utf-8-sig", newline="") as f:
        matrix = list(csv.DictReader(f))
    assert len(matrix) == n_requirements
    assert {
        r["status"]
        for r in matrix
        if r["address"] == camera.address and r["requirement"] == "CR 7.7"
    } == {"not_satisfied"}
