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
import enum
import math
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
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
from scanner.probe import Check, Params, Phase, Remedy, ServiceProbe, Severity

if TYPE_CHECKING:
    import httpx

    from scanner.model import Service
    from scanner.probe import ProbeContext, ServiceResults


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
    title="Repeated failed logins neither lock the account nor slow the attacker down",
    title_ja="ログイン失敗を繰り返してもアカウントがロックされず、試行も遅延されない（認証ロックなし）",
    method=(
        "Intrusive. With a known account: the right password, then up to max_attempts "
        "wrong ones watching every answer, then the right one again; a refused right "
        "password is a lock, whose threshold, duration and scope (account or source) are "
        "measured. A growing delay or a rate limit is also a reaction. No reaction within "
        "max_attempts fails; a lock shorter than min_lock_seconds fails."
    ),
    method_ja=(
        "侵襲的なチェック。既知のアカウントで、正しいパスワード、"
        "続いて誤ったパスワードを最大max_attempts回（応答をすべて観察する）、"
        "再び正しいパスワードを送る。正しいパスワードが拒否されればロックとみなし、その閾値、"
        "継続時間、範囲（アカウント単位か送信元単位か）を測定する。"
        "応答の遅延の増加や速度制限も反応とみなす。max_attempts回以内に反応がなければ不合格とし、"
        "ロックがmin_lock_seconds未満で解けても不合格とする（認証ロック機能の確認）。"
    ),
    params=LockoutParams,
    severity=Severity.HIGH,
    severity_reason=(
        "Anyone on the network may guess passwords online without limit until one works."
    ),
    severity_reason_ja=(
        "ネットワーク上の誰もが、当たるまで回数の制限なくオンラインでパスワードを推測できる。"
    ),
    kind="lockout",
    remediation=Remedy(
        en=(
            "Lock the account, or delay further attempts, by the profile's number of failed "
            "logins (max_attempts, 5 by default), for at least the profile's min_lock_seconds."
        ),
        ja=(
            "ログイン失敗がプロファイルの上限回数（max_attempts、既定では5回）に達するまでに"
            "アカウントをロックする、または再試行を遅延させる（認証ロック機能）。"
            "ロックはプロファイルのmin_lock_seconds以上続ける。"
        ),
    ),
    references=("CWE-307", "NIST SP 800-53 AC-7"),
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


class Seen(enum.Enum):
    """What one surface's measurement came to; `judge` decides the verdict from it."""

    NO_LOGIN = "no login"  # no login to measure on this surface (`why`)
    NOT_A_FAILURE = "not a failure"  # a wrong password was not a failed login (`attempt`)
    ACCOUNT_REFUSED = "account refused"  # the account's own login did not work
    THROTTLED = "throttled"  # an answer showed a reaction; the right password worked at once
    DELAYED = "delayed"  # no lock, but the answers slowed down (`delay`)
    NO_REACTION = "no reaction"  # the right password worked after every failure
    NEITHER = "neither"  # the right password ended in neither a lock nor a login
    LEFT_LOCKED = "left locked"  # locked, and still locked after max_wait_seconds
    TRANSIENT = "transient"  # refused once, then accepted at once: noise, not a lock
    LOCKED = "locked"  # a lock with its threshold, duration and scope
    GHOST_REACTED = "ghost reacted"  # no account: a user that does not exist was throttled
    GHOST_SILENT = "ghost silent"  # no account, and no visible reaction


