"""The JSON report validates against its published schema and carries what later renderers
need: every service with address/transport/port/protocol, every result with its evidence."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import jsonschema
import pytest

from lab.personality import load_builtin
from probes.registry import all_checks
from reports import json_report
from scanner.judging.profiles import load_profile
from scanner.judging.report_data import collect
from scanner.store import Store
from tests.integration.conftest import scan_lab

pytestmark = pytest.mark.lab

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "reports" / "schema" / "report-2.json").read_text()
)


async def test_report_of_a_lab_scan_validates_and_is_complete(start_lab, tmp_path):
    lab = await start_lab([load_builtin("weak-camera"), load_builtin("fault-garbage")])
    profile = load_profile("base", all_checks())
    with Store(tmp_path / "s.sqlite") as store:
        scanned = await scan_lab(lab, store, profile=profile)
        data = collect(store, scanned.run_id, profile, all_checks(), today=date(2026, 11, 28))
    report = json.loads(json_report.render(data))
    jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(report)
    assert report["schema_version"] == json_report.SCHEMA_VERSION
    assert report["summary"]["devices"] == 2
    assert report["summary"]["exit_code"] == 1  # the camera exposes telnet
    camera = next(d for d in report["devices"] if d["label"] == "weak-camera")
    assert {(s["transport"], s["port"], s["protocol"]) for s in camera["services"]} == {
        (s.transport, s.port, s.protocol) for s in lab.devices[0].services
    }
    telnet = next(
        r
        for r in camera["results"]
        if r["check_id"] == "services.cleartext-admin" and r["protocol"] == "telnet"
    )
    assert telnet["verdict"] == "fail"
    assert telnet["address"] == lab.devices[0].address
    assert telnet["transport"] == "tcp"
    assert telnet["evidence"]
    assert telnet["evidence"][0]["details"]["protocol"] == "telnet"
    cr77 = next(r for r in camera["requirements"] if r["id"] == "CR 7.7")
    assert cr77["status"] == "not_satisfied"
    assert report["profile"]["changed_since_scan"] is False


def test_schema_rejects_a_report_with_an_invalid_verdict():
    bad = {"check_id": "services.unexpected", "verdict": "ok"}
    validator = jsonschema.Draft202012Validator(
        SCHEMA["$defs"]["result_ref"] | {"$defs": SCHEMA["$defs"]}
    )
    assert not validator.is_valid(bad | {"service": None})
