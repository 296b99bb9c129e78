"""From results to requirement statuses: a pure function of results, a profile and the
manual evidence.

For each requirement in scope and each device, over the results of its *direct* checks
(supporting checks are shown beside it, never its verdict), the first rule of `RULES` (the
table below the imports; docs/report-format.md has it word for word, a test keeps the two
equal and tests each row) that matches decides the status.

So: `satisfied` needs full coverage and passes; an unaccepted fail is `not_satisfied` whatever
else was seen; an error never becomes satisfied; partial coverage is at best
`partially_assessed`; a requirement whose every result was not applicable is `not_applicable`;
one with nothing measured and no manual evidence is `not_assessed`. An accepted fail counts
as a pass for the status and stays visible in the report; an expired acceptance is a plain
fail.

Manual evidence (a person's statement, `scanner/manual.py`) never overrides what the scan
measured: it is listed beside the measured status. Where nothing was measured it lifts
`not_assessed` to `partially_assessed`, never to `satisfied`: shinsa verifies none of it, and
a `satisfied` from a statement would read, in every format (OSCAL, JUnit), like a measured one.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.errors import ConfigError
from scanner.model import Result, Verdict
from scanner.profiles import Accepted, Coverage, Profile, Requirement

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from datetime import date

    from scanner.manual import Statement


class Status(enum.StrEnum):
    SATISFIED = "satisfied"
    NOT_SATISFIED = "not_satisfied"
    PARTIALLY_ASSESSED = "partially_assessed"
    NOT_ASSESSED = "not_assessed"
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Rule:
    when: str  # the condition, as docs/report-format.md words it
    status: Status


# "Nothing measured": coverage none, or no direct check produced a result on the device.
NOTHING_MEASURED = Rule("nothing measured, no manual evidence", Status.NOT_ASSESSED)
MANUAL_ONLY = Rule("nothing measured, manual evidence for the device", Status.PARTIALLY_ASSESSED)
ANY_FAIL = Rule("any fail not covered by an active accepted deviation", Status.NOT_SATISFIED)
ANY_ERROR = Rule("any error", Status.ERROR)
ALL_NOT_APPLICABLE = Rule("every result not applicable", Status.NOT_APPLICABLE)
ANY_UNDECIDED = Rule("any inconclusive or skipped", Status.PARTIALLY_ASSESSED)
PASSES_FULL = Rule("passes (and not applicable), coverage full", Status.SATISFIED)
PASSES_PARTIAL = Rule("passes (and not applicable), coverage partial", Status.PARTIALLY_ASSESSED)

#: The aggregation table, in the order the rules are tried.
RULES = (
    NOTHING_MEASURED,
    MANUAL_ONLY,
    ANY_FAIL,
    ANY_ERROR,
    ALL_NOT_APPLICABLE,
    ANY_UNDECIDED,
    PASSES_FULL,
    PASSES_PARTIAL,
)


@dataclass(frozen=True, slots=True)
class JudgedResult:
    """A result with the acceptance that applies to it, if any."""

    result: Result
    accepted: Accepted | None = None  # set only for a fail covered by an active acceptance
    expired: Accepted | None = None  # a matching acceptance whose date has passed

    @property
    def counts_as_fail(self) -> bool:
        return self.result.verdict is Verdict.FAIL and self.accepted is None


@dataclass(frozen=True, slots=True)
class RequirementStatus:
    framework: str
    requirement: Requirement
    target: str
    status: Status
    reason: str
    results: tuple[JudgedResult, ...]  # direct evidence
    related: tuple[JudgedResult, ...]  # supporting evidence
    manual: tuple[Statement, ...] = ()  # statements for this requirement and device


@dataclass(frozen=True, slots=True)
class Assessment:
    profile: Profile
    results: tuple[JudgedResult, ...]
    statuses: tuple[RequirementStatus, ...]

    def for_target(self, target: str) -> tuple[RequirementStatus, ...]:
        return tuple(s for s in self.statuses if s.target == target)


def judge(result: Result, profile: Profile, today: date) -> JudgedResult:
    if result.verdict is not Verdict.FAIL:
        return JudgedResult(result)
    acc = profile.accepted_for(result.check_id, result.target, result.service_key)
    if acc is None:
        return JudgedResult(result)
    return (
        JudgedResult(result, accepted=acc)
        if acc.active(today)
        else JudgedResult(result, expired=acc)
    )


def decide(
    requirement: Requirement,
    direct: Sequence[JudgedResult],
    manual: Sequence[Statement] = (),
) -> tuple[Rule, str]:
    """The first rule of `RULES` that matches, and the reason the report gives."""
    if requirement.coverage is Coverage.NONE or not direct:
        why = (
            "A network scan cannot assess this requirement"
            if requirement.coverage is Coverage.NONE
            else "No check that gives direct evidence for it ran"
        )
        if not manual:
            return NOTHING_MEASURED, f"{why}."
        first = manual[0]
        return (
            MANUAL_ONLY,
            f"{why}; {len(manual)} manual statement(s), not verified by the scan: "
            f"{first.by}, {first.date.isoformat()} ({first.document}).",
        )
    verdicts = [j.result.verdict for j in direct]
    fails = [j for j in direct if j.counts_as_fail]
    if fails:
        return ANY_FAIL, f"{len(fails)} failed check result(s): {fails[0].result.reason}"
    if Verdict.ERROR in verdicts:
        n = verdicts.count(Verdict.ERROR)
        return ANY_ERROR, f"{n} check(s) could not finish, so no verdict can be given."
    if all(v is Verdict.NOT_APPLICABLE for v in verdicts):
        return ALL_NOT_APPLICABLE, "No interface this requirement applies to was found."
    undecided = [v for v in verdicts if v in (Verdict.INCONCLUSIVE, Verdict.SKIPPED)]
    if undecided:
        return ANY_UNDECIDED, f"{len(undecided)} check result(s) were inconclusive or skipped."
    if requirement.coverage is Coverage.FULL:
        return PASSES_FULL, "Every direct check passed."
    return (
        PASSES_PARTIAL,
        "Every direct check passed, but a network scan shows only part of this requirement.",
    )


def status_of(
    requirement: Requirement,
    direct: Sequence[JudgedResult],
    manual: Sequence[Statement] = (),
) -> tuple[Status, str]:
    rule, reason = decide(requirement, direct, manual)
    return rule.status, reason


def assess(
    results: Iterable[Result],
    profile: Profile,
    targets: Iterable[str],
    *,
    today: date,
    manual: Sequence[Statement] = (),
    labels: Mapping[str, str] | None = None,
) -> Assessment:
    """Judge every result and decide every requirement on every target. `manual` statements
    name devices by address or label (`labels`: address -> label)."""
    judged = tuple(judge(r, profile, today) for r in results)
    by_target_check: dict[tuple[str, str], list[JudgedResult]] = defaultdict(list)
    for j in judged:
        by_target_check[(j.result.target, j.result.check_id)].append(j)
    statuses: list[RequirementStatus] = []
    for target in targets:
        label = (labels or {}).get(target, "")
        for framework, level in profile.frameworks:
            for req in framework.selected(level):
                direct = [j for c in req.direct for j in by_target_check[(target, c)]]
                related = [j for c in req.supporting for j in by_target_check[(target, c)]]
                stated = tuple(
                    s
                    for s in manual
                    if s.framework == framework.id
                    and s.requirement == req.id
                    and s.applies_to(target, label)
                )
                status, reason = status_of(req, direct, stated)
                statuses.append(
                    RequirementStatus(
                        framework.id,
                        req,
                        target,
                        status,
                        reason,
                        tuple(direct),
                        tuple(related),
                        stated,
                    )
                )
    return Assessment(profile, judged, tuple(statuses))


#: what `--fail-on` accepts: requirement statuses and check verdicts (error and not_applicable
#: are both, and match either)
FAIL_ON_NAMES = tuple(dict.fromkeys([*(s.value for s in Status), *(v.value for v in Verdict)]))


def parse_fail_on(text: str) -> frozenset[str]:
    """`--fail-on not_satisfied,error` -> the names; ConfigError for an unknown or empty one."""
    names = frozenset(n.strip() for n in text.split(",") if n.strip())
    unknown = sorted(names - set(FAIL_ON_NAMES))
    if unknown or not names:
        raise ConfigError(
            f"--fail-on: unknown status or verdict {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(FAIL_ON_NAMES)}"
        )
    return names


def exit_code(assessment: Assessment, fail_on: frozenset[str] | None = None) -> int:
    """0 nothing failed; 1 a requirement is not satisfied; 3 no failure, but errors or
    inconclusive results prevent a full verdict.

    With `fail_on` the caller decides instead: 1 when any requirement status or check verdict
    is one of those names, else 0. A fail covered by an active accepted deviation is not a
    `fail` here either, as it is not for the statuses.
    """
    if fail_on is not None:
        seen = {s.status.value for s in assessment.statuses}
        seen |= {
            j.result.verdict.value
            for j in assessment.results
            if j.result.verdict is not Verdict.FAIL or j.counts_as_fail
        }
        return 1 if seen & fail_on else 0
    statuses = {s.status for s in assessment.statuses}
    if Status.NOT_SATISFIED in statuses:
        return 1
    undecided = {Verdict.ERROR, Verdict.INCONCLUSIVE}
    if Status.ERROR in statuses or any(j.result.verdict in undecided for j in assessment.results):
        return 3
    return 0
