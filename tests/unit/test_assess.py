"""The aggregation table of scanner/judging/assess.py, one rule per test."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from probes.registry import all_checks
from scanner.judging import assess as assess_module
from scanner.judging.assess import RULES, Status, assess, decide, exit_code, status_of
from scanner.judging.assess import JudgedResult as J
from scanner.judging.manual import Statement
from scanner.judging.profiles import Accepted, Coverage, MappedCheck, Requirement, load_profile
from scanner.model import Result, Service, Verdict

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
    status, reason, reason_ja = status_of(req(coverage), [J(res(v)) for v in verdicts])
    assert status is expected
    assert reason
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", reason_ja)


def statement(requirement: str = "CR 7.7", devices: tuple[str, ...] = ()) -> Statement:
    return Statement(
        "iec-62443-4-2",
        requirement,
        "Only the listed services run; checked against the build manifest.",
        "K. Sato",
        date(2026, 11, 20),
        "ACME-SEC-0042",
        devices,
    )


# U: inconclusive (undecided)
P, F, E, N, U, S = (
    Verdict.PASS,
    Verdict.FAIL,
    Verdict.ERROR,
    Verdict.NOT_APPLICABLE,
    Verdict.INCONCLUSIVE,
    Verdict.SKIPPED,
)
M = (statement(),)

#: one example per row of RULES, in its order: (row, coverage, verdicts, manual evidence)
ROWS = [
    (assess_module.NOTHING_MEASURED, Coverage.NONE, [], ()),
    (assess_module.NOTHING_MEASURED, Coverage.FULL, [], ()),
    (assess_module.MANUAL_ONLY, Coverage.NONE, [], M),
    (assess_module.MANUAL_ONLY, Coverage.PARTIAL, [], M),
    (assess_module.ANY_FAIL, Coverage.FULL, [P, F, E, U], M),
    (assess_module.ANY_ERROR, Coverage.FULL, [P, E, U, N], ()),
    (assess_module.ALL_NOT_APPLICABLE, Coverage.PARTIAL, [N, N], M),
    (assess_module.ANY_UNDECIDED, Coverage.FULL, [P, U], ()),
    (assess_module.ANY_UNDECIDED, Coverage.FULL, [P, S, N], M),
    (assess_module.PASSES_FULL, Coverage.FULL, [P, N], ()),
    (assess_module.PASSES_FULL, Coverage.FULL, [P], M),
    (assess_module.PASSES_PARTIAL, Coverage.PARTIAL, [P, P], M),
]


@pytest.mark.parametrize(
    ("rule", "coverage", "verdicts", "manual"),
    ROWS,
    ids=[f"{RULES.index(r) + 1}-{r.status}-{len(m)}m" for r, _, _, m in ROWS],
)
def test_each_row_of_the_table_decides_its_example(rule, coverage, verdicts, manual):
    decided, reason, reason_ja = decide(req(coverage), [J(res(v)) for v in verdicts], manual)
    assert decided is rule
    assert status_of(req(coverage), [J(res(v)) for v in verdicts], manual) == (
        rule.status,
        reason,
        reason_ja,
    )
    # the Japanese gives the same counts as the English
    assert re.findall(r"\d+", reason_ja) == re.findall(r"\d+", reason)


def test_every_row_of_the_table_has_an_example_in_order():
    rows = list(dict.fromkeys(r for r, _, _, _ in ROWS))
    assert rows == list(RULES)


def test_the_table_in_the_docs_is_the_table_in_the_code():
    docs = (Path(__file__).parents[2] / "docs" / "report-format.md").read_text(encoding="utf-8")
    section = docs.split("## How a status is decided", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (.+?) \| `([a-z_]+)` \|$", section, re.MULTILINE)
    assert rows == [(r.when, r.status.value) for r in RULES]


@pytest.mark.parametrize("coverage", list(Coverage))
def test_a_statement_alone_is_never_satisfied(coverage):
    status, reason, reason_ja = status_of(req(coverage), [], M)
    assert status is Status.PARTIALLY_ASSESSED
    assert "1 manual statement(s), not verified by the scan: K. Sato, 2026-11-20" in reason
    assert "手動の記述が 1 件ある: K. Sato、2026-11-20（ACME-SEC-0042）" in reason_ja


def test_a_measurement_decides_and_the_statement_only_stands_beside_it():
    assert status_of(req(Coverage.FULL), [J(res(F))], M)[0] is Status.NOT_SATISFIED
    assert status_of(req(Coverage.FULL), [J(res(E))], M)[0] is Status.ERROR
    assert status_of(req(Coverage.PARTIAL), [J(res(P))], M)[0] is Status.PARTIALLY_ASSESSED


def test_assessment_lists_statements_only_for_their_requirement_and_devices():
    profile = load_profile("base", all_checks())
    cam, nas = "127.0.10.1", "127.0.10.2"
    manual = (
        statement("EDR 3.2", devices=("lobby-cam",)),
        statement("CR 7.7", devices=(nas,)),
    )
    a = assess(
        [res(P)],
        profile,
        [cam, nas],
        today=date(2026, 11, 28),
        manual=manual,
        labels={cam: "lobby-cam", nas: "nas"},
    )

    def st(target: str, rid: str):
        return next(
            s
            for s in a.for_target(target)
            if s.framework == "iec-62443-4-2" and s.requirement.id == rid
        )

    assert st(cam, "EDR 3.2").manual == (manual[0],)  # named by label
    assert st(cam, "EDR 3.2").status is Status.PARTIALLY_ASSESSED
    assert st(nas, "EDR 3.2").manual == ()
    assert st(nas, "EDR 3.2").status is Status.NOT_ASSESSED
    assert st(nas, "CR 7.7").manual == (manual[1],)  # named by address; nothing measured there
    assert st(nas, "CR 7.7").status is Status.PARTIALLY_ASSESSED
    assert st(cam, "CR 7.7").manual == ()  # the telnet pass decides, partial coverage
    assert st(cam, "CR 7.7").status is Status.PARTIALLY_ASSESSED
    assert exit_code(a) == 0


def test_an_error_is_never_satisfied_even_with_full_coverage():
    status, _, _ = status_of(req(Coverage.FULL), [J(res(Verdict.ERROR))])
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
