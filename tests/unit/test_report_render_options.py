"""--sarif-all and --junit-all reach the files `shinsa report` writes: by default SARIF holds
the failures only and JUnit the assessed requirements only; asked, every verdict and every
requirement."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from junitparser import JUnitXml

from probes.registry import all_checks
from scanner import __version__, cli
from scanner.cli.app import build_parser
from scanner.cli.commands import _render_options
from scanner.judging.profiles import load_profile
from scanner.judging.report_data import RenderOptions
from scanner.model import Result, Service, Verdict
from scanner.store import Store

if TYPE_CHECKING:
    from pathlib import Path

CAM = "127.0.78.3"
RUN_ID = "20261206-061500-c1c1"


def _stored_run(out: Path) -> None:
    profile = load_profile("base", all_checks())
    with Store(out / "shinsa.sqlite") as store:
        store.start_run(
            RUN_ID,
            profile_id=profile.id,
            profile_digest=profile.digest,
            scanner_version=__version__,
            request={
                "allow": ["127.0.78.0/24"],
                "targets": [[CAM, "lobby.cam"]],
                "ports": "T:23",
                "profile": "base",
            },
            targets=[(CAM, "lobby.cam")],
        )
        telnet = Service("tcp", 23, "telnet")
        store.put_services(RUN_ID, CAM, [telnet])
        store.add_result(
            RUN_ID, Result("services.unexpected", CAM, telnet, Verdict.PASS, "tcp/23 allowed")
        )
        store.add_result(
            RUN_ID,
            Result("services.cleartext-admin", CAM, telnet, Verdict.FAIL, "Telnet on tcp/23"),
        )
        store.target_done(RUN_ID, CAM)
        store.finish_run(RUN_ID)


def _render(out: Path, *flags: str) -> tuple[dict[str, object], JUnitXml]:
    code = cli.main(["report", RUN_ID, "--out", str(out), "--format", "sarif,junit", *flags])
    assert code == 1  # the Telnet finding fails its requirements
    run_dir = out / RUN_ID
    log = json.loads((run_dir / "report.sarif.json").read_text(encoding="utf-8"))
    return log, JUnitXml.fromfile(str(run_dir / "report.junit.xml"))


def _verdicts(log: dict[str, object]) -> list[str]:
    runs = log["runs"]
    assert isinstance(runs, list)
    return sorted(r["properties"]["verdict"] for r in runs[0]["results"])


def test_report_writes_failures_and_assessed_requirements_unless_asked_for_all(
    tmp_path: Path, capsys
):
    _stored_run(tmp_path)
    log, xml = _render(tmp_path)
    assert _verdicts(log) == ["fail"]
    assessed = xml.tests
    assert 0 < assessed < 50  # the base profile has hundreds of requirements; two assessed
    assert {c.classname for s in xml for c in s} == {"127_0_78_3 lobby_cam"}

    log, xml = _render(tmp_path, "--sarif-all", "--junit-all")
    assert _verdicts(log) == ["fail", "pass"]
    assert xml.tests > assessed
    assert xml.skipped >= xml.tests - assessed  # the not-assessed ones, skipped
    capsys.readouterr()


def test_scan_takes_the_same_options_into_its_reports():
    parser = build_parser()
    plain = parser.parse_args(["scan", CAM, "--format", "sarif"])
    assert _render_options(plain) == RenderOptions()
    both = parser.parse_args(["scan", CAM, "--sarif-all", "--junit-all"])
    assert _render_options(both) == RenderOptions(sarif_all=True, junit_all=True)
