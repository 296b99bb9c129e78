"""The aggregation table of scanner/assess.py, one rule per test."""

from __future__ import annotations

from datetime import date

import pytest

from probes.registry import all_checks
from scanner.assess import JudgedResult as J
from scanner.assess import Status, assess, exit_code, status_of
from scanner.model import Result, Service, Verdict
from scanner.profiles import Accepted, Coverage, MappedCheck, Requirement, load_profile

SVC = Service("tcp", 23, "telnet")


def res(verdict: Verdict, check: str = "services.unexpected", service: Service = SVC) -> Result:
    return Result(check, "127.0.10.1", service, verdict, f"{verdict} seen")


def req(coverage: Coverage) -> Requirement:
    return Requirement(
        "CR 7.7",
        "Least functionality",
        coverage,
        (MappedCheck("services.unexpected", "direct", "why"),),
    )


@pytest.mark.parametrize(
    ("coverage", "verdicts", "expected"),
    [
        (Coverage.NONE, [], Status.NOT_ASSESSED),
        (Coverage.FULL, [], Status.NOT_ASSESSED),
        (Coverage.FULL, [Verdict.PASS, Verdict.FAIL, Verdict.ERROR], Status.NOT_SATISFIED),
        (Coverage.FULL, [Verdict.PASS, Verdict.ERROR], Status.ERROR),
        (Coverage.FULL, [Verdict.NOT_APPLICABLE, Verdict.NOT_APPLICABLE], Status.NOT_APPLICABLE),
        (Coverage.FULL, [Verdict.PASS, Verdict.INCONCLUSIVE], Status.PARTIALLY_ASSESSED),
        (Coverage.FULL, [Verdict.PASS, Verdict.SKIPPED], Status.PARTIALLY_ASSESSED),
        (Coverage.FULL, [Verdict.PASS, Verdict.NOT_APPLICABLE], Status.SATISFIED),
        (Coverage.PARTIAL, [Verdict.PASS, Verdict.PASS], Status.PARTIALLY_ASSESSED),
    ],
)
def test_status_follows_the_first_matching_rule(coverage, verdicts, expected):
    status, reason = status_of(req(coverage), [J(res(v)) for v in verdicts])
    assert status is expected
    assert reason


def test_an_error_is_never_satisfied_even_with_full_coverage():
    status, _ = status_of(req(Coverage.FULL), [J(res(Verdict.ERROR))])
    assert status is not Status.SATISFIED


def test_accepted_fail_counts_until_it_expires():
    acc = Accepted("services.unexpected", "needed", "QA-1", date(2026, 12, 31), service="tcp/23")
    assert J(res(Verdict.FAIL), accepted=acc).counts_as_fail is False
    assert J(res(Verdict.FAIL), expired=acc).counts_as_fail is True


def _profile_with_acceptance(tmp_path, expires: str):
    p = tmp_path / "p.yaml"
    p.write_text(
        "profile: p\nextends: base\naccepted:\n"
        "  - {check: services.unexpected, service: tcp/23, reason: lab only, "
        f"approved_by: QA-9, expires: {expires}}}\n"
    )
    return load_profile(str(p), all_checks())


def test_assessment_applies_acceptance_and_expiry(tmp_path):
    fail = res(Verdict.FAIL)
    active = assess(
        [fail],
        _profile_with_acceptance(tmp_path, "2027-01-01"),
        ["127.0.10.1"],
        today=date(2026, 11, 28),
    )
    cr77 = next(s for s in active.statuses if s.requirement.id == "CR 7.7")
    assert cr77.status is Status.PARTIALLY_ASSESSED  # partial coverage caps it
    assert exit_code(active) == 0
    expired = assess(
        [fail],
        _profile_with_acceptance(tmp_path, "2026-01-01"),
        ["127.0.10.1"],
        today=date(2026, 11, 28),
    )
    cr77 = next(s for s in expired.statuses if s.requirement.id == "CR 7.7")
    assert cr77.status is Status.NOT_SATISFIED
    assert exit_code(expired) == 1


def test_supporting_checks_are_related_evidence_not_the_verdict():
    profile = load_profile("base", all_checks())
    a = assess(
        [res(Verdict.FAIL, "services.cleartext-admin")],
        profile,
        ["127.0.10.1"],
        today=date(2026, 11, 28),
    )
    cr41 = next(s for s in a.statuses if s.requirement.id == "CR 4.1")
    assert cr41.status is Status.NOT_ASSESSED
    assert [j.result.verdict for j in cr41.related] == [Verdict.FAIL]


def test_exit_code_three_when_only_inconclusive_results_block_a_verdict():
    profile = load_profile("base", all_checks())
    a = assess([res(Verdict.INCONCLUSIVE)], profile, ["127.0.10.1"], today=date(2026, 11, 28))
    assert exit_code(a) == 3
    a = assess([res(Verdict.PASS)], profile, ["127.0.10.1"], today=date(2026, 11, 28))
    assert exit_code(a) == 0
