"""`--fail-on`: which statuses and verdicts make `scan` and `report` exit 1."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest

from scanner import cli
from scanner.cli import app
from scanner.errors import ConfigError
from scanner.judging.assess import FAIL_ON_NAMES, exit_code, parse_fail_on
from scanner.model import Verdict
from scanner.probe import Severity
from scanner.store import Store
from tests.unit.test_report_formats import report_data

if TYPE_CHECKING:
    from scanner.judging.report_data import ReportData
    from scanner.probe import Check


def test_parsing_accepts_statuses_and_verdicts_comma_separated():
    assert parse_fail_on("not_satisfied, error,,inconclusive") == {
        "not_satisfied",
        "error",
        "inconclusive",
    }
    assert set(FAIL_ON_NAMES) >= {"partially_assessed", "not_assessed", "fail", "skipped"}


@pytest.mark.parametrize("text", ["", " , ", "not-satisfied", "fail,bogus"])
def test_parsing_rejects_unknown_or_empty_names(text: str):
    with pytest.raises(ConfigError, match="--fail-on"):
        parse_fail_on(text)


def test_without_fail_on_the_default_exit_code_is_kept():
    a = report_data().assessment
    assert exit_code(a, None) == exit_code(a) == 1  # the fixture has unsatisfied requirements


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ({"not_satisfied"}, 1),  # a requirement status
        ({"inconclusive"}, 1),  # a check verdict (the NAS's SNMP service)
        ({"error"}, 1),  # both: the NAS's FTP check errored
        ({"satisfied"}, 1),  # any name works, however odd
        ({"skipped", "pass"}, 1),
    ],
)
def test_fail_on_exits_1_when_any_status_or_verdict_is_listed(names, expected):
    assert exit_code(report_data().assessment, frozenset(names)) == expected


def test_fail_on_exits_0_when_nothing_listed_is_present_even_with_errors():
    a = report_data().assessment
    assert exit_code(a) == 1
    assert exit_code(a, frozenset({"not_applicable"})) == 1  # the NAS has n/a results
    only_passes = dataclasses.replace(
        a,
        evidenced={
            t: tuple(s for s in a.evidenced_for(t) if s.status.value == "satisfied")
            for t in a.targets
        },
        results=tuple(j for j in a.results if j.result.verdict is Verdict.PASS),
    )
    assert exit_code(only_passes, frozenset({"not_satisfied", "error"})) == 0


def test_an_accepted_fail_is_not_a_fail_for_fail_on():
    a = report_data().assessment
    accepted = tuple(j for j in a.results if j.accepted is not None)
    assert accepted  # ssh.ciphers on the camera
    only_accepted = dataclasses.replace(a, evidenced={}, results=accepted)
    assert exit_code(only_accepted, frozenset({"fail"})) == 0
    plain = tuple(j for j in a.results if j.counts_as_fail)
    assert exit_code(dataclasses.replace(a, evidenced={}, results=plain), frozenset({"fail"})) == 1


def test_report_with_an_unknown_fail_on_name_is_a_usage_error(tmp_path, capsys):
    code = cli.main(["report", "nope", "--out", str(tmp_path), "--fail-on", "bogus"])
    assert code == 2
    assert "--fail-on: unknown status or verdict bogus" in capsys.readouterr().err


def test_report_exit_code_follows_fail_on(tmp_path, capsys):
    data = report_data()
    with Store(tmp_path / "shinsa.sqlite") as store:
        store.start_run(
            data.run.id,
            profile_id="base",
            profile_digest="x",
            scanner_version="test",
            request={"profile": "base"},
            targets=[("127.0.20.9", ""), ("127.0.20.10", "")],
        )
        store.target_done(data.run.id, "127.0.20.9")
        store.target_done(data.run.id, "127.0.20.10")
        store.finish_run(data.run.id)
    base = ["report", data.run.id, "--out", str(tmp_path)]
    # no results at all: every base requirement is not_assessed
    assert cli.main(base) == 0
    assert cli.main([*base, "--fail-on", "not_assessed"]) == 1
    assert cli.main([*base, "--fail-on", "not_satisfied,error"]) == 0
    # a device that could not be scanned to the end: no gate may read that as success
    with Store(tmp_path / "shinsa.sqlite") as store:
        store.target_failed(data.run.id, "127.0.20.10", "did not finish within 60 s")
    assert cli.main(base) == 3
    assert cli.main([*base, "--fail-on", "not_satisfied,error"]) == 3
    capsys.readouterr()


def test_scan_parser_takes_fail_on():
    args = app.build_parser().parse_args(["scan", "127.0.20.1", "--fail-on", "error"])
    assert args.fail_on == "error"


def test_parsing_accepts_one_severity_threshold_beside_names():
    assert parse_fail_on("Severity>=HIGH, error") == {"severity>=high", "error"}
    for bad in ("severity>=urgent", "severity>high", "severity>=low,severity>=high"):
        with pytest.raises(ConfigError, match="--fail-on"):
            parse_fail_on(bad)


def _severities(data: ReportData, **by_check: Severity) -> dict[str, Check]:
    """The fixture's checks, with the severities given by check id."""
    return {
        cid: dataclasses.replace(check, severity=by_check.get(cid, check.severity))
        for cid, check in data.checks.items()
    }


def test_severity_threshold_counts_only_failures_at_or_above_it():
    data = report_data()
    failed = {j.result.check_id for j in data.assessment.results if j.counts_as_fail}
    assert failed  # the fixture has counted failures
    low = _severities(data, **dict.fromkeys(failed, Severity.LOW))
    assert exit_code(data.assessment, parse_fail_on("severity>=high"), checks=low) == 0
    assert exit_code(data.assessment, parse_fail_on("severity>=low"), checks=low) == 1
    one_high = _severities(
        data, **(dict.fromkeys(failed, Severity.LOW) | {min(failed): Severity.HIGH})
    )
    assert exit_code(data.assessment, parse_fail_on("severity>=high"), checks=one_high) == 1
    assert exit_code(data.assessment, parse_fail_on("severity>=critical"), checks=one_high) == 0


def test_an_accepted_fail_never_trips_the_severity_threshold():
    data = report_data()
    a = data.assessment
    accepted = tuple(j for j in a.results if j.accepted is not None)
    assert accepted
    critical = _severities(data, **{j.result.check_id: Severity.CRITICAL for j in accepted})
    only_accepted = dataclasses.replace(a, evidenced={}, results=accepted)
    assert exit_code(only_accepted, parse_fail_on("severity>=info"), checks=critical) == 0


def test_a_failure_of_an_unknown_check_counts_whatever_the_threshold():
    a = report_data().assessment
    assert exit_code(a, parse_fail_on("severity>=critical"), checks={}) == 1
