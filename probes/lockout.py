"""Account lockout, measured: how many failed logins until the device reacts, how it
reacts, whether per account or per source, and for how long (IEC 62443-4-2 CR 1.11,
NIST SP 800-171 3.1.8).

Intrusive: it runs only when the profile or `--allow-intrusive` allows it, after every
other check of the device that needs the account (its phase, `Phase.INTRUSIVE`), one login surface
of a device at a time (the device's login turn), and it waits for the account to unlock
before it lets go; if the lock outlasts `max_wait_seconds`, the result says the account
was left locked.

With a known password (the profile's `test_account`, else a factory login the scan
found), one surface is measured like this:

1. the right password once (it must work, else nothing can be measured);
2. wrong passwords one by one, at most `max_attempts`, watching every answer (a lock or
   throttle message, 429/Retry-After, a dropped connection, a growing delay);
3. the right password: refused means the account (or the source) is locked. When no
   answer showed the lock, the threshold is found by a bounded binary search (each round:
   k wrong passwords, then the right one, then waiting out the lock). When the right
   password works but the failures were slow (pam_faillock's 2 s pauses), a short lock
   may have run out meanwhile: k wrong then at once the right one, for k = 1, 2, ...;
4. the lock duration: the right password retried on a bounded back-off until it works;
5. the scope: the same number of failures for a user that does not exist, then the right
   password: refused means the lock follows the source address, not the account.

Without a known password only step 2 runs, with a user that does not exist: throttling can
be judged, an account lock cannot, and the verdict says so.

A failure counts only once a wrong password is proven refused: the first wrong password
(or, without an account, the first login of a user that does not exist) must be REJECTED,
LOCKED or THROTTLED. Accepted, the service authenticates nobody (an MQTT broker open to
every client, a server that takes any password): lockout means nothing there and the check
is `not_applicable`, saying so. An answer that is neither (an error) leaves it
`inconclusive`: nothing was shown to be a failed login.

The job's deadline follows `max_wait_seconds` (`lockout_seconds`): every wait for an unlock
the measurement may make, its login attempts, and the turns of the device's other login
surfaces, which it waits for.

Verdicts: a reaction (lock, growing delay, rate limit) within `max_attempts` failures and,
for a lock, lasting at least `min_lock_seconds` passes; no reaction fails; a reaction that
cannot be told apart from noise (the right password refused once, then accepted at once)
is inconclusive. Evidence: a timeline of every attempt with its answer and latency.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from probes._account import known_credential
from probes._login import ftp, mqtt, ssh, telnet
from probes._login.common import BACKOFF
from probes._login.http_session import HttpLogin
from scanner.credentials import Attempt, Credential, Outcome
from scanner.errors import ConfigError
from scanner.facts import (
    HTTP_PAGES,
    LOGIN_FORMS,
    LOGIN_SURFACES,
    SERVICES,
    VALID_CREDENTIALS,
)
from scanner.model import Evidence, JSONValue, Result, Verdict
from scanner.probe import Check, Params, Phase, ServiceProbe

if TYPE_CHECKING:
    import httpx

    from scanner.model import Service
    from scanner.probe import ProbeContext


#: The longest a profile may have the probe wait for one unlock (30 min): with it the
#: worst case of one surface (`lockout_seconds`) stays within hours, not days.
MAX_WAIT_SECONDS = 1800.0


@dataclass(frozen=True, slots=True)
class LockoutParams(Params):
    """`auth.lockout` parameters."""

    max_attempts: int = 5  # the device must react by this many failures (CR 1.11: a limit)
    min_lock_seconds: float = 0.0  # a lock shorter than this fails; 0: any lock
    max_wait_seconds: float = 120.0  # the longest wait for an unlock before giving up

    def __post_init__(self) -> None:
        if not 1 <= self.max_attempts <= 50:
            raise ConfigError("max_attempts must be 1-50")
        if self.min_lock_seconds < 0 or not 0 < self.max_wait_seconds <= MAX_WAIT_SECONDS:
            raise ConfigError(
                f"min_lock_seconds must be ≥ 0 and max_wait_seconds > 0 and ≤ {MAX_WAIT_SECONDS:g}"
            )


LOCKOUT = Check(
    id="auth.lockout",
    title="Repeated failed logins lock the account or slow the attacker down",
    method=(
        "Intrusive. With a known account: the right password, then up to max_attempts "
        "wrong ones watching every answer, then the right one again; a refused right "
        "password is a lock, whose threshold, duration and scope (account or source) are "
        "measured. A growing delay or a rate limit is also a reaction. No reaction within "
        "max_attempts fails; a lock shorter than min_lock_seconds fails."
    ),
    params=LockoutParams,
)

#: polling for an unlock: every max(UNLOCK_STEP, UNLOCK_SHARE x time waited so far) seconds,
#: so a lock is timed to within about a quarter of its length with few attempts (a device
#: that counts attempts during a lock as new failures is not kept locked by a fast poll)
UNLOCK_STEP = 0.5
UNLOCK_SHARE = 0.25
#: wrong passwords that took longer than this in all: a lock shorter than that could have
#: expired before the right password came, so the threshold is searched from below
SLOW_FAILURES_SECONDS = 2.0
#: how long one answer may take (progressive delays of several seconds are a reaction)
ANSWER_TIMEOUT = 15.0
#: how long a first login refused with REJECTED is retried (a lock the earlier probes of
#: the scan left behind, on a protocol that cannot say "locked")
SETTLE_REJECTED_SECONDS = 10.0
#: a delay counts as a reaction when the last answers take this much longer than the first
DELAY_FACTOR = 3.0
DELAY_MIN_SECONDS = 1.0
#: one login attempt at most: its answer, and the back-off of a dropped connection retried
ATTEMPT_SECONDS = ANSWER_TIMEOUT + sum(BACKOFF)
#: hang-ups and scheduling around one surface's measurement
JOB_MARGIN = 30.0
_REFUSED = frozenset({Outcome.REJECTED, Outcome.LOCKED, Outcome.THROTTLED})
_PROTOCOLS = frozenset({"ssh", "telnet", "ftp", "http", "https", "mqtt", "mqtts"})


def lockout_seconds(params: LockoutParams, surfaces: int = 1) -> float:
    """The longest the measurement of one login surface may take, waiting first for the
    turns of the device's other `surfaces - 1` surfaces: the job's deadline.

    Waits for an unlock: one for a lock found at the start, the duration, one per round of
    the threshold's binary search (or the ascending search, bounded by max_wait), the scope.
    Attempts outside those waits: the first logins, max_attempts wrong ones, the searches'
    and the scope's (each at most max_attempts more), each within ANSWER_TIMEOUT and the
    login clients' back-off."""
    rounds = math.ceil(math.log2(params.max_attempts)) if params.max_attempts > 1 else 0
    waits = (3 + rounds) * (params.max_wait_seconds + ATTEMPT_SECONDS)
    attempts = (4 * params.max_attempts + 4) * ATTEMPT_SECONDS
    return max(1, surfaces) * (waits + attempts + JOB_MARGIN)


