"""Session expiry, measured after a login with a known credential (IEC 62443-4-2 CR 2.6,
CR 2.5, CR 2.7; NIST SP 800-171 3.1.11, 3.1.10, 3.13.9).

| check                     | parameter (0 = not required: skipped, nothing is waited for) |
|---------------------------|---------------------------------------------------------------|
| session.idle-timeout      | `max_idle_seconds`: an idle session must end by this          |
| session.absolute-timeout  | `max_session_seconds`: a busy session must end by this        |
| session.concurrent-limit  | `max_sessions`: at most this many sessions at once            |

(The MQTT keep-alive check, `session.mqtt-keepalive`, is its own family:
`probes/mqtt_session.py`.)

The limits are the profile's (the installation profile sets `max_idle_seconds: 300`);
the base profile sets none, so a plain scan waits for nothing and reports these checks
`skipped`: not run by choice, which keeps a requirement that needs them from looking
satisfied. A session is judged with `resolution_seconds` (default 10 % of the limit, at least
1 s): a session still open after `limit + resolution` fails; one that ended earlier passes,
and the evidence brackets when it ended (`lo < timeout ≤ hi`) with the whole timeline.

Web (form or JSON login): "alive" means a page that shows its content with the session and
something else without it (as `session.logout` measures it) still shows that content. The
idle timeout is measured in about one timeout window: k sessions are open at once and
session i makes its single check after t_i s idle (a check refreshes only that session), the
t_i spread over (0, limit + resolution] at the resolution; later rounds (at most
`MAX_ROUNDS` in all) split what is left of the bracket. Before that, all sessions are
checked right after their logins: a device that ended the older ones (one session at a
time, CR 2.7) is probed with one session per round, a bounded binary search; a round whose
timeline contradicts itself (dead after 2 s, alive after 5 s) means logins end sessions,
and the search falls back to one session per round too. The absolute timeout keeps one
session busy with a request every `interval` (shorter than the idle timeout found).

SSH and telnet shells: one shell idles until the device closes it (the close time is the
measurement; over SSH the connection must close too — OpenSSH's ChannelTimeout alone
closes the channel but keeps the login, and a new shell opens without a password); the
absolute timeout sends a keystroke every `interval`; the concurrent limit opens
`max_sessions + 1` shells. HTTP Basic/Digest has no session to end: not applicable.

The waits of one service run side by side, each in its own session: the concurrent check
first and alone (short; its extra logins would end, on a device that keeps few sessions,
the sessions the waits are timing, so its sessions are closed before the waits begin), then
the idle and the absolute measurements at the same time, so a service takes about the
longer of the two waits, not their sum. They share a device only when it showed it keeps
both sessions: a web service kept every session opened for the concurrent check and the
idle search plus one for the busy session; a shell service kept more than one shell in the
concurrent check (when it ran) and still has the idle shell open a moment (`SETTLE`) after
the busy shell's login. A device that ends the older session at a login, or refuses the
second, keeps one session at a time: the two run one after the other, which the job's
deadline allows for (`expiry_seconds`: the engine gives the job at least that, however
short its job_timeout). (A device that ended the older shell only seconds after a newer
login would still look like an idle timeout: nothing seen so far does that.) The busy
session then makes a request at least
every `MAX_BUSY_GAP` s (its idle time is not known yet); when the idle measurement shows
the device ends sessions idle for no longer than that gap, an end of the busy session
proves nothing and the absolute check is inconclusive.

A session that never ends fails with the time waited in the reason and the evidence
("still open after 330.0 s (limit 300 s)"): a device without any timeout is the commonest
failure, never an error or inconclusive.

Waiting costs the device nothing: permits are held while connecting and logging in, never
while a session idles, so the waits of every device and session run at the same time.
Never a pass without a session: no credential, a refused login or no page that needs the
session is inconclusive, with the reason. A service that authenticates nobody has no
authenticated session to end, so its checks are not applicable: an SSH or telnet service
that gives a random control login (a user that does not exist) a shell.

Layout: the checks and their parameters, the probe, the measurements (web, then shells),
then the pure judges that turn what was measured into verdicts (`judge_*`). The idle
search's arithmetic is `probes/_timing.py`; opening and watching shells
`probes/_session/shell.py`; opening web sessions and telling them alive
`probes/_session/web.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from probes._account import NO_CREDENTIAL, NO_CREDENTIAL_JA, known_credential
from probes._session.common import Gone
from probes._session.shell import (
    CONNECTION_GRACE,
    LOGIN_TIMEOUT,
    MAX_REOPENED_CHANNELS,
    Shell,
    open_ssh_shell,
    open_telnet_shell,
)
from probes._session.web import MAX_PAGES, LiveSession, WebSessions
from probes._timing import Observation, bracket, busy_interval, consistent, next_times
from scanner.credentials import Credential
from scanner.errors import ConfigError
from scanner.facts import LOGIN_SURFACES, VALID_CREDENTIALS
from scanner.model import Evidence, Verdict
from scanner.probe import Check, Params, Phase, Remedy, ServiceProbe, Severity
from scanner.redact import mask_url
from scanner.task_groups import all_of

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from scanner.model import JSONValue, Result, Service
    from scanner.probe import ProbeContext

#: Sessions one round keeps open at once (devices are small).
MAX_PARALLEL = 12
#: Rounds of the idle search, the first included.
MAX_ROUNDS = 4
#: After opening the shells of the concurrent check: time for the device to end extra ones.
SETTLE = 1.0
#: The largest limit a profile may set (an hour): with it, the worst case of one job (see
#: `expiry_seconds`) stays under the engine's ceiling for a declared deadline.
MAX_LIMIT_SECONDS = 3600.0
#: Margin of one job beyond its waits and logins: hang-ups (2 s each) and scheduling.
JOB_MARGIN = 30.0


def _seconds(value: object, name: str, *, high: float = MAX_LIMIT_SECONDS) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= high:
        raise ConfigError(f"{name} must be a number of seconds 0-{high:g}, got {value!r}")
    return float(value)


def _resolution(limit: float, given: float) -> float:
    return given or max(1.0, round(limit * 0.1, 3))


@dataclass(frozen=True, slots=True)
class IdleParams(Params):
    """`session.idle-timeout`: 0 = the profile does not require one (skipped)."""

    max_idle_seconds: float = 0.0
    resolution_seconds: float = 0.0  # 0: 10 % of max_idle_seconds, at least 1 s
    max_wait_seconds: float = 0.0  # 0: max_idle + resolution, the wait a verdict needs

    def __post_init__(self) -> None:
        _seconds(self.max_idle_seconds, "max_idle_seconds")
        _seconds(self.resolution_seconds, "resolution_seconds")
        _seconds(self.max_wait_seconds, "max_wait_seconds")

    @property
    def resolution(self) -> float:
        return _resolution(self.max_idle_seconds, self.resolution_seconds)

    @property
    def top(self) -> float:
        """The longest idle time checked: the limit plus the resolution, or the wait bound."""
        full = self.max_idle_seconds + self.resolution
        return min(full, self.max_wait_seconds) if self.max_wait_seconds else full


@dataclass(frozen=True, slots=True)
class AbsoluteParams(Params):
    """`session.absolute-timeout`: 0 = the profile does not require one (skipped)."""

    max_session_seconds: float = 0.0
    resolution_seconds: float = 0.0  # 0: 10 % of max_session_seconds, at least 1 s

    def __post_init__(self) -> None:
        _seconds(self.max_session_seconds, "max_session_seconds")
        _seconds(self.resolution_seconds, "resolution_seconds")

    @property
    def resolution(self) -> float:
        return _resolution(self.max_session_seconds, self.resolution_seconds)

    @property
    def top(self) -> float:
        return self.max_session_seconds + self.resolution


@dataclass(frozen=True, slots=True)
class ConcurrentParams(Params):
    """`session.concurrent-limit`: 0 = the profile sets no limit (skipped)."""

    max_sessions: int = 0

    def __post_init__(self) -> None:
        value: object = self.max_sessions  # from YAML: anything
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < MAX_PARALLEL:
            raise ConfigError(f"max_sessions must be an integer 0-{MAX_PARALLEL - 1}")


#: the web's idle-timeout remedy, the same for HTTP and HTTPS
_WEB_IDLE_REMEDY = Remedy(
    en=(
        "Expire a web session on the device once it has been idle for the profile's limit "
        "(max_idle_seconds), discard it and require a new login."
    ),
    ja=(
        "認証済みのWebセッションがプロファイルの上限時間（max_idle_seconds）以上アイドル状態に"
        "あれば、機器側でセッションタイムアウトとしてセッションを破棄し、ログアウトする。"
    ),
)
IDLE = Check(
    id="session.idle-timeout",
    title="An idle session outlives the profile's limit",
    title_ja="アイドル状態のセッションがプロファイルの上限時間を過ぎても終了しない",
    method=(
        "Logs in with a known credential and lets sessions idle: web sessions are opened "
        "k at a time and each checks a page that needs the session once, after its own "
        "idle time spread over (0, max_idle + resolution]; an SSH or telnet shell idles "
        "until the device closes it. Still open after max_idle + resolution fails."
    ),
    method_ja=(
        "既知の認証情報でログインし、セッションをアイドル状態に置く。"
        "Webセッションは一度にk個ずつ開き、各セッションは(0, max_idle + "
        "resolution]の範囲に分散させたそれぞれのアイドル時間の後に、"
        "セッションが必要なページを1回だけ確認する。SSHやTelnetのシェルは機器が切断するまで"
        "アイドル状態にしておく。max_idle + resolutionを過ぎても有効なままなら不合格とする"
        "（セッション管理）。"
    ),
    params=IdleParams,
    severity=Severity.MEDIUM,
    severity_reason=(
        "A session left unattended stays usable by whoever reaches the screen or the "
        "session's token."
    ),
    severity_reason_ja=(
        "放置されたセッションは、その画面やセッションのトークンに触れた者なら誰でも使える状態のまま"
        "残る。"
    ),
    kind="session_expiry",
    remediation=Remedy(
        en=(
            "End an authenticated session once it has been idle for the profile's limit "
            "(max_idle_seconds) and require a new login."
        ),
        ja=(
            "認証済みのセッションがプロファイルの上限時間（max_idle_seconds）以上アイドル状態に"
            "あればセッションタイムアウトとし、セッションを破棄しログアウトする。"
        ),
    ),
    remedies=(
        ("http", _WEB_IDLE_REMEDY),
        ("https", _WEB_IDLE_REMEDY),
        (
            "ssh",
            Remedy(
                en=(
                    "Close an SSH session idle for the profile's limit (max_idle_seconds), in "
                    "the SSH server or the login shell, and require a new login."
                ),
                ja=(
                    "プロファイルの上限時間（max_idle_seconds）以上アイドル状態のSSHセッションを、"
                    "SSHサーバまたはログインシェルの設定で切断し、再ログインを求める。"
                ),
            ),
        ),
        (
            "telnet",
            Remedy(
                en=(
                    "Close a Telnet session idle for the profile's limit (max_idle_seconds) and "
                    "require a new login."
                ),
                ja=(
                    "プロファイルの上限時間（max_idle_seconds）以上アイドル状態のTelnetセッションを"
                    "切断し、再ログインを求める。"
                ),
            ),
        ),
    ),
    references=("CWE-613", "NIST SP 800-53 AC-12"),
)
ABSOLUTE = Check(
    id="session.absolute-timeout",
    title="A session in constant use outlives the profile's limit",
    title_ja="使用中のセッションがプロファイルの最大時間を過ぎても終了しない",
    method=(
        "Keeps one session busy (a request or keystroke at short intervals) and fails when "
        "it is still open max_session_seconds + resolution after the login."
    ),
    method_ja=(
        "1つのセッションを使用中の状態に保ち（短い間隔で要求やキー入力を送る）、"
        "ログインからmax_session_seconds + resolutionが過ぎても有効なままなら不合格とする。"
    ),
    params=AbsoluteParams,
    severity=Severity.MEDIUM,
    severity_reason=(
        "A stolen session token or a hijacked shell stays usable for as long as it is kept busy."
    ),
    severity_reason_ja=(
        "盗まれたセッションのトークンや乗っ取られたシェルが、使われ続ける限りいつまでも"
        "有効なままになる。"
    ),
    kind="session_expiry",
    remediation=Remedy(
        en=(
            "End every authenticated session after the profile's maximum duration "
            "(max_session_seconds), however active it is, and require a new login."
        ),
        ja=(
            "認証済みのセッションは、操作が続いていてもプロファイルの最大時間"
            "（max_session_seconds）で終了させ、再ログインを求める。"
        ),
    ),
    references=("CWE-613", "NIST SP 800-53 AC-12"),
)
CONCURRENT = Check(
    id="session.concurrent-limit",
    title="More sessions at once than the profile allows",
    title_ja="プロファイルの上限を超える数のセッションを同時に開ける",
    method=(
        "Opens max_sessions + 1 sessions for one account one after another, then checks "
        "them all: more than max_sessions still open fails. A login refused, or an older "
        "session ended by a newer login, shows the limit."
    ),
    method_ja=(
        "1つのアカウントでmax_sessions + 1個のセッションを順に開いた後、すべてを確認する。"
        "max_sessionsを超える数のセッションが有効なままなら不合格とする。ログインが拒否されるか、"
        "新しいログインで古いセッションが終了すれば、上限があることを示す。"
    ),
    params=ConcurrentParams,
    severity=Severity.LOW,
    severity_reason=(
        "A second user of a stolen login goes unnoticed beside the owner; no way in by itself."
    ),
    severity_reason_ja=(
        "盗まれたログイン情報を使う第二の利用者が、正規の利用者と並んで気付かれない。"
        "それだけでは侵入口にならない。"
    ),
    kind="concurrent_sessions",
    remediation=Remedy(
        en=(
            "Limit the sessions open at once per account and interface to the profile's maximum "
            "(max_sessions): refuse a further login or end the oldest session."
        ),
        ja=(
            "アカウント・インタフェースごとの同時セッション数をプロファイルの上限（max_sessions）"
            "までに制限し、超えるログインは拒否するか最も古いセッションを終了する。"
        ),
    ),
    references=("NIST SP 800-53 AC-10",),
)


def expiry_seconds(
    idle: IdleParams,
    absolute: AbsoluteParams,
    concurrent: ConcurrentParams,
    *,
    web: bool,
    request_seconds: float,
) -> float:
    """The longest one service's measurements may take: the job's deadline.

    Every wanted measurement one after another, each login bounded by `LOGIN_TIMEOUT`:
    what a device that keeps one session at a time needs (side by side they take about the
    longest wait). Web: the first login and the search for a page that needs the session
    (two requests a candidate), up to `MAX_PARALLEL` logins checked twice, then at most
    `MAX_ROUNDS` idle rounds, each at most `top` long plus a request, the later ones with
    up to `MAX_PARALLEL` fresh logins; then the busy session. Shells: the control login,
    the concurrent check's logins, the idle shell (its channel reopened at most
    `MAX_REOPENED_CHANNELS` times), the busy shell. `request_seconds`: one web request,
    redirects included. 0 when the profile asks for nothing."""
    if not (idle.max_idle_seconds or absolute.max_session_seconds or concurrent.max_sessions):
        return 0.0
    login = LOGIN_TIMEOUT
    total = JOB_MARGIN + login  # the control login (shells) or the first login (web)
    if web:
        total += 2 * MAX_PAGES * request_seconds + MAX_PARALLEL * login + 2 * request_seconds
        if idle.max_idle_seconds:
            total += MAX_ROUNDS * (idle.top + request_seconds)
            total += (MAX_ROUNDS - 1) * MAX_PARALLEL * login
        if absolute.max_session_seconds:
            total += login + absolute.top + 2 * request_seconds
        return total
    if concurrent.max_sessions:
        total += (concurrent.max_sessions + 1) * login + SETTLE
    total += SETTLE  # whether the device keeps the idle and the busy shell at once
    if idle.max_idle_seconds:
        total += login + idle.top + CONNECTION_GRACE * (MAX_REOPENED_CHANNELS + 1)
    if absolute.max_session_seconds:
        total += login + absolute.top + login  # the last keystroke
    return total


@dataclass(frozen=True, slots=True)
class Judgement:
    """What a judge made of a measurement: the verdict, why, and the facts behind it."""

    verdict: Verdict
    reason: str
    details: dict[str, JSONValue] | None = None
    reason_ja: str = ""  # the reason in Japanese, with the same numbers


@dataclass(slots=True)
class _Report:
    """The results of one service, built as the measurements land."""

    ctx: ProbeContext
    service: Service
    where: str
    where_ja: str
    results: dict[str, Result] = field(default_factory=dict)
    #: how the idle and absolute waits ran (side by side, or one after the other and why)
    schedule: str = ""

    def add(
        self,
        check: Check,
        verdict: Verdict,
        reason: str,
        details: dict[str, JSONValue] | None = None,
        *,
        reason_ja: str,
    ) -> None:
        if details and self.schedule and check in (IDLE, ABSOLUTE):
            details = {**details, "schedule": self.schedule}
        evidence = (
            (
                Evidence(
                    "session_expiry",
                    check.title,
                    details,
                    summary_ja=f"セッションの有効期限の測定（{check.id}）",
                ),
            )
            if details
            else ()
        )
        self.results[check.id] = self.ctx.result(
            check,
            verdict,
            f"{self.where}: {reason}",
            *evidence,
            service=self.service,
            reason_ja=f"{self.where_ja}: {reason_ja}",
        )

    def judged(self, check: Check, judgement: Judgement) -> None:
        self.add(
            check,
            judgement.verdict,
            judgement.reason,
            judgement.details,
            reason_ja=judgement.reason_ja,
        )

    def all(
        self, checks: Sequence[Check], verdict: Verdict, reason: str, *, reason_ja: str
    ) -> None:
        for check in checks:
            if check.id not in self.results:
                self.add(check, verdict, reason, reason_ja=reason_ja)


class SessionExpiry(ServiceProbe):
    """Idle and absolute timeouts and the concurrent-session limit of a login's sessions."""

    checks = (IDLE, ABSOLUTE, CONCURRENT)
    protocols = frozenset({"http", "https", "ssh", "telnet"})
    # after the web session checks; a JavaScript app's recorded login when there is one
    phase = Phase.MEASURE  # after the web session checks: their logins never overlap
    uses = frozenset({VALID_CREDENTIALS, LOGIN_SURFACES})

    def time_needed(self, ctx: ProbeContext, service: Service | None) -> float:
        web = service is None or service.protocol in ("http", "https")
        return expiry_seconds(
            ctx.params(IDLE, IdleParams),
            ctx.params(ABSOLUTE, AbsoluteParams),
            ctx.params(CONCURRENT, ConcurrentParams),
            web=web,
            # a request and a redirect or two, each with its own read timeout
            request_seconds=ctx.net.limits.connect_timeout + 3 * ctx.net.limits.read_timeout,
        )

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        idle = ctx.params(IDLE, IdleParams)
        absolute = ctx.params(ABSOLUTE, AbsoluteParams)
        concurrent = ctx.params(CONCURRENT, ConcurrentParams)
        report = _Report(ctx, service, ctx.about(service).where, ctx.about(service).where_ja)
        unset = {
            IDLE: "max_idle_seconds" if not idle.max_idle_seconds else "",
            ABSOLUTE: "max_session_seconds" if not absolute.max_session_seconds else "",
            CONCURRENT: "max_sessions" if not concurrent.max_sessions else "",
        }
        for check, name in unset.items():
            if name:
                report.add(
                    check,
                    Verdict.SKIPPED,
                    f"the profile sets no {name}, so nothing was measured (it is judged "
                    "against the profile's limit, e.g. an installation profile's).",
                    reason_ja=(
                        f"プロファイルが {name} を設定していないため、測定しなかった"
                        "（プロファイルの上限、たとえば設置環境のプロファイルの上限に照らして判定"
                        "する）。"
                    ),
                )
        wanted = [c for c in self.checks if c.id not in report.results]
        if not wanted:
            return list(report.results.values())
        credential = known_credential(ctx, service)
        if service.protocol in ("http", "https"):
            web = WebSessions(ctx, service, credential)
            try:
                await _web_checks(report, web, wanted, idle, absolute, concurrent)
            finally:
                await web.aclose()
        else:
            opener = open_ssh_shell if service.protocol == "ssh" else open_telnet_shell
            counter = iter(range(1, 1000))

            async def open_as(who: Credential) -> Shell:
                return await opener(ctx.net, service, who, next(counter))

            nobody = await _accepts_anyone(open_as, service.protocol)
            if nobody:
                report.all(wanted, Verdict.NOT_APPLICABLE, nobody[0], reason_ja=nobody[1])
            elif credential is None:
                report.all(
                    wanted,
                    Verdict.INCONCLUSIVE,
                    f"{NO_CREDENTIAL}.",
                    reason_ja=f"{NO_CREDENTIAL_JA}。",
                )
            else:
                account = credential

                async def open_shell() -> Shell:
                    return await open_as(account)

                await _shell_checks(report, open_shell, wanted, idle, absolute, concurrent)
        return [report.results[c.id] for c in self.checks]


