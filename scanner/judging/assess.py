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

Manual evidence (a person's statement, `scanner/judging/manual.py`) never overrides what the scan
measured: it is listed beside the measured status. Where nothing was measured it lifts
`not_assessed` to `partially_assessed`, never to `satisfied`: shinsa verifies none of it, and
a `satisfied` from a statement would read, in every format (OSCAL, JUnit), like a measured one.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scanner.errors import ConfigError
from scanner.judging.profiles import Accepted, Coverage, Framework, Profile, Requirement
from scanner.model import FAIL_ON_NAMES as FAIL_ON_NAMES  # re-exported: defined by the model
from scanner.model import Result, Verdict
from scanner.model import Status as Status  # re-exported: defined by the model
from scanner.probe import Severity

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
    from datetime import date

    from scanner.judging.manual import Statement
    from scanner.probe import Check


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
    reason_ja: str = ""  # the reason in Japanese (`decide` writes both)

    @property
    def has_evidence(self) -> bool:
        """False for the status every requirement has on a device where nothing about it
        was measured, seen or stated (`Assessment` does not store those)."""
        return bool(self.results or self.related or self.manual)


def unassessed_reason(requirement: Requirement) -> str:
    """The reason of a requirement with no evidence of any kind on a device."""
    return decide(requirement, ())[1]


def unassessed_reason_ja(requirement: Requirement) -> str:
    """The same in Japanese."""
    return decide(requirement, ())[2]


@dataclass(frozen=True, slots=True)
class Assessment:
    """Every requirement of `requirements` on every target of `targets` has a status.

    Only statuses with evidence (a direct or supporting result, a manual statement) are
    stored, per target; the rest are all `not_assessed` with `unassessed_reason` and are made
    when asked for. An empty /16 would otherwise hold 65,536 x 287 identical statuses.
    """

    profile: Profile
    results: tuple[JudgedResult, ...]
    targets: tuple[str, ...] = ()
    requirements: tuple[tuple[str, Requirement], ...] = ()  # (framework id, requirement)
    evidenced: Mapping[str, tuple[RequirementStatus, ...]] = field(default_factory=dict)
    by_target: Mapping[str, tuple[JudgedResult, ...]] = field(default_factory=dict)
    # Devices judged by a profile of their own (a target file's `profile=`): that profile;
    # and in such a mixed run, every device's requirements (`requirements` is then every
    # profile's, the run's first; one tuple per profile, shared by its devices).
    device_profiles: Mapping[str, Profile] = field(default_factory=dict)
    device_requirements: Mapping[str, tuple[tuple[str, Requirement], ...]] = field(
        default_factory=dict
    )

    # in a mixed run, every profile's frameworks once, the run's own first (the objects
    # whose requirements the statuses hold); else empty: the profile's
    frameworks: tuple[tuple[Framework, int | None], ...] = ()

    def all_frameworks(self) -> tuple[tuple[Framework, int | None], ...]:
        """The frameworks (and levels) of every device's profile: a report's sections."""
        return self.frameworks or self.profile.frameworks

    def profile_for(self, target: str) -> Profile:
        """The profile `target` was judged by."""
        return self.device_profiles.get(target, self.profile)

    def requirements_for(self, target: str) -> tuple[tuple[str, Requirement], ...]:
        """The requirements `target` is judged against, in its profile's order."""
        return self.device_requirements.get(target, self.requirements)

    def results_for(self, target: str) -> tuple[JudgedResult, ...]:
        """The judged results of one target, in the order of `results`."""
        return self.by_target.get(target, ())

    def evidenced_for(self, target: str) -> tuple[RequirementStatus, ...]:
        """The statuses of `target` that have evidence, in profile order."""
        return self.evidenced.get(target, ())

    def for_target(self, target: str) -> tuple[RequirementStatus, ...]:
        """Every requirement's status on `target`, in profile order (made here, not stored)."""
        stored = {(s.framework, s.requirement.id): s for s in self.evidenced_for(target)}
        return tuple(
            stored.get((fw, req.id))
            or RequirementStatus(
                fw,
                req,
                target,
                Status.NOT_ASSESSED,
                unassessed_reason(req),
                (),
                (),
                reason_ja=unassessed_reason_ja(req),
            )
            for fw, req in self.requirements_for(target)
        )

    def iter_statuses(self) -> Iterator[RequirementStatus]:
        """Every status of every target, target by target: one device's worth at a time."""
        for target in self.targets:
            yield from self.for_target(target)

    @property
    def statuses(self) -> tuple[RequirementStatus, ...]:
        """Every status, materialised: for tests and small runs; renderers iterate per
        target (`for_target`, `evidenced_for`) instead."""
        return tuple(self.iter_statuses())

    def unassessed_count(self, target: str) -> int:
        """How many requirements on `target` have no evidence (all `not_assessed`)."""
        return len(self.requirements_for(target)) - len(self.evidenced_for(target))

    def status_counts(self, target: str | None = None) -> dict[Status, int]:
        """Statuses counted over one target or (None) all, in `Status` order, zeros left out,
        without making the unstored ones."""
        targets = self.targets if target is None else (target,)
        counts: Counter[Status] = Counter()
        for t in targets:
            counts.update(s.status for s in self.evidenced_for(t))
            counts[Status.NOT_ASSESSED] += self.unassessed_count(t)
        return {s: counts[s] for s in Status if counts[s]}


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
    left_out: Collection[str] = (),
) -> tuple[Rule, str, str]:
    """The first rule of `RULES` that matches, and the reason the report gives, in English
    and in Japanese (the same facts: counts, the first failure's own reason, the statement).

    `left_out`: checks the run did not select (--checks/--exclude-checks). A requirement
    whose direct checks were all left out has no result: nothing measured. One with some
    left out is judged on the rest, but passes read as partial coverage: what was not run
    never counts as passed."""
    if requirement.coverage is Coverage.NONE or not direct:
        none = requirement.coverage is Coverage.NONE
        why = (
            "A network scan cannot assess this requirement"
            if none
            else "No check that gives direct evidence for it ran"
        )
        why_ja = (
            "ネットワークからの検査ではこの要件を評価できない"
            if none
            else "この要件の直接の根拠となる検査は実行されなかった"
        )
        if not manual:
            return NOTHING_MEASURED, f"{why}.", f"{why_ja}。"
        first = manual[0]
        return (
            MANUAL_ONLY,
            f"{why}; {len(manual)} manual statement(s), not verified by the scan: "
            f"{first.by}, {first.date.isoformat()} ({first.document}).",
            f"{why_ja}。検査では検証していない手動の記述が {len(manual)} 件ある: "
            f"{first.by}、{first.date.isoformat()}（{first.document}）。",
        )
    verdicts = [j.result.verdict for j in direct]
    fails = [j for j in direct if j.counts_as_fail]
    if fails:
        first_fail = fails[0].result
        return (
            ANY_FAIL,
            f"{len(fails)} failed check result(s): {first_fail.reason}",
            f"不合格の検査結果が {len(fails)} 件ある: {first_fail.reason_ja or first_fail.reason}",
        )
    if Verdict.ERROR in verdicts:
        n = verdicts.count(Verdict.ERROR)
        return (
            ANY_ERROR,
            f"{n} check(s) could not finish, so no verdict can be given.",
            f"{n} 件の検査が完了しなかったため、判定できない。",
        )
    if all(v is Verdict.NOT_APPLICABLE for v in verdicts):
        return (
            ALL_NOT_APPLICABLE,
            "No interface this requirement applies to was found.",
            "この要件が対象とするインタフェースは見つからなかった。",
        )
    undecided = [v for v in verdicts if v in (Verdict.INCONCLUSIVE, Verdict.SKIPPED)]
    if undecided:
        return (
            ANY_UNDECIDED,
            f"{len(undecided)} check result(s) were inconclusive or skipped.",
            f"{len(undecided)} 件の検査結果が判定不能またはスキップだった。",
        )
    skipped = sorted(c for c in requirement.direct if c in left_out)
    if skipped:
        return (
            PASSES_PARTIAL,
            "Every direct check run passed, but the run left out "
            f"{', '.join(skipped)} (--checks/--exclude-checks).",
            "実行した直接の根拠となる検査はすべて合格したが、この実行では "
            f"{', '.join(skipped)} を対象外とした（--checks/--exclude-checks）。",
        )
    if requirement.coverage is Coverage.FULL:
        return PASSES_FULL, "Every direct check passed.", "直接の根拠となる検査はすべて合格した。"
    return (
        PASSES_PARTIAL,
        "Every direct check passed, but a network scan shows only part of this requirement.",
        "直接の根拠となる検査はすべて合格したが、ネットワークからの検査で確認できるのは"
        "この要件の一部だけである。",
    )


