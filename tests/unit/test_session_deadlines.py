"""Deadlines that follow the profile's waits, and the waits of one service side by side.

The arithmetic of a job's deadline (`job_deadline`, `expiry_seconds`, `lockout_seconds`),
the engine honouring a probe's declared time, and the shell measurements run against fake
shells whose device keeps every session, one at a time, or ends idle ones.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from probes import session_expiry
from probes._session.shell import LOGIN_TIMEOUT, Shell
from probes.lockout import (
    ATTEMPT_SECONDS,
    MAX_WAIT_SECONDS,
    AccountLockout,
    LockoutParams,
    _not_a_failure,
    counts_as_failure,
    lockout_seconds,
)
from probes.registry import all_checks
from probes.session_expiry import (
    ABSOLUTE,
    CONCURRENT,
    IDLE,
    MAX_LIMIT_SECONDS,
    AbsoluteParams,
    ConcurrentParams,
    IdleParams,
    _Report,
    _shell_checks,
    expiry_seconds,
)
from scanner.credential_lists import CredentialCatalog
from scanner.credentials import Attempt, Credential, Outcome
from scanner.discovery.ports import PortSet
from scanner.engine import ScanRequest, _run_job
from scanner.facts import SERVICES, Facts
from scanner.judging.profiles import load_profile
from scanner.model import Result, Service, Target, Verdict
from scanner.net import Limits, Network
from scanner.plan import Job
from scanner.probe import MAX_DECLARED_SECONDS, Check, ProbeContext, ServiceProbe, job_deadline
from scanner.scope import Scope

ADDR = "127.0.74.250"  # never connected to: the shells here are fakes
SSH = Service("tcp", 22, "ssh")
REQUEST = Limits().connect_timeout + 3 * Limits().read_timeout
ACCEPTANCE_LIMIT = 300  # profiles/acceptance.yaml and installation.yaml: max_idle_seconds


# --- the arithmetic ----------------------------------------------------------------------


def test_a_declared_time_longer_than_job_timeout_becomes_the_deadline():
    assert job_deadline(600.0, 0.0) == 600.0  # nothing declared: job_timeout
    assert job_deadline(600.0, 735.0) == 735.0
    assert job_deadline(2.0, 19.5) == 19.5
    assert job_deadline(600.0, -5.0) == 600.0


def test_a_declared_time_is_capped_but_an_operators_longer_job_timeout_is_kept():
    assert job_deadline(600.0, 10 * MAX_DECLARED_SECONDS) == MAX_DECLARED_SECONDS
    assert job_deadline(2 * MAX_DECLARED_SECONDS, 700.0) == 2 * MAX_DECLARED_SECONDS


def test_300_s_idle_and_300_s_absolute_cannot_share_600_s_and_get_more():
    # The case: the acceptance profile's 300 s idle limit with a model's 300 s
    # absolute limit, on an SSH server without any timeout. Each wait is 330 s (10 %
    # resolution); one after the other (a one-session device) they need 660 s and logins.
    idle = IdleParams(max_idle_seconds=ACCEPTANCE_LIMIT)
    absolute = AbsoluteParams(max_session_seconds=ACCEPTANCE_LIMIT)
    assert (idle.top, absolute.top) == (330.0, 330.0)
    shells = expiry_seconds(idle, absolute, ConcurrentParams(), web=False, request_seconds=REQUEST)
    assert shells >= idle.top + absolute.top + 2 * LOGIN_TIMEOUT
    assert job_deadline(600.0, shells) == shells > 600.0
    # a web service may need four idle rounds, then the busy session
    web = expiry_seconds(idle, absolute, ConcurrentParams(), web=True, request_seconds=REQUEST)
    assert web >= session_expiry.MAX_ROUNDS * idle.top + absolute.top
    assert job_deadline(600.0, web) == web


def test_the_deadline_grows_with_each_limit_and_is_nothing_without_one():
    none = expiry_seconds(
        IdleParams(), AbsoluteParams(), ConcurrentParams(), web=False, request_seconds=REQUEST
    )
    assert none == 0.0
    idle_only = expiry_seconds(
        IdleParams(max_idle_seconds=300),
        AbsoluteParams(),
        ConcurrentParams(),
        web=False,
        request_seconds=REQUEST,
    )
    both = expiry_seconds(
        IdleParams(max_idle_seconds=300),
        AbsoluteParams(max_session_seconds=300),
        ConcurrentParams(max_sessions=3),
        web=False,
        request_seconds=REQUEST,
    )
    assert 330 < idle_only < both


def test_the_largest_limits_the_parameters_accept_stay_under_the_ceiling():
    idle = IdleParams(max_idle_seconds=MAX_LIMIT_SECONDS)
    absolute = AbsoluteParams(max_session_seconds=MAX_LIMIT_SECONDS)
    most = ConcurrentParams(max_sessions=session_expiry.MAX_PARALLEL - 1)
    for web in (False, True):
        assert expiry_seconds(idle, absolute, most, web=web, request_seconds=REQUEST) <= (
            MAX_DECLARED_SECONDS
        )
    worst = LockoutParams(max_attempts=50, max_wait_seconds=MAX_WAIT_SECONDS)
    assert lockout_seconds(worst) <= MAX_DECLARED_SECONDS


def test_lockout_waits_every_possible_unlock_and_the_other_surfaces_turns():
    params = LockoutParams(max_attempts=5, max_wait_seconds=300)  # acceptance, installation
    one = lockout_seconds(params)
    # an unlock at the start, the duration, three binary-search rounds (5 → 3 → 2 → 1),
    # the scope: six waits of 300 s, each with its last attempt
    assert one >= 6 * (300 + ATTEMPT_SECONDS)
    assert lockout_seconds(params, surfaces=3) == 3 * one


def test_a_profile_cannot_ask_for_waits_beyond_the_bounds():
    with pytest.raises(Exception, match="max_wait_seconds"):
        LockoutParams(max_wait_seconds=MAX_WAIT_SECONDS + 1)
    with pytest.raises(Exception, match="max_idle_seconds"):
        IdleParams(max_idle_seconds=MAX_LIMIT_SECONDS + 1)


# --- the engine honours the declared time ------------------------------------------------

SLOW = Check("test.slow", "waits", "m")


@dataclass
class Sleeps(ServiceProbe):
    """Sleeps `seconds`, declaring `declared`."""

    seconds: float = 0.0
    declared: float = 0.0
    checks = (SLOW,)
    protocols = frozenset({"ssh"})

    def time_needed(self, ctx: ProbeContext, service: Service | None) -> float:
        return self.declared

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        await asyncio.sleep(self.seconds)
        return [ctx.result(SLOW, Verdict.FAIL, "still open after the wait", service=service)]


async def _run(probe: ServiceProbe, job_timeout: float) -> list[Result]:
    profile = load_profile("base", all_checks())
    request = ScanRequest(
        (Target(ADDR),),
        Scope.of([ADDR]),
        PortSet((22,), ()),
        profile,
        (),  # the job under test is run directly, not planned from a registry
        job_timeout=job_timeout,
        credentials=CredentialCatalog(),  # no login is guessed here
    )
    ctx = ProbeContext(Target(ADDR), Network(request.scope).device(ADDR), Facts())
    landed: list[Result] = []
    await _run_job(request, ctx, Job(probe, SSH), landed.append, [SSH])
    return landed


async def test_the_engine_gives_a_job_its_declared_time_beyond_job_timeout():
    (result,) = await _run(Sleeps(seconds=0.4, declared=2.0), job_timeout=0.1)
    assert result.verdict is Verdict.FAIL, result.reason
    assert result.duration is not None
    assert result.duration >= 0.4


async def test_a_job_past_its_declared_time_is_an_error_naming_the_deadline():
    (result,) = await _run(Sleeps(seconds=30.0, declared=0.3), job_timeout=0.1)
    assert result.verdict is Verdict.ERROR
    assert "did not finish within 0.3 s" in result.reason


class BadDeclaration(Sleeps):
    def time_needed(self, ctx: ProbeContext, service: Service | None) -> float:
        raise TypeError("session.idle-timeout parameters are NoParams, not IdleParams")


async def test_a_probe_whose_declaration_fails_gets_an_error_not_a_crashed_device():
    (result,) = await _run(BadDeclaration(seconds=0.0), job_timeout=1.0)
    assert result.verdict is Verdict.ERROR
    assert "TypeError" in result.reason


# --- the waits side by side, against fake shells ------------------------------------------


@dataclass
class FakeDevice:
    """Shells of one account. `limit`: sessions kept at once, the oldest ended at a login
    beyond it (0: no limit). `idle_timeout`: a shell without a keystroke for that long is
    ended (0: never)."""

    limit: int = 0
    idle_timeout: float = 0.0
    live: list[Shell] = field(default_factory=list)
    windows: dict[int, list[float]] = field(default_factory=dict)  # shell → [opened, ended]
    logins: int = 0

    async def open(self) -> Shell:
        self.logins += 1
        number = self.logins
        last = [time.monotonic()]

        async def keystroke() -> None:
            last[0] = time.monotonic()

        async def close() -> None:  # the client hangs up: the device ends nothing itself
            if shell in self.live:
                self.live.remove(shell)
                self.windows[number][1] = time.monotonic()

        shell = Shell(number, time.monotonic(), keystroke, close)
        self.windows[number] = [shell.opened, 0.0]
        self.live.append(shell)
        if self.limit and len(self.live) > self.limit:
            self._end(self.live[0])
        if self.idle_timeout:

            async def idle_out() -> None:
                while not shell.closed.is_set():
                    left = last[0] + self.idle_timeout - time.monotonic()
                    if left <= 0:
                        self._end(shell)
                        return
                    await asyncio.sleep(left)

            shell.watcher = asyncio.create_task(idle_out())
        return shell

    def _end(self, shell: Shell) -> None:
        if shell in self.live:
            self.live.remove(shell)
            self.windows[shell.number][1] = time.monotonic()
        shell.ended()


def _report() -> _Report:
    ctx = ProbeContext(Target(ADDR), Network(Scope.of([ADDR])).device(ADDR), Facts())
    return _Report(ctx, SSH, "fake", "偽物")


def _details(result: Result) -> dict[str, Any]:
    """The evidence's details, loosely typed: the tests check each value they read."""
    (evidence,) = result.evidence
    return dict(evidence.details)