# --- measuring ------------------------------------------------------------------------


async def _accepts_anyone(
    open_as: Callable[[Credential], Awaitable[Shell]], what: str
) -> tuple[str, str] | None:
    """Why the service authenticates nobody, in English and Japanese (None when it refused
    a random control login, or
    the control could not be judged): a shell for a user that does not exist, or without
    any login, is no authenticated session to end."""
    control = Credential(
        f"shinsa-nobody-{secrets.token_hex(4)}", secrets.token_urlsafe(12), "control"
    )
    try:
        shell = await open_as(control)
    except Gone:
        return None
    await shell.aclose()
    return (
        f"the {what} service gave a random control login (user {control.username!r}, "
        "which does not exist) a shell: it authenticates nobody, so there is no "
        "authenticated session to end.",
        f"{what} サービスは無作為な対照ログイン（存在しないユーザー {control.username!r}）に"
        "シェルを与えた。誰も認証していないため、終わらせるべき認証済みセッションがない。",
    )


# --- web --------------------------------------------------------------------------------


async def _web_checks(
    report: _Report,
    web: WebSessions,
    wanted: list[Check],
    idle: IdleParams,
    absolute: AbsoluteParams,
    concurrent: ConcurrentParams,
) -> None:
    try:
        first = await web.open()
    except Gone as exc:
        verdict = Verdict.INCONCLUSIVE if exc.surface else Verdict.NOT_APPLICABLE
        report.all(
            wanted,
            verdict,
            f"{exc}.",
            reason_ja=f"セッションを開けなかった: {exc}。",
        )
        return
    if first.session.kind == "auth":
        report.all(
            wanted,
            Verdict.NOT_APPLICABLE,
            "HTTP authentication has no session to end: the browser resends the credential.",
            reason_ja="HTTP 認証には終わらせるべきセッションがない。ブラウザが資格情報を送り直す。",
        )
        return
    missing = await web.find_page(first.session, first.client)
    if missing:
        report.all(
            wanted,
            Verdict.INCONCLUSIVE,
            f"{missing}, so no session can be judged.",
            reason_ja=f"{missing}。そのためセッションを判定できない。",
        )
        return
    first.ref = time.monotonic()
    planned = len(next_times(0.0, None, idle.top, MAX_PARALLEL, idle.resolution))
    both = IDLE in wanted and ABSOLUTE in wanted
    # One more session than the idle search and the concurrent check need: the busy one.
    n = max(2, planned if IDLE in wanted else 0, concurrent.max_sessions + 1) + both
    held, opened, refused = await _open_many(web, first, min(n, MAX_PARALLEL))
    details: dict[str, JSONValue] = {
        "page": mask_url(web.url),
        "opened": opened,
        "alive_after_all_logins": len(held),
    }
    if refused:
        details["refused"] = refused
    if CONCURRENT in wanted:
        report.judged(
            CONCURRENT,
            judge_concurrent(concurrent.max_sessions, len(held), opened, refused, details),
        )
    if not held:
        report.all(
            wanted,
            Verdict.INCONCLUSIVE,
            "no session was still open right after the logins, so none can be judged.",
            reason_ja="ログインの直後に開いたままのセッションがなく、判定できない。",
        )
        return
    single = len(held) == 1
    if both and len(held) >= 2 and len(held) == opened and not refused:
        # The device kept every session opened: the busy one is one of them, and the idle
        # search's later logins only replace sessions that ended.
        report.schedule = "side by side with the other wait, each in its own session"
        busy = held.pop()
        interval = busy_interval(absolute.resolution, idle.max_idle_seconds)
        # A TaskGroup, not gather: a wait that raises ends the other one too.
        async with asyncio.TaskGroup() as tg:
            searched = tg.create_task(_web_idle(report, web, held, idle, details, single=single))
            tg.create_task(_web_busy(report, web, busy, absolute, interval))
        _check_busy_gap(report, interval, searched.result())
        return
    if both:
        report.schedule = (
            "one after the other: the device did not keep every session opened at once"
        )
    idle_lo: float | None = None
    if IDLE in wanted:
        idle_lo = await _web_idle(report, web, held, idle, details, single=single)
    if ABSOLUTE in wanted:
        await _web_absolute(report, web, absolute, idle_lo)