@dataclass(frozen=True, slots=True)
class Measurement:
    """The facts of one surface's measurement, and its timeline of every attempt."""

    seen: Seen
    timeline: _Timeline
    attempt: Attempt | None = None  # the deciding attempt (the account's, a wrong one, …)
    what: str = ""  # NOT_A_FAILURE: whose login it was
    what_ja: str = ""  # the same in Japanese
    why: str = ""  # NO_LOGIN: why there is none
    username: str = ""
    failures: int = 0  # wrong passwords before the right one was tried again
    visible: int = 0  # the failure whose answer showed the reaction, 0 when none did
    shown: str = ""  # that answer's outcome: "locked" or "throttled"
    delay: str = ""  # a growing delay, described
    slow: float = 0.0  # seconds the wrong passwords took in all
    reaction: str = ""  # "lock" or "rate limit"
    duration: float | None = None  # seconds until the right password worked again
    threshold: int | None = None  # failures that lock, when known
    scope: str = ""  # "account" or "source"


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
        account = known_credential(ctx, service)
        async with ctx.ledger.turn:  # one surface of a device at a time, after the others
            if service.protocol in ("http", "https"):
                # A device that slows failed logins down must not look like a dead one.
                async with ctx.net.http(service, timeout=ANSWER_TIMEOUT) as client:
                    seen = await self._http(ctx, service, account, params, client)
            else:
                seen = await _measure(account, params, _login_for(ctx, service))
        return [judge(ctx.about(service), params, seen)]

    async def _http(
        self,
        ctx: ProbeContext,
        service: Service,
        account: Credential | None,
        params: LockoutParams,
        client: httpx.AsyncClient,
    ) -> Measurement:
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
            return Measurement(Seen.NO_LOGIN, _Timeline(), why=why)
        return await _measure(account, params, login.attempt)


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


async def _measure(account: Credential | None, params: LockoutParams, login: Login) -> Measurement:
    timeline = _Timeline()
    if account is None:
        return await _without_account(params, login, timeline)
    first = await login(account)
    timeline.add("account", "right", first)
    if first.outcome in _REFUSED:
        # A lock or throttle the scan's earlier probes left behind: wait it out first.
        bound = params.max_wait_seconds
        if first.outcome is Outcome.REJECTED:
            bound = min(bound, SETTLE_REJECTED_SECONDS)
        if await _wait_unlock(login, account, timeline, time.monotonic(), bound) is not None:
            first = Attempt(account, Outcome.ACCEPTED, "accepted after waiting", 0.0)
    user = account.username
    if first.outcome is not Outcome.ACCEPTED:
        return Measurement(Seen.ACCOUNT_REFUSED, timeline, attempt=first, username=user)
    # Steps 2-3: wrong passwords, watching for a visible reaction, then the right one.
    visible, shown = 0, ""
    for i in range(1, params.max_attempts + 1):
        attempt = await login(_wrong(user))
        timeline.add("account", "wrong", attempt)
        # The first must prove that failures are failures; an accepted one, later too.
        if not counts_as_failure(attempt) and (i == 1 or attempt.outcome is Outcome.ACCEPTED):
            what = f"a wrong password for {user!r}"
            what_ja = f"{user!r} への誤ったパスワード"
            return Measurement(
                Seen.NOT_A_FAILURE, timeline, attempt=attempt, what=what, what_ja=what_ja
            )
        if attempt.outcome in (Outcome.LOCKED, Outcome.THROTTLED):
            visible, shown = i, attempt.outcome.value
            break
    failures = visible or params.max_attempts
    locked_at = time.monotonic()  # the lock is timed from the last failure
    check = await login(account)
    timeline.add("account", "right", check)
    seen = Measurement(
        Seen.THROTTLED,
        timeline,
        attempt=check,
        failures=failures,
        visible=visible,
        shown=shown,
        username=user,
    )
    if check.outcome is Outcome.ACCEPTED and visible:
        return seen
    known_threshold: int | None = None
    slow = sum(timeline.wrong_latencies)
    if check.outcome is Outcome.ACCEPTED:
        delay = _delay_reaction(timeline)
        if delay:
            return replace(seen, seen=Seen.DELAYED, delay=delay)
        if slow > SLOW_FAILURES_SECONDS:
            # Slow failures: a short lock may have run out before the right password came.
            found = await _ascending_search(login, account, timeline, params)
            if found is not None:
                known_threshold, locked_at, check = found
                failures = known_threshold
    seen = replace(seen, attempt=check, failures=failures, slow=slow)
    if check.outcome is Outcome.ACCEPTED:
        return replace(seen, seen=Seen.NO_REACTION)
    if check.outcome not in _REFUSED:
        return replace(seen, seen=Seen.NEITHER)
    reaction = "rate limit" if check.outcome is Outcome.THROTTLED else "lock"
    seen = replace(seen, reaction=reaction)
    # Step 4: how long the lock lasts.
    duration = await _wait_unlock(login, account, timeline, locked_at, params.max_wait_seconds)
    if duration is None:
        return replace(seen, seen=Seen.LEFT_LOCKED)
    seen = replace(seen, duration=duration)
    if duration < UNLOCK_STEP * 1.5 and not visible:
        return replace(seen, seen=Seen.TRANSIENT)
    # The threshold: visible in the answers, else a bounded binary search.
    threshold = visible - 1 if visible else known_threshold
    if threshold is None:
        threshold = await _search_threshold(login, account, timeline, failures, params)
    scope = await _scope(login, account, timeline, threshold or failures, params)
    return replace(seen, seen=Seen.LOCKED, threshold=threshold, scope=scope)