@dataclass(slots=True)
class _Timeline:
    start: float = field(default_factory=time.monotonic)
    rows: list[dict[str, JSONValue]] = field(default_factory=list)
    wrong_latencies: list[float] = field(default_factory=list)

    def add(self, who: str, password: str, attempt: Attempt) -> None:
        if password == "wrong":  # noqa: S105 - a label in the timeline, not a secret
            self.wrong_latencies.append(attempt.latency)
        self.rows.append(
            {
                "n": len(self.rows) + 1,
                "at": round(time.monotonic() - self.start, 2),
                "user": who,
                "password": password,
                "outcome": attempt.outcome.value,
                "latency": round(attempt.latency, 3),
                "answer": attempt.detail[:160],
            }
        )


Login = Callable[[Credential], Awaitable[Attempt]]  # one login attempt on one surface


class AccountLockout(ServiceProbe):
    """Measures lockout on one login surface; see the module docstring."""

    checks = (LOCKOUT,)
    protocols = _PROTOCOLS
    phase = Phase.INTRUSIVE
    intrusive = True
    uses = frozenset({VALID_CREDENTIALS, LOGIN_SURFACES})

    def time_needed(self, ctx: ProbeContext, service: Service | None) -> float:
        # One surface of a device at a time: this job may wait for all the others.
        services = ctx.facts.get(SERVICES) or ()
        surfaces = sum(s.protocol in _PROTOCOLS for s in services)
        return lockout_seconds(ctx.params(LOCKOUT, LockoutParams), surfaces)

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        params = ctx.params(LOCKOUT, LockoutParams)
        where = f"{service} on {ctx.target.address}"
        account = known_credential(ctx, service)
        async with ctx.ledger.turn:  # one surface of a device at a time, after the others
            if service.protocol in ("http", "https"):
                # A device that slows failed logins down must not look like a dead one.
                async with ctx.net.http(service, timeout=ANSWER_TIMEOUT) as client:
                    return [await self._http(ctx, service, where, account, params, client)]
            return [await _measure(ctx, service, where, account, params, _login_for(ctx, service))]

    async def _http(
        self,
        ctx: ProbeContext,
        service: Service,
        where: str,
        account: Credential | None,
        params: LockoutParams,
        client: httpx.AsyncClient,
    ) -> Result:
        pages = ctx.facts.get(HTTP_PAGES) or ()
        forms = ctx.facts.get(LOGIN_FORMS) or ()
        surfaces = [s for s in ctx.facts.get(LOGIN_SURFACES) or () if s.service.key == service.key]
        login = HttpLogin(ctx.net, client, service, pages, forms, surfaces)
        why = await login.prepare()
        waited = 0.0
        while why is not None and "lock" in why and waited < params.max_wait_seconds:
            # A lock the scan's earlier probes left (a per-source lock): wait it out.
            step = max(UNLOCK_STEP, UNLOCK_SHARE * waited)
            await asyncio.sleep(step)
            waited += step
            why = await login.prepare()
        if why is not None:
            elsewhere = why.startswith(("no login surface", "the login surface belongs"))
            verdict = Verdict.NOT_APPLICABLE if elsewhere else Verdict.INCONCLUSIVE
            return ctx.result(LOCKOUT, verdict, f"{where}: {why}.", service=service)
        return await _measure(ctx, service, where, account, params, login.attempt)