async def _open_many(
    web: WebSessions, first: LiveSession, n: int
) -> tuple[list[LiveSession], int, str]:
    """n sessions, one login after another, then each checked at once: those still alive,
    how many were opened, and why a login was refused (a limit may refuse it). Two come
    first: when the second login ended the first, the device keeps one at a time."""
    sessions = [first]
    refused = ""
    held: list[LiveSession] = []
    for stage in (2, n):
        while len(sessions) < stage:
            try:
                sessions.append(await web.open())
            except Gone as exc:
                refused = str(exc)
                break
        checks = await all_of(*(web.alive(s) for s in sessions))
        held = []
        for session, alive in zip(sessions, checks, strict=True):
            if alive is True:
                held.append(session)
            else:
                await web.drop(session)
        if len(held) < len(sessions) or refused:
            break
        sessions = list(held)
    return held, web.opened, refused


async def _web_idle(
    report: _Report,
    web: WebSessions,
    held: list[LiveSession],
    params: IdleParams,
    details: dict[str, JSONValue],
    *,
    single: bool,
) -> float | None:
    """The idle search; returns the longest idle time a session was seen to survive.
    `single`: the device kept only one session of those opened at once."""
    parallel = len(held)
    pool = list(held)
    observations: list[Observation] = []
    discarded: list[Observation] = []
    errors: list[str] = []
    notes: list[str] = []
    if single:
        notes.append("the device keeps one session at a time: one session per round")
    rounds = 0
    while rounds < MAX_ROUNDS:
        lo, hi = bracket(observations)
        if any(o.alive and o.planned >= params.top for o in observations):
            break
        times = next_times(lo, hi, params.top, parallel, params.resolution)
        if not times:
            break
        rounds += 1
        seen = await _web_round(web, pool, times, errors)
        if seen is None:
            break
        if parallel > 1 and not consistent(seen):
            # Sessions ended by the logins of this round, not by idling: one at a time.
            notes.append(f"round {rounds} contradicted itself: continuing one session a round")
            discarded += seen
            parallel = 1
            pool = pool[-1:]
            continue
        observations += seen
    report.judged(
        IDLE,
        judge_web_idle(
            params,
            observations,
            mask_url(web.url),
            details,
            rounds=rounds,
            discarded=discarded,
            notes=notes,
            errors=errors,
        ),
    )
    lo, hi = bracket(observations)
    survived = any(o.alive and o.planned >= params.top for o in observations)
    return lo if survived or hi is not None else None