WAIT = 0.6  # each wait: a limit of 0.5 s judged at 0.1 s
IDLE_P = IdleParams(max_idle_seconds=0.5, resolution_seconds=0.1)
ABSOLUTE_P = AbsoluteParams(max_session_seconds=0.5, resolution_seconds=0.1)
ALL = [IDLE, ABSOLUTE, CONCURRENT]


@pytest.fixture(autouse=True)
def short_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_expiry, "SETTLE", 0.05)


async def test_the_idle_and_absolute_waits_overlap_so_a_service_takes_the_longer_one():
    # Given a device that keeps every session forever
    device = FakeDevice()
    report = _report()
    # When all three limits are measured
    started = time.monotonic()
    await _shell_checks(report, device.open, ALL, IDLE_P, ABSOLUTE_P, ConcurrentParams(2))
    took = time.monotonic() - started
    # Then each fails with the time waited
    verdicts = {c: r.verdict for c, r in report.results.items()}
    assert verdicts == dict.fromkeys((c.id for c in ALL), Verdict.FAIL)
    assert _details(report.results[IDLE.id])["open_after"] >= WAIT
    # and the whole took about one wait, not the sum of the two
    assert WAIT <= took < 2 * WAIT - 0.1, took
    # because the idle shell (4: after the concurrent check's 3) and the busy shell (5)
    # were open at the same time for about the whole wait
    idle_window, busy_window = device.windows[4], device.windows[5]
    overlap = min(idle_window[1], busy_window[1]) - max(idle_window[0], busy_window[0])
    assert overlap >= WAIT - 0.1, device.windows
    assert _details(report.results[IDLE.id])["schedule"].startswith("side by side")
    # and the concurrent check's shells were all closed before the waits began
    assert max(device.windows[n][1] for n in (1, 2, 3)) <= idle_window[0]


