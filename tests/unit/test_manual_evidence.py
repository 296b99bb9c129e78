"""Manual evidence: the `shinsa-evidence/1` file, its errors, its place in the assessment, the
store and the reports (JSON valid against the schema, HTML escaped), and `--evidence`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import jsonschema
import pytest

from probes.registry import all_checks
from reports import html, json_report
from scanner import __version__, cli
from scanner.errors import ConfigError
from scanner.judging import manual
from scanner.judging.assess import Status
from scanner.judging.profiles import Profile, load_profile
from scanner.judging.report_data import ReportData, collect
from scanner.model import Result, Service, Verdict
from scanner.store import Store

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "reports" / "schema" / "report-2.json").read_text()
)
TODAY = date(2026, 11, 28)
CAM, NAS = "127.0.10.3", "127.0.10.4"
SCRIPT = "<script>alert(1)</script>"

GOOD = """\
format: shinsa-evidence/1
statements:
  - requirement: EDR 3.2
    framework: iec-62443-4-2
    statement: Firmware 2.4 runs signed code only.
    by: K. Sato, ACME QA
    date: 2026-11-20
    document: ACME-SEC-0042 rev. 3
    devices: [lobby-cam]
  - requirement: "3.9.2"
    framework: nist-sp-800-171r2
    statement: Leavers' accounts are removed the day they leave.
    by: Site security officer
    date: "2026-11-21"
    document: HR-OFFBOARD-7