async def _web_round(
    web: WebSessions, pool: list[LiveSession], times: list[float], errors: list[str]
) -> list[Observation] | None:
    """One round: session i checks once after times[i] s idle. The pool keeps the sessions
    seen alive (their idle clock restarts at the check); dead ones are replaced by logins."""
    while len(pool) < len(times):
        try:
            pool.append(await web.open())
        except Gone as exc:
            errors.append(str(exc))
            if not pool:
                return None
            times = times[-len(pool) :]
            break
    # The longest wait goes to the session whose clock started first.
    sessions = sorted(pool[: len(times)], key=lambda s: s.ref)
    plan = list(zip(sessions, sorted(times, reverse=True), strict=False))

    async def one(session: LiveSession, after: float) -> Observation | None:
        await asyncio.sleep(max(0.0, session.ref + after - time.monotonic()))
        idle = time.monotonic() - session.ref
        alive = await web.alive(session)
        if isinstance(alive, str):
            errors.append(alive)
            return None
        return Observation(session.number, after, idle, alive)

    seen = await all_of(*(one(s, t) for s, t in plan))
    for session, observation in zip(sessions, seen, strict=True):
        if observation is None or not observation.alive:
            pool.remove(session)
            await web.drop(session)
    return [o for o in seen if o is not None]


