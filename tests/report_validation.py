"""Each report file checked by its consumer's validator: the shinsa report schema, the SARIF
2.1.0 schema, NIST's OSCAL assessment-results schema, a JUnit parser, a CSV reader, and the
HTML report's promise of no script and no external resource. Shared by the lab and demo
tests."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
from junitparser import JUnitXml

SCHEMAS = Path(__file__).parents[1] / "reports" / "schema"


def schema(name: str) -> dict[str, Any]:
    text = (SCHEMAS / name).read_text(encoding="utf-8")
    if name.startswith("oscal"):
        # NIST's patterns use \p{L} and \p{N}, which Python's re lacks (stand-ins as in
        # tests/unit/test_report_oscal.py).
        text = text.replace(r"\\p{L}", r"[^\\W\\d_]").replace(r"\\p{N}", r"\\d")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def validate_lines(text: str, report: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """A JSON Lines report: every line an object of a known type (one header first, one
    summary last), result and device lines valid against the JSON report's definitions; if
    `report` (the JSON report of the same run) is given, the same devices and results."""
    assert text.endswith("\n")
    objs: list[dict[str, Any]] = [json.loads(line) for line in text.split("\n")[:-1]]
    kinds = [o["type"] for o in objs]
    assert kinds[0] == "header"
    assert kinds[-1] == "summary"
    assert kinds.count("header") == kinds.count("summary") == 1
    assert set(kinds) <= {"header", "result", "device", "summary"}
    header, summary = objs[0], objs[-1]
    full = schema("report-2.json")
    defs = {"$defs": full["$defs"]}
    device_schema = full["properties"]["devices"]["items"]
    device_schema = device_schema | {"required": [*device_schema["required"], "type"]}
    device_schema["required"].remove("results")
    device_schema["properties"] = device_schema["properties"] | {"type": {"const": "device"}}
    result_schema = dict(full["$defs"]["result"])
    result_schema["properties"] = result_schema["properties"] | {"type": {"const": "result"}}
    if header["schema_version"] != "2.0":  # 2.1: a result's severity, fix and references
        result_schema["required"] = [
            *result_schema["required"],
            "severity",
            "severity_reason",
            "remediation",
            "references",
        ]
    assert header["schema"] == "shinsa-report-lines"
    for o in objs[1:-1]:
        jsonschema.Draft202012Validator(
            (device_schema if o["type"] == "device" else result_schema) | defs
        ).validate(o)
    jsonschema.Draft202012Validator(full["properties"]["summary"] | defs).validate(
        {k: v for k, v in summary.items() if k != "type"}
    )
    if report is not None:
        assert header["schema_version"] == report["schema_version"]
        assert header["requirements"] == report["requirements"]
        assert summary == {"type": "summary", **report["summary"]}
        devices = [o for o in objs if o["type"] == "device"]
        assert [d["address"] for d in devices] == [d["address"] for d in report["devices"]]
        results = [o for o in objs if o["type"] == "result"]
        assert len(results) == sum(len(d["results"]) for d in report["devices"])
    return objs


def validate_files(run_dir: Path) -> dict[str, Any]:
    """Validate every report file present in `run_dir`; the JSON report, parsed."""
    report: dict[str, Any] = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema("report-2.json")).validate(report)
    if (sarif := run_dir / "report.sarif.json").exists():
        jsonschema.Draft4Validator(
            schema("sarif-schema-2.1.0.json"),
            format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER,
        ).validate(json.loads(sarif.read_text(encoding="utf-8")))
    if (oscal := run_dir / "report.oscal.json").exists():
        jsonschema.Draft7Validator(
            schema("oscal_assessment-results_schema-1.2.3.json"),
            format_checker=jsonschema.FormatChecker(),
        ).validate(json.loads(oscal.read_text(encoding="utf-8")))
    if (junit := run_dir / "report.junit.xml").exists():
        xml = JUnitXml.fromfile(str(junit))
        # the requirements nothing assessed are left out (unless --junit-all)
        assessed = sum(
            1 for d in report["devices"] for r in d["requirements"] if r["status"] != "not_assessed"
        )
        everything = sum(
            len(d["requirements"]) + d["requirements_not_assessed"] for d in report["devices"]
        )
        assert xml.tests in (assessed, everything)
    if (lines := run_dir / "report.jsonl").exists():
        validate_lines(lines.read_text(encoding="utf-8"), report)
    for name in ("report.csv", "report-requirements.csv"):
        if (table := run_dir / name).exists():
            with table.open(encoding="utf-8-sig", newline="") as f:
                assert list(csv.DictReader(f))
    for name in ("report.html", "report.ja.html"):
        if (page := run_dir / name).exists():
            text = page.read_text(encoding="utf-8")
            assert "<script" not in text.lower()
            assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text, re.I)
    return report