async def _without_account(params: LockoutParams, login: Login, timeline: _Timeline) -> Measurement:
    ghost = f"shinsa-nobody-{secrets.token_hex(3)}"
    reacted = 0
    for i in range(1, params.max_attempts + 2):
        attempt = await login(_wrong(ghost))
        timeline.add("unknown user", "wrong", attempt)
        if not counts_as_failure(attempt) and (i == 1 or attempt.outcome is Outcome.ACCEPTED):
            what = f"a login of {ghost!r}, a user that does not exist,"
            what_ja = f"存在しないユーザー {ghost!r} のログイン"
            return Measurement(
                Seen.NOT_A_FAILURE, timeline, attempt=attempt, what=what, what_ja=what_ja
            )
        if attempt.outcome in (Outcome.LOCKED, Outcome.THROTTLED):
            reacted = i
            break
    delay = _delay_reaction(timeline)
    if reacted or delay:
        shown = timeline.rows[-1]["outcome"] if reacted else ""
        return Measurement(
            Seen.GHOST_REACTED, timeline, visible=reacted, shown=str(shown), delay=delay
        )
    return Measurement(Seen.GHOST_SILENT, timeline)


def counts_as_failure(attempt: Attempt) -> bool:
    """A wrong password is a failed login to count when it was refused, locked out or
    throttled; anything else shows no failure (see `_not_a_failure`)."""
    return attempt.outcome in _REFUSED