async def _web_absolute(
    report: _Report, web: WebSessions, params: AbsoluteParams, idle_lo: float | None
) -> None:
    """The busy test on its own, after the others: a fresh login, the others closed."""
    await web.aclose()  # a fresh login: a one-session device ends the others anyway
    try:
        session = await web.open()
    except Gone as exc:
        report.add(
            ABSOLUTE,
            Verdict.INCONCLUSIVE,
            f"no session for the busy test: {exc}.",
            reason_ja=f"操作を続ける検査のためのセッションがない: {exc}。",
        )
        return
    await _web_busy(report, web, session, params, busy_interval(params.resolution, idle_lo))


async def _web_busy(
    report: _Report, web: WebSessions, session: LiveSession, params: AbsoluteParams, interval: float
) -> None:
    """Keeps `session` busy, a request every `interval`, until it ends or `top` passed."""
    rows: list[JSONValue] = []
    last_alive = 0.0
    while True:
        age = time.monotonic() - session.login
        wait = min(interval, max(0.0, params.top - age))
        await asyncio.sleep(wait)
        age = time.monotonic() - session.login
        alive = await web.alive(session)
        rows.append({"age": round(age, 2), "alive": alive})
        if isinstance(alive, str):
            report.add(
                ABSOLUTE,
                Verdict.ERROR,
                f"a request failed: {alive}.",
                {"timeline": rows},
                reason_ja=f"要求が失敗した: {alive}。",
            )
            return
        if not alive:
            break
        last_alive = age
        if age >= params.top:
            break
    report.judged(ABSOLUTE, judge_absolute(params, interval, rows, last_alive, alive, age))