def _login_for(ctx: ProbeContext, service: Service) -> Login:
    async def once(credential: Credential) -> Attempt:
        if service.protocol == "ssh":
            run = await ssh.try_logins(ctx.net, service, [credential])
        elif service.protocol == "telnet":
            run = await telnet.try_logins(ctx.net, service, [credential])
        elif service.protocol == "ftp":
            run = await ftp.try_logins(ctx.net, service, [credential])
        else:  # MQTT: no control login, every attempt must count exactly once
            run = await mqtt.try_logins(ctx.net, service, [credential], with_control=False)
        if run.attempts:
            return run.attempts[0]
        return Attempt(credential, Outcome.ERROR, run.note or "no attempt was made", 0.0, False)

    return once


def _wrong(username: str) -> Credential:
    return Credential(username, f"shinsa-wrong-{secrets.token_hex(6)}", "lockout probe")


async def _measure(
    ctx: ProbeContext,
    service: Service,
    where: str,
    account: Credential | None,
    params: LockoutParams,
    login: Login,
) -> Result:
    timeline = _Timeline()
    if account is None:
        return await _without_account(ctx, service, where, params, login, timeline)
    first = await login(account)
    timeline.add("account", "right", first)
    if first.outcome in _REFUSED:
        # A lock or throttle the scan's earlier probes left behind: wait it out first.
        bound = params.max_wait_seconds
        if first.outcome is Outcome.REJECTED:
            bound = min(bound, SETTLE_REJECTED_SECONDS)
        if await _wait_unlock(login, account, timeline, time.monotonic(), bound) is not None:
            first = Attempt(account, Outcome.ACCEPTED, "accepted after waiting", 0.0)
    if first.outcome is not Outcome.ACCEPTED:
        return _result(
            ctx,
            service,
            Verdict.INCONCLUSIVE,
            f"{where}: the account's own login did not work ({first.outcome.value}: "
            f"{first.detail[:80]}), so a lockout cannot be measured.",
            timeline,
        )
    # Steps 2-3: wrong passwords, watching for a visible reaction, then the right one.
    visible = 0
    for i in range(1, params.max_attempts + 1):
        attempt = await login(_wrong(account.username))
        timeline.add("account", "wrong", attempt)
        # The first must prove that failures are failures; an accepted one, later too.
        unproven = _not_a_failure(attempt, f"a wrong password for {account.username!r}")
        if unproven is not None and (i == 1 or attempt.outcome is Outcome.ACCEPTED):
            verdict, why = unproven
            return _result(ctx, service, verdict, f"{where}: {why}", timeline)
        if attempt.outcome in (Outcome.LOCKED, Outcome.THROTTLED):
            visible = i
            break
    failures = visible or params.max_attempts
    locked_at = time.monotonic()  # the lock is timed from the last failure
    check = await login(account)
    timeline.add("account", "right", check)
    if check.outcome is Outcome.ACCEPTED and visible:
        return _result(
            ctx,
            service,
            Verdict.PASS,
            f"{where}: the device answered {timeline.rows[visible]['outcome']} after "
            f"{visible - 1} failures; the right password worked again at once.",
            timeline,
            reaction="throttle",
            threshold=visible - 1,
        )
    known_threshold: int | None = None
    slow = sum(timeline.wrong_latencies)
    if check.outcome is Outcome.ACCEPTED:
        reaction = _delay_reaction(timeline)
        if reaction:
            return _result(
                ctx,
                service,
                Verdict.PASS,
                f"{where}: no lock after {failures} failures, but {reaction}.",
                timeline,
                reaction="delay",
            )
        if slow > SLOW_FAILURES_SECONDS:
            # Slow failures: a short lock may have run out before the right password came.
            found = await _ascending_search(login, account, timeline, params)
            if found is not None:
                known_threshold, locked_at, check = found
                failures = known_threshold
    if check.outcome is Outcome.ACCEPTED:
        return _result(
            ctx,
            service,
            Verdict.FAIL,
            f"{where}: {failures} wrong passwords in a row (taking {slow:.1f} s), then the "
            "right one was accepted: no lock that outlasted the last failure, no growing "
            f"delay and no rate limit within max_attempts ({params.max_attempts}).",
            timeline,
            reaction="none",
        )
    if check.outcome not in _REFUSED:
        return _result(
            ctx,
            service,
            Verdict.INCONCLUSIVE,
            f"{where}: after {failures} failures the right password ended in "
            f"{check.outcome.value} ({check.detail[:80]}): neither a lock nor a login.",
            timeline,
        )
    reaction = "rate limit" if check.outcome is Outcome.THROTTLED else "lock"
    # Step 4: how long the lock lasts.
    duration = await _wait_unlock(login, account, timeline, locked_at, params.max_wait_seconds)
    if duration is None:
        return _result(
            ctx,
            service,
            Verdict.INCONCLUSIVE if reaction == "rate limit" else Verdict.PASS,
            f"{where}: locked after at most {failures} failures and still locked after "
            f"{params.max_wait_seconds:g} s: THE ACCOUNT {account.username!r} WAS LEFT LOCKED.",
            timeline,
            reaction=reaction,
            threshold=visible - 1 if visible else None,
            left_locked=True,
        )
    if duration < UNLOCK_STEP * 1.5 and not visible:
        return _result(
            ctx,
            service,
            Verdict.INCONCLUSIVE,
            f"{where}: the right password was refused once after {failures} failures, then "
            f"accepted {duration:.1f} s later: not told apart from a transient error.",
            timeline,
        )
    # The threshold: visible in the answers, else a bounded binary search.
    threshold = visible - 1 if visible else known_threshold
    if threshold is None:
        threshold = await _search_threshold(login, account, timeline, failures, params)
    threshold_text = f"at most {failures}" if threshold is None else str(threshold)
    scope = await _scope(login, account, timeline, threshold or failures, params)
    verdict = Verdict.PASS
    why = ""
    if params.min_lock_seconds and duration < params.min_lock_seconds:
        verdict = Verdict.FAIL
        why = f"; shorter than min_lock_seconds ({params.min_lock_seconds:g} s)"
    return _result(
        ctx,
        service,
        verdict,
        f"{where}: {reaction} after {threshold_text} failures, per {scope}, lasting about "
        f"{duration:.1f} s{why}.",
        timeline,
        reaction=reaction,
        threshold=threshold,
        duration=round(duration, 1),
        scope=scope,
    )