def _not_a_failure(attempt: Attempt, what: str, what_ja: str) -> tuple[Verdict, str, str]:
    """The verdict on a wrong password that was not a failed login (neither refused, locked
    out nor throttled). Accepted, the service authenticates nobody and a lockout means
    nothing there; neither, nothing shows that failures are being counted."""
    if attempt.outcome is Outcome.ACCEPTED:
        return (
            Verdict.NOT_APPLICABLE,
            f"{what} was accepted ({attempt.detail[:80]}): the service authenticates nobody, "
            "so there is no failed login to count and no account to lock.",
            f"{what_ja}が受け付けられた（{attempt.detail[:80]}）。このサービスは誰も認証して"
            "おらず、数えるべき失敗ログインもロックすべきアカウントもない。",
        )
    return (
        Verdict.INCONCLUSIVE,
        f"{what} was neither accepted nor refused ({attempt.outcome.value}: "
        f"{attempt.detail[:80]}): no failed login can be counted.",
        f"{what_ja}は受け付けられも拒否されもしなかった（{attempt.outcome.ja}: "
        f"{attempt.detail[:80]}）。失敗ログインとして数えられない。",
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
    slowed = _slowed(timeline)
    return f"answers slowed from {slowed[0]:.1f} s to {slowed[1]:.1f} s" if slowed else ""


def _delay_reaction_ja(timeline: _Timeline) -> str:
    """The same in Japanese."""
    slowed = _slowed(timeline)
    return f"応答が {slowed[0]:.1f} 秒から {slowed[1]:.1f} 秒に遅くなった" if slowed else ""


def _slowed(timeline: _Timeline) -> tuple[float, float] | None:
    """(first, last) answer time of a growing delay among the wrong passwords, or None."""
    latencies = timeline.wrong_latencies
    if len(latencies) < 3:
        return None
    first = statistics.median(latencies[:2])
    last = latencies[-1]
    if last >= first * DELAY_FACTOR and last - first >= DELAY_MIN_SECONDS:
        return first, last
    return None


#: the words a measurement keeps (outcome shown, reaction, scope), in Japanese
_WORDS_JA = {
    "locked": "ロック",
    "throttled": "制限",
    "lock": "ロック",
    "rate limit": "レート制限",
    "account": "アカウント単位",
    "source": "送信元単位",
}


def _ja(word: str) -> str:
    return _WORDS_JA.get(word, word)


def judge(about: ServiceResults, params: LockoutParams, m: Measurement) -> Result:
    """The verdict of one surface's measurement (pure: tests hand in measurements)."""
    where, where_ja = about.where, about.where_ja
    if m.seen is Seen.NO_LOGIN:
        elsewhere = m.why.startswith(("no login surface", "the login surface belongs"))
        verdict = Verdict.NOT_APPLICABLE if elsewhere else Verdict.INCONCLUSIVE
        return about.result(
            LOCKOUT,
            verdict,
            f"{where}: {m.why}.",
            reason_ja=f"{where_ja}: 認証ロックを測定できるログインがない（{m.why}）。",
        )

    def result(verdict: Verdict, reason: str, reason_ja: str, **facts: JSONValue) -> Result:
        details: dict[str, JSONValue] = dict(facts)
        details["timeline"] = list(m.timeline.rows[:200])
        evidence = Evidence(
            "timing",
            f"{len(m.timeline.rows)} login attempts",
            details,
            summary_ja=f"ログイン試行 {len(m.timeline.rows)} 回",
        )
        return about.result(
            LOCKOUT, verdict, f"{where}: {reason}", evidence, reason_ja=f"{where_ja}: {reason_ja}"
        )

    attempt = m.attempt or Attempt(Credential("", "", ""), Outcome.ERROR, "no attempt", 0.0)
    failures, duration = m.failures, m.duration or 0.0
    match m.seen:
        case Seen.NOT_A_FAILURE:
            return result(*_not_a_failure(attempt, m.what, m.what_ja or m.what))
        case Seen.ACCOUNT_REFUSED:
            return result(
                Verdict.INCONCLUSIVE,
                f"the account's own login did not work ({attempt.outcome.value}: "
                f"{attempt.detail[:80]}), so a lockout cannot be measured.",
                reason_ja=(
                    f"アカウント自身のログインが通らなかった（{attempt.outcome.ja}: "
                    f"{attempt.detail[:80]}）ため、認証ロックを測定できない。"
                ),
            )
        case Seen.THROTTLED:
            return result(
                Verdict.PASS,
                f"the device answered {m.shown} after "
                f"{m.visible - 1} failures; the right password worked again at once.",
                reaction="throttle",
                threshold=m.visible - 1,
                reason_ja=(
                    f"機器は {m.visible - 1} 回の失敗の後に「{_ja(m.shown)}」と応答し、"
                    "正しいパスワードはすぐにまた通った。"
                ),
            )
        case Seen.DELAYED:
            return result(
                Verdict.PASS,
                f"no lock after {failures} failures, but {m.delay}.",
                reaction="delay",
                reason_ja=(
                    f"{failures} 回失敗してもロックはなかったが、"
                    f"{_delay_reaction_ja(m.timeline) or m.delay}。"
                ),
            )
        case Seen.NO_REACTION:
            return result(
                Verdict.FAIL,
                f"{failures} wrong passwords in a row (taking {m.slow:.1f} s), then the right "
                "one was accepted: no lock that outlasted the last failure, no growing delay "
                f"and no rate limit within max_attempts ({params.max_attempts}).",
                reaction="none",
                reason_ja=(
                    f"誤ったパスワードを {failures} 回続けた（計 {m.slow:.1f} 秒）後、"
                    "正しいパスワードが受け付けられた。最後の失敗より長く続くロックも、"
                    f"増えていく遅延も、max_attempts（{params.max_attempts}）"
                    "以内のレート制限もない。"
                ),
            )
        case Seen.NEITHER:
            return result(
                Verdict.INCONCLUSIVE,
                f"after {failures} failures the right password ended in "
                f"{attempt.outcome.value} ({attempt.detail[:80]}): neither a lock nor a login.",
                reason_ja=(
                    f"{failures} 回の失敗の後、正しいパスワードは「{attempt.outcome.ja}」（"
                    f"{attempt.detail[:80]}）に終わった。ロックでもログインでもない。"
                ),
            )
        case Seen.LEFT_LOCKED:
            return result(
                Verdict.INCONCLUSIVE if m.reaction == "rate limit" else Verdict.PASS,
                f"locked after at most {failures} failures and still locked after "
                f"{params.max_wait_seconds:g} s: THE ACCOUNT {m.username!r} WAS LEFT LOCKED.",
                reaction=m.reaction,
                threshold=m.visible - 1 if m.visible else None,
                left_locked=True,
                reason_ja=(
                    f"最大 {failures} 回の失敗でロックされ、{params.max_wait_seconds:g} "
                    f"秒後もロックされたままだった。アカウント {m.username!r} "
                    "はロックされたまま残っている。"
                ),
            )
        case Seen.TRANSIENT:
            return result(
                Verdict.INCONCLUSIVE,
                f"the right password was refused once after {failures} failures, then "
                f"accepted {duration:.1f} s later: not told apart from a transient error.",
                reason_ja=(
                    f"{failures} 回の失敗の後、正しいパスワードは一度拒否され、{duration:.1f} "
                    "秒後に受け付けられた。一時的なエラーと区別できない。"
                ),
            )
        case Seen.LOCKED:
            threshold_text = f"at most {failures}" if m.threshold is None else str(m.threshold)
            threshold_ja = f"最大 {failures}" if m.threshold is None else str(m.threshold)
            verdict, why, why_ja = Verdict.PASS, "", ""
            if params.min_lock_seconds and duration < params.min_lock_seconds:
                verdict = Verdict.FAIL
                why = f"; shorter than min_lock_seconds ({params.min_lock_seconds:g} s)"
                why_ja = f"。min_lock_seconds（{params.min_lock_seconds:g} 秒）より短い"
            return result(
                verdict,
                f"{m.reaction} after {threshold_text} failures, per {m.scope}, lasting about "
                f"{duration:.1f} s{why}.",
                reaction=m.reaction,
                threshold=m.threshold,
                duration=round(duration, 1),
                scope=m.scope,
                reason_ja=(
                    f"{threshold_ja} 回の失敗で{_ja(m.reaction)}（{_ja(m.scope)}）、約 "
                    f"{duration:.1f} 秒続いた{why_ja}。"
                ),
            )
        case Seen.GHOST_REACTED:
            note = " (no valid account: only throttling can be judged; set test_account)"
            what = f"answered {m.shown}" if m.visible else m.delay
            what_ja = (
                f"「{_ja(m.shown)}」と応答した"
                if m.visible
                else (_delay_reaction_ja(m.timeline) or m.delay)
            )
            count = m.visible - 1 if m.visible else params.max_attempts + 1
            return result(
                Verdict.PASS,
                f"failed logins for a user that does not exist {what} after {count} "
                f"failures{note}.",
                reaction="throttle" if m.visible else "delay",
                reason_ja=(
                    f"存在しないユーザーへの失敗ログインは {count} 回の失敗の後に{what_ja}"
                    "（正しいアカウントがないため判定できるのはスロットリングだけ。test_account "
                    "を設定する）。"
                ),
            )
        case Seen.GHOST_SILENT:
            note = " (no valid account: only throttling can be judged; set test_account)"
            return result(
                Verdict.INCONCLUSIVE,
                f"{params.max_attempts + 1} failures for a user that does not exist drew no "
                f"visible reaction; an account lock cannot be judged without an account{note}.",
                reason_ja=(
                    f"存在しないユーザーへの {params.max_attempts + 1} "
                    "回の失敗に目に見える反応はなかった。"
                    "アカウントなしでは認証ロックを判定できない（test_account を設定する）。"
                ),
            )
    raise AssertionError(m.seen)  # every Seen is judged above