# --- shells -----------------------------------------------------------------------------


async def _shell_checks(
    report: _Report,
    open_shell: Callable[[], Awaitable[Shell]],
    wanted: list[Check],
    idle: IdleParams,
    absolute: AbsoluteParams,
    concurrent: ConcurrentParams,
) -> None:
    kept: int | None = None  # shells the device kept at once, when the concurrent check ran
    if CONCURRENT in wanted:
        # First and alone: its extra logins could end the shells the waits time.
        kept = await _shell_concurrent(report, open_shell, concurrent.max_sessions)
    if IDLE in wanted and ABSOLUTE in wanted:
        await _shell_waits(report, open_shell, idle, absolute, single=kept == 1)
    elif IDLE in wanted:
        shell = await _open_for(report, IDLE, open_shell)
        if shell is not None:
            await _shell_idle(report, shell, idle)
    elif ABSOLUTE in wanted:
        shell = await _open_for(report, ABSOLUTE, open_shell)
        if shell is not None:
            await _shell_absolute(report, shell, absolute, busy_interval(absolute.resolution, None))


async def _open_for(
    report: _Report, check: Check, open_shell: Callable[[], Awaitable[Shell]]
) -> Shell | None:
    try:
        return await open_shell()
    except Gone as exc:
        report.add(
            check,
            Verdict.INCONCLUSIVE,
            f"no shell for this measurement: {exc}.",
            reason_ja=f"この測定のためのシェルがない: {exc}。",
        )
        return None


async def _shell_waits(
    report: _Report,
    open_shell: Callable[[], Awaitable[Shell]],
    idle: IdleParams,
    absolute: AbsoluteParams,
    *,
    single: bool,
) -> None:
    """The idle and the absolute measurement side by side, each in its own shell; one after
    the other when the device keeps one session at a time (`single`: the concurrent check
    saw it)."""
    if single:
        report.schedule = "one after the other: the device kept one shell at a time"
        await _shell_one_by_one(report, open_shell, idle, absolute)
        return
    idle_shell = await _open_for(report, IDLE, open_shell)
    if idle_shell is None:
        busy = await _open_for(report, ABSOLUTE, open_shell)
        if busy is not None:
            await _shell_absolute(report, busy, absolute, busy_interval(absolute.resolution, None))
        return
    try:
        busy_shell: Shell | None = await open_shell()
    except Gone:
        busy_shell = None  # refused while the idle shell is open: a limit of one
    if busy_shell is not None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SETTLE):
                await idle_shell.closed.wait()
    if busy_shell is not None and not idle_shell.closed.is_set():
        interval = busy_interval(absolute.resolution, idle.max_idle_seconds)
        report.schedule = "side by side with the other wait, each in its own shell"
        try:
            async with asyncio.TaskGroup() as tg:  # a wait that raises ends the other one too
                idled = tg.create_task(_shell_idle(report, idle_shell, idle))
                tg.create_task(_shell_absolute(report, busy_shell, absolute, interval))
        finally:
            await idle_shell.aclose()  # (each wait closes its own; this, if it never began)
            await busy_shell.aclose()
        _check_busy_gap(report, interval, idled.result())
        return
    # One session at a time: the second login ended the first, or was refused.
    report.schedule = "one after the other: the device kept one shell at a time"
    await idle_shell.aclose()
    if busy_shell is not None:
        await busy_shell.aclose()
    await _shell_one_by_one(report, open_shell, idle, absolute)


async def _shell_one_by_one(
    report: _Report,
    open_shell: Callable[[], Awaitable[Shell]],
    idle: IdleParams,
    absolute: AbsoluteParams,
) -> None:
    shell = await _open_for(report, IDLE, open_shell)
    ended = await _shell_idle(report, shell, idle) if shell is not None else None
    busy = await _open_for(report, ABSOLUTE, open_shell)
    if busy is not None:
        await _shell_absolute(report, busy, absolute, busy_interval(absolute.resolution, ended))