"""


@pytest.fixture(scope="module")
def profile():
    return load_profile("base", all_checks())


def write(tmp_path: Path, text: str, name: str = "ev.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_loads_into_statements_with_their_source_line(tmp_path, profile):
    f = manual.load_evidence(write(tmp_path, GOOD), profile)
    first, second = f.statements
    assert first.requirement == "EDR 3.2"
    assert first.date == date(2026, 11, 20)
    assert first.devices == ("lobby-cam",)
    assert first.source == "ev.yaml line 3"
    assert second.date == date(2026, 11, 21)  # quoted dates are read too
    assert second.devices == ()  # every device
    assert second.applies_to(NAS, "")
    assert first.applies_to(CAM, "lobby-cam")
    assert not first.applies_to(NAS, "nas")
    assert len(f.sha256) == 64


def _statement(**fields: str) -> str:
    """A file of one statement, one field a line from line 3; "-" leaves a field out."""
    entry = {
        "requirement": "EDR 3.2",
        "framework": "iec-62443-4-2",
        "statement": "signed code only",
        "by": "QA",
        "date": "2026-11-20",
        "document": "DOC-1",
    }
    entry.update(fields)
    lines = [f"{k}: {v}" for k, v in entry.items() if v != "-"]
    return "format: shinsa-evidence/1\nstatements:\n  - " + "\n    ".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("format: shinsa-credentials/1\nstatements: []\n", "expected format: shinsa-evidence/1"),
        ("- just a list\n", "not a manual evidence file"),
        ("format: shinsa-evidence/1\nstatements: {a: 1}\n", "line 2: 'statements' must be a list"),
        ("format: shinsa-evidence/1\nstatement: []\n", "line 2: unknown key(s) statement"),
        ("format: shinsa-evidence/1\nstatements:\n  - [a]\n", "line 3: statements[0]: expected"),
        ("format: shinsa-evidence/1\nstatements: [\n", "line 3"),
        (_statement(who="me"), "line 9: statements[0].who: unknown field(s) who"),
        (_statement(document="-"), "line 3: statements[0]: missing document"),
        (_statement(by="''"), "line 6: statements[0].by: must be a non-empty string"),
        (_statement(date="2026-13-01"), "line 7: statements[0].date: must be a date"),
        (_statement(date="soon"), "statements[0].date: must be a date (YYYY-MM-DD)"),
        (_statement(devices="lobby-cam"), "line 9: statements[0].devices: must be a list"),
        (
            _statement(framework="iec-62443-3-3"),
            "line 4: statements[0].framework: 'iec-62443-3-3' is not a framework of profile base",
        ),
        (
            _statement(requirement="CR 3.02"),
            "line 3: statements[0].requirement: iec-62443-4-2 has no requirement 'CR 3.02'",
        ),
        (_statement(requirement="CR 3.2"), "did you mean EDR 3.2, HDR 3.2, NDR 3.2, SAR 3.2?"),
        (_statement(statement="x" * 2001), "statements[0].statement: longer than 2000"),
    ],
)
def test_a_bad_file_is_an_error_naming_file_line_and_field(tmp_path, profile, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        manual.load_evidence(path, profile)
    assert str(info.value).startswith(str(path))
    assert message in str(info.value)


def test_a_missing_file_is_an_error(tmp_path, profile):
    with pytest.raises(ConfigError, match=r"nope\.yaml: cannot read"):
        manual.load_evidence(tmp_path / "nope.yaml", profile)


def _run(store: Store, run_id: str = "20261128-101500-abcd") -> str:
    profile = load_profile("base", all_checks())
    store.start_run(
        run_id,
        profile_id=profile.id,
        profile_digest=profile.digest,
        scanner_version=__version__,
        request={
            "allow": ["127.0.10.0/24"],
            "targets": [[CAM, "lobby-cam"], [NAS, "nas"]],
            "ports": "T:22,23",
            "profile": "base",
        },
        targets=[(CAM, "lobby-cam"), (NAS, "nas")],
    )
    telnet = Service("tcp", 23, "telnet")
    store.put_services(run_id, CAM, [telnet])
    store.add_result(
        run_id, Result("services.unexpected", CAM, telnet, Verdict.PASS, "tcp/23 allowed")
    )
    for address in (CAM, NAS):
        store.target_done(run_id, address)
    store.finish_run(run_id)
    return run_id


def _iec(data, target: str, rid: str):
    return next(
        s
        for s in data.assessment.for_target(target)
        if s.framework == "iec-62443-4-2" and s.requirement.id == rid
    )


def test_evidence_kept_with_the_run_is_shown_again_when_the_file_is_gone(tmp_path, profile):
    path = write(tmp_path, GOOD)
    f = manual.load_evidence(path, profile)
    with Store(tmp_path / "s.sqlite") as store:
        run_id = _run(store)
        manual.save(store, run_id, [f, f])  # the same bytes twice are kept once
        path.unlink()
        data = collect(store, run_id, profile, all_checks(), today=TODAY)
    assert data.evidence == (f,)
    assert _iec(data, CAM, "EDR 3.2").status is Status.PARTIALLY_ASSESSED
    assert _iec(data, CAM, "EDR 3.2").manual == (f.statements[0],)
    assert _iec(data, NAS, "EDR 3.2").status is Status.NOT_ASSESSED  # not one of its devices


def test_evidence_given_to_a_rerender_joins_what_the_run_kept_once(tmp_path, profile):
    f = manual.load_evidence(write(tmp_path, GOOD), profile)
    with Store(tmp_path / "s.sqlite") as store:
        run_id = _run(store)
        manual.save(store, run_id, [f])
        data = collect(store, run_id, profile, all_checks(), today=TODAY, evidence=[f])
    assert data.evidence == (f,)
    assert manual.numbered(data.evidence) == {
        f.statements[0]: "M1",
        f.statements[1]: "M2",
    }


def _data_with_hostile_evidence(tmp_path: Path, profile: Profile) -> ReportData:
    hostile = GOOD.replace("Firmware 2.4 runs signed code only.", f"'{SCRIPT}'").replace(
        "K. Sato, ACME QA", "'\"><img src=x onerror=alert(1)>'"
    )
    f = manual.load_evidence(write(tmp_path, hostile), profile)
    with Store(tmp_path / "s.sqlite") as store:
        run_id = _run(store)
        return collect(store, run_id, profile, all_checks(), today=TODAY, evidence=[f])


def test_the_json_report_with_manual_evidence_is_valid_against_the_schema(tmp_path, profile):
    report = json.loads(json_report.render(_data_with_hostile_evidence(tmp_path, profile)))
    jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(report)
    assert report["schema_version"] == "2.1"
    ev = report["manual_evidence"]
    assert [s["id"] for s in ev["statements"]] == ["M1", "M2"]
    assert ev["statements"][0]["statement"] == SCRIPT  # JSON carries it as given
    assert ev["files"][0]["statements"] == 2
    cam = next(d for d in report["devices"] if d["address"] == CAM)
    edr32 = next(r for r in cam["requirements"] if r["id"] == "EDR 3.2")
    assert edr32["manual"] == ["M1"]
    assert edr32["status"] == "partially_assessed"
    assert edr32["results"] == []  # separate from measured results
    nist392 = next(r for r in cam["requirements"] if r["id"] == "3.9.2")
    assert nist392["manual"] == ["M2"]
    assert report["scope"] == {
        "allow": ["127.0.10.0/24"],
        "exclude": [],
        "targets": [[CAM, "lobby-cam"], [NAS, "nas"]],
        "ports": "T:22,23",
        "pace": {"max_rate": None, "scan_delay": 0.0},
        "selected_checks": None,
    }


def test_the_html_report_shows_manual_evidence_apart_and_escaped(tmp_path, profile):
    text = html.render(_data_with_hostile_evidence(tmp_path, profile))
    section = text.split('<section id="manual">', 1)[1].split("</section>", 1)[0]
    assert "No manual evidence recorded." not in section
    assert 'id="manual-M1"' in section
    assert 'href="#req-iec-62443-4-2-EDR-3-2"' in section
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in section
    assert SCRIPT not in text
    assert "<img" not in text
    assert "lobby-cam" in section
    assert "every device" in section
    assert 'href="#manual-M2"' in section  # 3.9.2 needs a person; M2 gives it
    device = text.split('id="device-127-0-10-3"', 1)[1].split("</section>", 1)[0]
    assert 'href="#manual-M1"' in device  # beside the reason of its requirement
    appendix = text.split('<section id="method">', 1)[1]
    assert '<code class="item">127.0.10.0/24</code>' in appendix  # the scope, in the appendix
    assert '<code class="item">T:22</code>,<wbr><code class="item">23</code>' in appendix


def test_report_evidence_option_renders_without_storing(tmp_path, capsys):
    out = tmp_path / "out"
    with Store(out / "shinsa.sqlite") as store:
        run_id = _run(store)
    path = write(tmp_path, GOOD)
    code = cli.main(["report", run_id, "--out", str(out), "--evidence", str(path)])
    assert code == 0
    report = json.loads((out / run_id / "report.json").read_text(encoding="utf-8"))
    assert len(report["manual_evidence"]["statements"]) == 2
    with Store(out / "shinsa.sqlite") as store:
        assert store.evidence(run_id) == []
    capsys.readouterr()


def test_a_bad_evidence_file_stops_the_scan_before_it_starts(tmp_path, capsys):
    path = write(tmp_path, _statement(requirement="CR 3.02"))
    out = tmp_path / "out"
    code = cli.main(["scan", "127.0.0.1", "--out", str(out), "--evidence", str(path), "-q"])
    assert code == 2
    assert "has no requirement 'CR 3.02'" in capsys.readouterr().err
    assert not (out / "shinsa.sqlite").exists()