async def _without_account(
    ctx: ProbeContext,
    service: Service,
    where: str,
    params: LockoutParams,
    login: Login,
    timeline: _Timeline,
) -> Result:
    ghost = f"shinsa-nobody-{secrets.token_hex(3)}"
    reacted = 0
    for i in range(1, params.max_attempts + 2):
        attempt = await login(_wrong(ghost))
        timeline.add("unknown user", "wrong", attempt)
        unproven = _not_a_failure(attempt, f"a login of {ghost!r}, a user that does not exist,")
        if unproven is not None and (i == 1 or attempt.outcome is Outcome.ACCEPTED):
            verdict, why = unproven
            return _result(ctx, service, verdict, f"{where}: {why}", timeline)
        if attempt.outcome in (Outcome.LOCKED, Outcome.THROTTLED):
            reacted = i
            break
    delay = _delay_reaction(timeline)
    note = " (no valid account: only throttling can be judged; set test_account)"
    if reacted or delay:
        what = f"answered {timeline.rows[-1]['outcome']}" if reacted else delay
        return _result(
            ctx,
            service,
            Verdict.PASS,
            f"{where}: failed logins for a user that does not exist {what} after "
            f"{reacted - 1 if reacted else params.max_attempts + 1} failures{note}.",
            timeline,
            reaction="throttle" if reacted else "delay",
        )
    return _result(
        ctx,
        service,
        Verdict.INCONCLUSIVE,
        f"{where}: {params.max_attempts + 1} failures for a user that does not exist drew no "
        f"visible reaction; an account lock cannot be judged without an account{note}.",
        timeline,
    )