async def _shell_concurrent(
    report: _Report, open_shell: Callable[[], Awaitable[Shell]], limit: int
) -> int | None:
    """Opens limit + 1 shells and judges how many stayed open; that number, None when none
    could be opened."""
    shells: list[Shell] = []
    refused = ""
    try:
        for _ in range(limit + 1):
            try:
                shells.append(await open_shell())
            except Gone as exc:
                refused = str(exc)
                break
        if not shells:
            report.add(
                CONCURRENT,
                Verdict.INCONCLUSIVE,
                f"no shell could be opened: {refused}.",
                reason_ja=f"シェルを1つも開けなかった: {refused}。",
            )
            return None
        await asyncio.sleep(SETTLE)
        held = sum(not s.closed.is_set() for s in shells)
        details: dict[str, JSONValue] = {"opened": len(shells), "alive_after_all_logins": held}
        if refused:
            details["refused"] = refused
        report.judged(CONCURRENT, judge_concurrent(limit, held, len(shells), refused, details))
        return held
    finally:
        for shell in shells:
            await shell.aclose()


async def _shell_idle(report: _Report, shell: Shell, params: IdleParams) -> float | None:
    """Lets `shell` idle until the device closes it or `top` passed; how long it lived."""
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, shell.opened + params.top - time.monotonic())):
                await shell.closed.wait()
        waited = time.monotonic() - shell.opened
    finally:
        await shell.aclose()
    ended = None if shell.closed_at is None else shell.closed_at - shell.opened
    report.judged(IDLE, judge_shell_idle(params, ended, waited, shell.reopened))
    return waited if ended is None or ended > params.top else ended


async def _shell_absolute(
    report: _Report, shell: Shell, params: AbsoluteParams, interval: float
) -> None:
    """Keeps `shell` busy, a keystroke every `interval`, until it ends or `top` passed."""
    rows: list[JSONValue] = []
    last_alive = 0.0
    try:
        while not shell.closed.is_set():
            age = time.monotonic() - shell.opened
            if age >= params.top:
                break
            with contextlib.suppress(Exception):
                async with asyncio.timeout(LOGIN_TIMEOUT):
                    await shell.send()
            last_alive = age
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(interval, params.top - age)):
                    await shell.closed.wait()
        age = (shell.closed_at or time.monotonic()) - shell.opened
        rows.append({"keystrokes_every": interval, "age": round(age, 2)})
    finally:
        await shell.aclose()
    alive = shell.closed_at is None
    report.judged(ABSOLUTE, judge_absolute(params, interval, rows, last_alive, alive, age))


def _check_busy_gap(report: _Report, interval: float, idle_end: float | None) -> None:
    """A busy session that ended proves an absolute limit only if its requests came more
    often than the device's idle timeout: else it may have idled out."""
    result = report.results.get(ABSOLUTE.id)
    if result is None or result.verdict is not Verdict.PASS:
        return
    details: dict[str, JSONValue] = {}
    for evidence in result.evidence:
        details.update(evidence.details)
    judgement = judge_busy_gap(details, interval, idle_end)
    if judgement is not None:
        report.judged(ABSOLUTE, judgement)


# --- judging, pure ---------------------------------------------------------------------


def judge_concurrent(
    limit: int,
    held: int,
    opened: int,
    refused: str,
    details: dict[str, JSONValue],
) -> Judgement:
    """The concurrent limit's verdict: `held` of `opened` sessions open at once after the
    logins, `refused` why a login was refused ("" if none was)."""
    facts = dict(details)
    if held > limit:
        verdict, why = Verdict.FAIL, f"{held} sessions of one account were open at once"
        why_ja = f"1つのアカウントのセッションが同時に {held} 個開いていた"
    elif held < opened:
        verdict, why = Verdict.PASS, f"after {opened} logins only {held} session(s) stayed open"
        why_ja = f"{opened} 回ログインした後、開いたままのセッションは {held} 個だけだった"
    elif refused:
        verdict = Verdict.PASS
        why = f"with {opened} session(s) open the next login was refused ({refused})"
        why_ja = f"セッションを {opened} 個開いた状態で次のログインが拒否された（{refused}）"
    else:
        verdict, why = Verdict.INCONCLUSIVE, f"only {opened} session(s) were opened"
        why_ja = f"開けたセッションは {opened} 個だけだった"
    return Judgement(
        verdict,
        f"{why} (limit {limit}).",
        facts,
        reason_ja=f"{why_ja}（上限 {limit}）。",
    )


def judge_web_idle(
    params: IdleParams,
    observations: Sequence[Observation],
    page: str,
    details: dict[str, JSONValue],
    *,
    rounds: int,
    discarded: Sequence[Observation] = (),
    notes: Sequence[str] = (),
    errors: Sequence[str] = (),
) -> Judgement:
    """The idle search's verdict from its observations; `page` (masked) the page that
    needs the session, `details` the facts of the logins before it."""
    lo, hi = bracket(observations)
    timeline: list[JSONValue] = [o.row() for o in sorted(observations, key=lambda o: o.idle)]
    facts: dict[str, JSONValue] = {
        **details,
        "timeline": timeline,
        "rounds": rounds,
        "max_idle_seconds": params.max_idle_seconds,
        "resolution_seconds": params.resolution,
    }
    if discarded:
        facts["discarded"] = [o.row() for o in discarded]
    if notes:
        facts["notes"] = list(notes)
    if errors:
        facts["errors"] = list(errors[:5])
    survived = [o for o in observations if o.alive and o.planned >= params.top]
    if survived:
        waited = max(o.idle for o in survived)
        return _idle_survived(
            params,
            f"a session idle for {waited:.1f} s still opened {page}",
            f"a session idle for {waited:.1f} s (max_wait_seconds) was still open",
            facts,
            f"{waited:.1f} 秒アイドル状態だったセッションでまだ {page} が開けた",
            f"{waited:.1f} 秒（max_wait_seconds）アイドル状態だったセッションがまだ開いていた",
        )
    if hi is None:
        why = f": {errors[0]}" if errors else ""
        why_ja = f": {errors[0]}" if errors else ""
        verdict = Verdict.ERROR if errors else Verdict.INCONCLUSIVE
        return Judgement(
            verdict,
            f"no idle session could be judged{why}.",
            facts,
            reason_ja=f"アイドル状態のセッションを判定できなかった{why_ja}。",
        )
    facts["ended_after"] = {"more_than": round(lo, 2), "at_most": round(hi, 2)}
    coarse = "" if hi - lo <= params.resolution + 0.05 else " (coarser than the resolution)"
    coarse_ja = "" if hi - lo <= params.resolution + 0.05 else "（分解能より粗い）"
    return Judgement(
        Verdict.PASS,
        f"an idle session ended after {lo:.1f} < t ≤ {hi:.1f} s{coarse} "
        f"(limit {params.max_idle_seconds:g} s).",
        facts,
        reason_ja=(
            f"アイドル状態のセッションは {lo:.1f} < t ≤ {hi:.1f} 秒後に終了した{coarse_ja}（上限 "
            f"{params.max_idle_seconds:g} 秒）。"
        ),
    )