def status_of(
    requirement: Requirement,
    direct: Sequence[JudgedResult],
    manual: Sequence[Statement] = (),
    left_out: Collection[str] = (),
) -> tuple[Status, str, str]:
    """The status and its reason, in English and Japanese."""
    rule, reason, reason_ja = decide(requirement, direct, manual, left_out)
    return rule.status, reason, reason_ja


def assess(
    results: Iterable[Result],
    profile: Profile,
    targets: Iterable[str],
    *,
    today: date,
    manual: Sequence[Statement] = (),
    labels: Mapping[str, str] | None = None,
    left_out: Collection[str] = (),
    profiles: Mapping[str, Profile] | None = None,
) -> Assessment:
    """Judge every result and decide every requirement on every target. `manual` statements
    name devices by address or label (`labels`: address -> label).

    `profiles` (address -> profile) judges a device with a profile of its own (a target
    file's `profile=`) by it: its acceptances, and its frameworks' requirements.

    Linear in targets x (their results + statements): a requirement is looked at on a
    target only when a result of one of its checks or a statement for it is there."""
    targets = tuple(dict.fromkeys(targets))
    own = {t: p for t, p in (profiles or {}).items() if p is not profile}

    def profile_of(target: str) -> Profile:
        return own.get(target, profile)

    judged = tuple(judge(r, profile_of(r.target), today) for r in results)
    by_target: dict[str, list[JudgedResult]] = defaultdict(list)
    for j in judged:
        by_target[j.result.target].append(j)
    # One object per framework and requirement, however many profiles load it: the first
    # profile's (the run's own first), so a report keys a requirement once for every device.
    first: dict[str, tuple[Framework, int | None]] = {}
    for p in (profile, *own.values()):
        for framework, level in p.frameworks:
            first.setdefault(framework.id, (framework, level))
    canon = {(fid, r.id): r for fid, (f, _) in first.items() for r in f.requirements}
    indices: dict[int, _Index] = {}  # per profile (by identity): its requirements, indexed

    def index_of(p: Profile) -> _Index:
        if id(p) not in indices:
            indices[id(p)] = _Index.of(p, canon)
        return indices[id(p)]

    evidenced: dict[str, tuple[RequirementStatus, ...]] = {}
    for target in targets:
        index = index_of(profile_of(target))
        requirements = index.requirements
        label = (labels or {}).get(target, "")
        stated: dict[tuple[str, str], list[Statement]] = defaultdict(list)
        for s in manual:
            if s.applies_to(target, label):
                stated[(s.framework, s.requirement)].append(s)
        by_check: dict[str, list[JudgedResult]] = defaultdict(list)
        for j in by_target.get(target, ()):
            by_check[j.result.check_id].append(j)
        touched = {i for c in by_check for i in index.citing.get(c, ())}
        touched |= {i for key in stated for i in index.named.get(key, ())}
        statuses: list[RequirementStatus] = []
        for i in sorted(touched):
            fw, req = requirements[i]
            direct = tuple(j for c in req.direct for j in by_check.get(c, ()))
            related = tuple(j for c in req.supporting for j in by_check.get(c, ()))
            said = tuple(stated.get((fw, req.id), ()))
            status, reason, reason_ja = status_of(req, direct, said, left_out)
            statuses.append(
                RequirementStatus(
                    fw, req, target, status, reason, direct, related, said, reason_ja=reason_ja
                )
            )
        if statuses:
            evidenced[target] = tuple(statuses)
    # Every requirement of any profile, the run's own first: the devices with a profile of
    # their own add theirs (a mixed site's report lists every framework once).
    union: dict[tuple[str, str], tuple[str, Requirement]] = {}
    for p in (profile, *own.values()):
        for fw, req in index_of(p).requirements:
            union.setdefault((fw, req.id), (fw, req))
    return Assessment(
        profile,
        judged,
        targets=targets,
        requirements=tuple(union.values()),
        evidenced=evidenced,
        by_target={t: tuple(js) for t, js in by_target.items()},
        device_profiles={t: p for t, p in own.items() if t in targets},
        device_requirements={t: index_of(p).requirements for t, p in own.items() if t in targets},
    )


