"""auth.lockout's judge, pure: every way a measurement can end, decided without a device.
The measurement itself is tested against the lab and against pam_faillock
(tests/integration/test_lockout_lab.py, tests/interop/test_lockout_interop.py)."""

from __future__ import annotations

import re

import pytest

from probes.lockout import LockoutParams, Measurement, Seen, _Timeline, judge
from scanner.credentials import Attempt, Credential, Outcome
from scanner.facts import Facts
from scanner.model import Service, Target, Verdict
from scanner.net import Network
from scanner.probe import ProbeContext, ServiceResults
from scanner.scope import Scope

ADDRESS = "127.0.75.62"
WHERE = f"tcp/22 ssh on {ADDRESS}: "
ADMIN = Credential("admin", "right-one", "test")
PARAMS = LockoutParams(max_attempts=5, min_lock_seconds=60, max_wait_seconds=120)


def about() -> ServiceResults:
    net = Network(Scope.of([ADDRESS])).device(ADDRESS)
    return ProbeContext(Target(ADDRESS), net, Facts()).about(Service("tcp", 22, "ssh"))


def attempt(outcome: Outcome, detail: str = "") -> Attempt:
    return Attempt(ADMIN, outcome, detail or outcome.value, 0.1)


def timeline(*outcomes: Outcome) -> _Timeline:
    t = _Timeline()
    for i, outcome in enumerate(outcomes):
        t.add("account", "right" if i == 0 else "wrong", attempt(outcome))
    return t


def measured(seen: Seen, **facts: object) -> Measurement:
    facts.setdefault("timeline", timeline(Outcome.ACCEPTED))
    return Measurement(seen, **facts)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("m", "verdict", "reason"),
    [
        (
            measured(Seen.NO_LOGIN, why="no login surface on this service"),
            Verdict.NOT_APPLICABLE,
            "no login surface on this service.",
        ),
        (
            measured(Seen.NO_LOGIN, why="the login page answered 503"),
            Verdict.INCONCLUSIVE,
            "the login page answered 503.",
        ),
        (
            measured(Seen.NOT_A_FAILURE, attempt=attempt(Outcome.ACCEPTED), what="a wrong one"),
            Verdict.NOT_APPLICABLE,
            "a wrong one was accepted (accepted): the service authenticates nobody",
        ),
        (
            measured(Seen.NOT_A_FAILURE, attempt=attempt(Outcome.ERROR), what="a wrong one"),
            Verdict.INCONCLUSIVE,
            "a wrong one was neither accepted nor refused (error: error)",
        ),
        (
            measured(Seen.ACCOUNT_REFUSED, attempt=attempt(Outcome.REJECTED)),
            Verdict.INCONCLUSIVE,
            "the account's own login did not work (rejected: rejected)",
        ),
        (
            measured(
                Seen.THROTTLED,
                timeline=timeline(Outcome.ACCEPTED, Outcome.REJECTED, Outcome.THROTTLED),
                visible=2,
                shown="throttled",
                failures=2,
            ),
            Verdict.PASS,
            "the device answered throttled after 1 failures; the right password worked",
        ),
        (
            measured(Seen.DELAYED, failures=5, delay="answers slowed from 0.1 s to 4.0 s"),
            Verdict.PASS,
            "no lock after 5 failures, but answers slowed from 0.1 s to 4.0 s.",
        ),
        (
            measured(Seen.NO_REACTION, failures=5, slow=0.5),
            Verdict.FAIL,
            "5 wrong passwords in a row (taking 0.5 s), then the right one was accepted",
        ),
        (
            measured(Seen.NEITHER, failures=5, attempt=attempt(Outcome.ERROR, "reset")),
            Verdict.INCONCLUSIVE,
            "after 5 failures the right password ended in error (reset): neither",
        ),
        (
            measured(Seen.LEFT_LOCKED, failures=3, reaction="lock", username="admin"),
            Verdict.PASS,
            "still locked after 120 s: THE ACCOUNT 'admin' WAS LEFT LOCKED.",
        ),
        (
            measured(Seen.LEFT_LOCKED, failures=3, reaction="rate limit", username="admin"),
            Verdict.INCONCLUSIVE,
            "locked after at most 3 failures",
        ),
        (
            measured(Seen.TRANSIENT, failures=5, duration=0.6),
            Verdict.INCONCLUSIVE,
            "refused once after 5 failures, then accepted 0.6 s later",
        ),
        (
            measured(
                Seen.LOCKED, failures=3, reaction="lock", threshold=3, scope="account", duration=90
            ),
            Verdict.PASS,
            "lock after 3 failures, per account, lasting about 90.0 s.",
        ),
        (
            measured(
                Seen.LOCKED, failures=3, reaction="lock", threshold=None, scope="source", duration=9
            ),
            Verdict.FAIL,
            "lock after at most 3 failures, per source, lasting about 9.0 s; shorter than "
            "min_lock_seconds (60 s).",
        ),
        (
            measured(Seen.GHOST_REACTED, visible=1, shown="locked"),
            Verdict.PASS,
            "failed logins for a user that does not exist answered locked after 0 failures",
        ),
        (
            measured(Seen.GHOST_SILENT),
            Verdict.INCONCLUSIVE,
            "6 failures for a user that does not exist drew no visible reaction",
        ),
    ],
    ids=lambda v: v.seen.value if isinstance(v, Measurement) else None,
)
def test_each_way_a_measurement_ends_has_its_verdict(m: Measurement, verdict: Verdict, reason: str):
    result = judge(about(), PARAMS, m)
    assert result.verdict is verdict
    assert result.reason.startswith(WHERE)
    assert reason in result.reason
    if m.seen is not Seen.NO_LOGIN:  # a measurement's evidence is its timeline
        (evidence,) = result.evidence
        assert evidence.details["timeline"] == m.timeline.rows


def test_every_way_a_measurement_ends_is_judged():
    for seen in Seen:
        m = measured(seen, attempt=attempt(Outcome.REJECTED), duration=1.0, visible=1)
        assert judge(about(), PARAMS, m).check_id == "auth.lockout"


def test_no_reaction_is_the_only_fail_besides_a_short_lock():
    fails = {
        s
        for s in Seen
        if judge(about(), PARAMS, measured(s, attempt=attempt(Outcome.ERROR), duration=1.0)).verdict
        is Verdict.FAIL
    }
    assert fails == {Seen.NO_REACTION, Seen.LOCKED}


def test_every_way_a_measurement_ends_says_the_same_numbers_in_japanese():
    where_ja = f"{ADDRESS} の tcp/22 (ssh): "
    for seen in Seen:
        m = measured(
            seen,
            attempt=attempt(Outcome.REJECTED),
            duration=75.0,
            visible=4,
            failures=4,
            threshold=3,
            slow=2.5,
            reaction="lock",
            scope="account",
            username="admin",
            why="the login page answered 503",
            what="a wrong one",
            what_ja="誤ったパスワード",
            shown="locked",
            delay="answers slowed from 0.5 s to 2.0 s",
        )
        result = judge(about(), PARAMS, m)
        assert result.reason_ja.startswith(where_ja), seen
        english = result.reason.removeprefix(WHERE)
        japanese = result.reason_ja.removeprefix(where_ja)
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", japanese), seen
        numbers = r"\d+(?:\.\d+)?"
        assert sorted(re.findall(numbers, japanese)) == sorted(re.findall(numbers, english)), seen