def judge_shell_idle(
    params: IdleParams, ended: float | None, waited: float, reopened: int
) -> Judgement:
    """An idle shell's verdict: `ended` s after its login the device closed it (None:
    never), `waited` s the probe watched it, `reopened` channels opened again on its login
    (SSH: the channel closed, the login kept)."""
    facts: dict[str, JSONValue] = {
        "max_idle_seconds": params.max_idle_seconds,
        "resolution_seconds": params.resolution,
    }
    if reopened:
        # The device closed the idle shell's channel but kept the login: a new shell opened
        # on the same connection without a password (OpenSSH ChannelTimeout alone).
        facts["channels_closed_but_login_kept"] = reopened
    if ended is None or ended > params.top:
        facts["open_after"] = round(waited, 2)
        return _idle_survived(
            params,
            f"an idle shell was still open after {waited:.1f} s",
            f"an idle shell was still open after {waited:.1f} s (max_wait_seconds)",
            facts,
            f"アイドル状態のシェルが {waited:.1f} 秒後もまだ開いていた",
            f"アイドル状態のシェルが {waited:.1f} 秒（max_wait_seconds）後もまだ開いていた",
        )
    facts["closed_after"] = round(ended, 2)
    return Judgement(
        Verdict.PASS,
        f"the device closed an idle shell after {ended:.1f} s "
        f"(limit {params.max_idle_seconds:g} s).",
        facts,
        reason_ja=(
            f"機器はアイドル状態のシェルを {ended:.1f} 秒後に閉じた（上限 "
            f"{params.max_idle_seconds:g} 秒）。"
        ),
    )


def _idle_survived(
    params: IdleParams,
    failed: str,
    unwaited: str,
    facts: dict[str, JSONValue],
    failed_ja: str,
    unwaited_ja: str,
) -> Judgement:
    """A session still open after the longest idle time checked: a failure when that was
    the limit plus the resolution, else (`max_wait_seconds` cut the wait) inconclusive."""
    limit = f"{params.max_idle_seconds:g} s"
    limit_ja = f"{params.max_idle_seconds:g} 秒"
    if params.top >= params.max_idle_seconds + params.resolution:
        return Judgement(
            Verdict.FAIL,
            f"{failed} (limit {limit}).",
            facts,
            reason_ja=f"{failed_ja}（上限 {limit_ja}）。",
        )
    return Judgement(
        Verdict.INCONCLUSIVE,
        f"{unwaited}; the limit {limit} plus resolution was not waited for.",
        facts,
        reason_ja=f"{unwaited_ja}。上限 {limit_ja} に分解能を足した時間までは待たなかった。",
    )


def judge_absolute(
    params: AbsoluteParams,
    interval: float,
    rows: list[JSONValue],
    last_alive: float,
    alive: bool,
    age: float,
) -> Judgement:
    """The absolute timeout's verdict: the busy session still `alive` at `age` s after its
    login, or ended after `last_alive` < t ≤ `age`."""
    facts: dict[str, JSONValue] = {
        "interval": interval,
        "max_session_seconds": params.max_session_seconds,
        "resolution_seconds": params.resolution,
        "timeline": rows[-40:],
    }
    if alive:
        return Judgement(
            Verdict.FAIL,
            f"a session kept busy was still open {age:.1f} s after its login "
            f"(limit {params.max_session_seconds:g} s).",
            facts,
            reason_ja=(
                f"操作を続けたセッションがログインの {age:.1f} 秒後もまだ開いていた（上限 "
                f"{params.max_session_seconds:g} 秒）。"
            ),
        )
    facts["ended_after"] = {"more_than": round(last_alive, 2), "at_most": round(age, 2)}
    return Judgement(
        Verdict.PASS,
        f"a busy session ended {last_alive:.1f} < t ≤ {age:.1f} s after its login "
        f"(limit {params.max_session_seconds:g} s).",
        facts,
        reason_ja=(
            f"操作を続けたセッションはログインの {last_alive:.1f} < t ≤ {age:.1f} 秒後に終了した"
            f"（上限 {params.max_session_seconds:g} 秒）。"
        ),
    )


def judge_busy_gap(
    details: dict[str, JSONValue], interval: float, idle_end: float | None
) -> Judgement | None:
    """A passed absolute check made inconclusive (None: it stands) when the device also ends
    sessions idle for `idle_end` s, not longer than the busy session's `interval`."""
    if idle_end is None or interval < idle_end:
        return None
    details = {**details, "idle_end": round(idle_end, 2)}
    return Judgement(
        Verdict.INCONCLUSIVE,
        f"the busy session ended, but this device also ends a session idle for "
        f"{idle_end:.1f} s, not longer than the {interval:g} s between the busy session's "
        "requests: it may have idled out.",
        details,
        reason_ja=(
            f"操作を続けたセッションは終了したが、この機器は {idle_end:.1f} "
            f"秒アイドル状態のセッションも終了させる。これは要求の間隔 {interval:g} "
            "秒より長くないため、アイドルで終了した可能性がある。"
        ),
    )