def _not_a_failure(attempt: Attempt, what: str) -> tuple[Verdict, str] | None:
    """None when `attempt` (a wrong password) was a failed login: refused, locked out or
    throttled. Accepted, the service authenticates nobody and a lockout means nothing
    there; neither, nothing shows that failures are being counted."""
    if attempt.outcome in _REFUSED:
        return None
    if attempt.outcome is Outcome.ACCEPTED:
        return (
            Verdict.NOT_APPLICABLE,
            f"{what} was accepted ({attempt.detail[:80]}): the service authenticates nobody, "
            "so there is no failed login to count and no account to lock.",
        )
    return (
        Verdict.INCONCLUSIVE,
        f"{what} was neither accepted nor refused ({attempt.outcome.value}: "
        f"{attempt.detail[:80]}): no failed login can be counted.",
    )


async def _wait_unlock(
    login: Login,
    account: Credential,
    timeline: _Timeline,
    locked_at: float,
    max_wait: float,
) -> float | None:
    """Seconds from `locked_at` until the right password works again, or None."""
    for _ in range(1000):  # bounded by max_wait long before this
        waited = time.monotonic() - locked_at
        delay = max(UNLOCK_STEP, UNLOCK_SHARE * waited)
        if waited + delay > max_wait:
            return None
        await asyncio.sleep(delay)
        attempt = await login(account)
        timeline.add("account", "right", attempt)
        if attempt.outcome is Outcome.ACCEPTED:
            return time.monotonic() - locked_at
    return None