@pytest.mark.parametrize(
    ("wanted", "found_by"),
    [(ALL, "the concurrent check"), ([IDLE, ABSOLUTE], "the busy shell's login")],
    ids=["concurrent-check-first", "waits-only"],
)
async def test_a_one_session_device_gets_the_waits_one_after_the_other_unspoiled(
    wanted: list[Check], found_by: str
):
    # Given a device that keeps one session and ends the older one at each login
    device = FakeDevice(limit=1)
    report = _report()
    # When the waits are measured, with or without the concurrent check first (which
    # shows the limit; without it, the busy shell's login ending the idle shell does)
    started = time.monotonic()
    await _shell_checks(report, device.open, wanted, IDLE_P, ABSOLUTE_P, ConcurrentParams(2))
    took = time.monotonic() - started
    # Then no login passed off as an idle timeout: the idle and busy shells, timed one
    # after the other, both stayed open past the limit (and the concurrent limit passes)
    verdicts = {c: r.verdict for c, r in report.results.items()}
    expected = {IDLE.id: Verdict.FAIL, ABSOLUTE.id: Verdict.FAIL, CONCURRENT.id: Verdict.PASS}
    assert verdicts == {c.id: expected[c.id] for c in wanted}, found_by
    schedule = _details(report.results[IDLE.id])["schedule"]
    assert schedule.startswith("one after the other: the device kept one shell"), found_by
    assert took >= 2 * WAIT