@dataclass(frozen=True, slots=True)
class _Index:
    """A profile's requirements in scope, and which of them each check and each manual
    statement's (framework, id) touches."""

    requirements: tuple[tuple[str, Requirement], ...]  # (framework id, requirement)
    citing: Mapping[str, set[int]]  # check id -> indices, directly or in support
    named: Mapping[tuple[str, str], list[int]]  # (framework, id) -> indices

    @classmethod
    def of(cls, profile: Profile, canon: Mapping[tuple[str, str], Requirement]) -> _Index:
        requirements = tuple(
            (framework.id, canon.get((framework.id, req.id), req))
            for framework, level in profile.frameworks
            for req in framework.selected(level)
        )
        citing: dict[str, set[int]] = defaultdict(set)
        named: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, (fw, req) in enumerate(requirements):
            named[(fw, req.id)].append(i)
            for c in (*req.direct, *req.supporting):
                citing[c].add(i)
        return cls(requirements, citing, named)


#: `--fail-on severity>=high`: the prefix of the one name that is a threshold, not a name
SEVERITY_AT_LEAST = "severity>="


def parse_fail_on(text: str) -> frozenset[str]:
    """`--fail-on not_satisfied,error` or `severity>=high` -> the names; ConfigError for an
    unknown or empty one."""
    names = frozenset(n.strip().lower() for n in text.split(",") if n.strip())
    levels = ", ".join(s.value for s in Severity)
    unknown = sorted(
        n
        for n in names - set(FAIL_ON_NAMES)
        if not (n.startswith(SEVERITY_AT_LEAST) and n[len(SEVERITY_AT_LEAST) :] in set(Severity))
    )
    if unknown or not names:
        raise ConfigError(
            f"--fail-on: unknown status or verdict {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(FAIL_ON_NAMES)}, or severity>=LEVEL ({levels})"
        )
    if len([n for n in names if n.startswith(SEVERITY_AT_LEAST)]) > 1:
        raise ConfigError("--fail-on: give one severity>=LEVEL, not several")
    return names