async def _search_threshold(
    login: Login,
    account: Credential,
    timeline: _Timeline,
    upper: int,
    params: LockoutParams,
) -> int | None:
    """The smallest k such that k failures lock the account (binary search in [1, upper]);
    None when a round could not be judged."""
    low, high = 1, upper  # invariant: `high` failures lock
    while low < high:
        k = (low + high) // 2
        for _ in range(k):
            timeline.add("account", "wrong", await login(_wrong(account.username)))
        locked_at = time.monotonic()
        attempt = await login(account)
        timeline.add("account", "right", attempt)
        if attempt.outcome is Outcome.ACCEPTED:
            low = k + 1  # the success also resets the device's count
            continue
        if attempt.outcome not in _REFUSED:
            return None
        high = k
        waited = await _wait_unlock(login, account, timeline, locked_at, params.max_wait_seconds)
        if waited is None:
            return None
    return high


async def _ascending_search(
    login: Login, account: Credential, timeline: _Timeline, params: LockoutParams
) -> tuple[int, float, Attempt] | None:
    """For k = 1, 2, ...: k wrong passwords, then at once the right one. The first k whose
    right password is refused is the threshold; (k, when its last failure ended, the refused
    attempt), or None when none is refused within max_attempts and max_wait_seconds."""
    started = time.monotonic()
    for k in range(1, params.max_attempts):
        for _ in range(k):
            timeline.add("account", "wrong", await login(_wrong(account.username)))
        locked_at = time.monotonic()
        attempt = await login(account)
        timeline.add("account", "right", attempt)
        if attempt.outcome in _REFUSED:
            return k, locked_at, attempt
        if attempt.outcome is not Outcome.ACCEPTED:
            return None
        if time.monotonic() - started > params.max_wait_seconds:
            return None
    return None


async def _scope(
    login: Login,
    account: Credential,
    timeline: _Timeline,
    count: int,
    params: LockoutParams,
) -> str:
    """'source' when failures of a user that does not exist lock the account too, else
    'account'."""
    ghost = f"shinsa-nobody-{secrets.token_hex(3)}"
    for _ in range(count):
        timeline.add("unknown user", "wrong", await login(_wrong(ghost)))
    locked_at = time.monotonic()
    attempt = await login(account)
    timeline.add("account", "right", attempt)
    if attempt.outcome is Outcome.ACCEPTED:
        return "account"
    await _wait_unlock(login, account, timeline, locked_at, params.max_wait_seconds)
    return "source"


def _delay_reaction(timeline: _Timeline) -> str:
    """A description of a growing delay among the wrong-password answers, or ""."""
    latencies = timeline.wrong_latencies
    if len(latencies) < 3:
        return ""
    first = statistics.median(latencies[:2])
    last = latencies[-1]
    if last >= first * DELAY_FACTOR and last - first >= DELAY_MIN_SECONDS:
        return f"answers slowed from {first:.1f} s to {last:.1f} s"
    return ""


def _result(
    ctx: ProbeContext,
    service: Service,
    verdict: Verdict,
    reason: str,
    timeline: _Timeline,
    **facts: JSONValue,
) -> Result:
    details: dict[str, JSONValue] = dict(facts)
    details["timeline"] = list(timeline.rows[:200])
    evidence = Evidence("timing", f"{len(timeline.rows)} login attempts", details)
    return ctx.result(LOCKOUT, verdict, reason, evidence, service=service)