async def test_a_busy_shell_that_idled_out_proves_no_absolute_limit():
    # Given a device that ends a shell idle for 0.3 s, and no absolute limit: a keystroke
    # every 0.5 s (the shortest gap) is not enough to keep a shell busy there
    device = FakeDevice(idle_timeout=0.3)
    report = _report()
    # When idle and absolute run side by side
    await _shell_checks(
        report, device.open, [IDLE, ABSOLUTE], IDLE_P, ABSOLUTE_P, ConcurrentParams()
    )
    # Then idle passes, and the busy shell's end is not taken for an absolute limit
    assert report.results[IDLE.id].verdict is Verdict.PASS
    absolute = report.results[ABSOLUTE.id]
    assert absolute.verdict is Verdict.INCONCLUSIVE, absolute.reason
    assert "may have idled out" in absolute.reason


# --- lockout: a failure must be a failure ---------------------------------------------------


def _attempt(outcome: Outcome) -> Attempt:
    return Attempt(Credential("operator", "wrong-one"), outcome, "CONNACK return code 0", 0.01)


def test_an_accepted_wrong_password_means_the_service_authenticates_nobody():
    assert not counts_as_failure(_attempt(Outcome.ACCEPTED))
    verdict, why, why_ja = _not_a_failure(
        _attempt(Outcome.ACCEPTED), "a wrong password", "誤ったパスワード"
    )
    assert verdict is Verdict.NOT_APPLICABLE
    assert "authenticates nobody" in why
    assert why_ja.startswith("誤ったパスワードが受け付けられた（CONNACK return code 0）")


def test_an_answer_that_is_no_refusal_counts_as_no_failure():
    assert not counts_as_failure(_attempt(Outcome.ERROR))
    verdict, _, why_ja = _not_a_failure(
        _attempt(Outcome.ERROR), "a wrong password", "誤ったパスワード"
    )
    assert verdict is Verdict.INCONCLUSIVE
    assert "エラー: CONNACK return code 0" in why_ja


@pytest.mark.parametrize("outcome", [Outcome.REJECTED, Outcome.LOCKED, Outcome.THROTTLED])
def test_a_refusal_lock_or_throttle_is_a_failure_to_count(outcome: Outcome):
    assert counts_as_failure(_attempt(outcome))


# --- the lifecycle profiles' limits end in a verdict ---------------------------------------


@pytest.mark.parametrize("name", ["acceptance", "installation"])
def test_the_lifecycle_profiles_waits_fit_their_jobs_deadlines(name: str):
    # The acceptance and installation profiles set a 300 s idle limit and a lockout that
    # waits up to 300 s for an unlock; a model's profile may add a 300 s absolute limit.
    profile = load_profile(name, all_checks())
    idle = profile.params[IDLE.id]
    assert isinstance(idle, IdleParams)
    assert idle.max_idle_seconds == ACCEPTANCE_LIMIT
    params = dict(profile.params)
    params[ABSOLUTE.id] = AbsoluteParams(max_session_seconds=ACCEPTANCE_LIMIT)
    net = Network(Scope.of([ADDR])).device(ADDR)
    ctx = ProbeContext(Target(ADDR), net, Facts(), params)
    for service in (SSH, Service("tcp", 80, "http")):
        declared = session_expiry.SessionExpiry().time_needed(ctx, service)
        deadline = job_deadline(600.0, declared)
        # one after the other (a one-session device): both waits and their logins fit;
        # side by side they take about 330 s and logins
        assert 2 * 330 + 2 * LOGIN_TIMEOUT <= deadline <= MAX_DECLARED_SECONDS
    lock = profile.params["auth.lockout"]
    assert isinstance(lock, LockoutParams)
    facts = Facts()
    facts.put(SERVICES, (SSH, Service("tcp", 80, "http")))  # two login surfaces take turns
    lockout_ctx = ProbeContext(Target(ADDR), net, facts, params)
    declared = AccountLockout().time_needed(lockout_ctx, SSH)
    assert declared == lockout_seconds(lock, surfaces=2)
    assert 2 * 6 * lock.max_wait_seconds <= job_deadline(600.0, declared) <= MAX_DECLARED_SECONDS