def _fails_at_or_above(
    assessment: Assessment, level: Severity, checks: Mapping[str, Check] | None
) -> bool:
    """Whether a failure that counts (no active accepted deviation) has a check severity of
    at least `level`. A check the registry no longer knows (a plugin removed since the scan)
    counts: a gate cannot tell that its finding is below the line."""
    for judged in assessment.results:
        if not judged.counts_as_fail:
            continue
        check = (checks or {}).get(judged.result.check_id)
        if check is None or check.severity.rank >= level.rank:
            return True
    return False


def exit_code(
    assessment: Assessment,
    fail_on: frozenset[str] | None = None,
    *,
    checks: Mapping[str, Check] | None = None,
) -> int:
    """0 nothing failed; 1 a requirement is not satisfied; 3 no failure, but errors or
    inconclusive results prevent a full verdict.

    With `fail_on` the caller decides instead: 1 when any requirement status or check verdict
    is one of those names, or a counted failure's check (`checks` gives their severities) is
    at least the `severity>=LEVEL` it names, else 0. A fail covered by an active accepted
    deviation is not a `fail` here either, as it is not for the statuses.
    """
    if fail_on is not None:
        seen = {s.value for s in assessment.status_counts()}
        seen |= {
            j.result.verdict.value
            for j in assessment.results
            if j.result.verdict is not Verdict.FAIL or j.counts_as_fail
        }
        for name in fail_on:
            if name.startswith(SEVERITY_AT_LEAST):
                level = Severity(name[len(SEVERITY_AT_LEAST) :])
                if _fails_at_or_above(assessment, level, checks):
                    return 1
        return 1 if seen & fail_on else 0
    statuses = assessment.status_counts()
    if Status.NOT_SATISFIED in statuses:
        return 1
    undecided = {Verdict.ERROR, Verdict.INCONCLUSIVE}
    if Status.ERROR in statuses or any(j.result.verdict in undecided for j in assessment.results):
        return 3
    return 0
