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


def validate_files(run_dir: Path) -> dict[str, Any]:
    """Validate every report file present in `run_dir`; the JSON report, parsed."""
    report: dict[str, Any] = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema("report-1.json")).validate(report)
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
        n_requirements = sum(len(d["requirements"]) for d in report["devices"])
        assert xml.tests == n_requirements
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
