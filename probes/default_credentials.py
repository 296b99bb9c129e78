"""Default credentials: does the device still accept a factory login?

One check per protocol. Every class is the same judgement over a different login client
(`probes/_login/`): pick the factory pairs for this device (vendor lists first, by
fingerprint), spend them within the per-account budget that keeps the device's lockout
threshold out of reach, and decide:

| what the client saw                                   | verdict        |
|-------------------------------------------------------|----------------|
| no pairs for this protocol, or no login surface       | not_applicable |
| a random bogus login "succeeded" too (HTTP control)   | inconclusive   |
| (SSH, Telnet, FTP, RTSP: tried after an acceptance)   |                |
| the control's refusal is no recognised failure (404…) | inconclusive   |
| MQTT lets in a random login or none at all            | fail           |
| RTSP describes the stream with no login at all        | fail           |
| SNMP answers a random community (anyone can read it)  | fail           |
| a factory login accepted                              | fail           |
| the device locked or throttled us before the end      | inconclusive   |
| attempts that could not complete, and no acceptance   | error / inconclusive |
| every pair tried rejected, some left untried          | inconclusive   |
| every candidate of the selected list tried, rejected  | pass           |

The candidates are the identified product's list, or, when nothing identifies the device,
the generic top list (`generic_top`, by prevalence in the public data sets). `pass` means
all of them were tried on a confirmed surface; a budget that stops earlier says how many
were left and which (`admin/p•••••••`).

Two pacings. `budget` (devices in service, the default): at most
lockout_threshold - 1 - safety_margin failures per account per device, never a lock.
`whole-list` (the bench unit of `acceptance` and `installation`, which belongs to whoever
scans it): every candidate, in chunks of at most `lockout_threshold` failures per account,
each lock waited out (its length from the profile's `lockout_seconds`, or learned from the
first visible lock by polling with growing waits), and the last one too, so that no account
is left locked; the time waited is evidence.

IEC 62443-4-2 CR 1.5 (authenticator management), NIST SP 800-171 3.5.2, ETSI EN 303 645
5.1-1: no universal default passwords.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urljoin

from probes._login import ftp, http, mqtt, rtsp, snmp, ssh, telnet
from probes._login.common import Pace
from scanner.credential_lists import budget_plan, device_text
from scanner.credentials import Attempt, Credential, FoundCredential, LoginRun, Outcome
from scanner.errors import ConfigError
from scanner.facts import (
    HTTP_PAGES,
    LOGIN_FORMS,
    LOGIN_SURFACES,
    SERVICES,
    VALID_CREDENTIALS,
    on_service,
)
from scanner.model import Evidence, Result, Verdict
from scanner.probe import Check, Params, Phase, Remedy, ServiceProbe, Severity

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scanner.model import JSONValue, Service
    from scanner.probe import ProbeContext, ServiceResults


PACINGS = ("budget", "whole-list")
#: Untried candidates named in a reason (all of them are in the evidence).
UNTRIED_SHOWN = 8
#: First wait when a lock of unknown length shows; doubled while the lock holds.
FIRST_LOCK_POLL = 5.0
#: Margin added to a known lock length before the next chunk (clocks and rounding).
LOCK_MARGIN = 1.1
#: connections one login check may keep open on a device, at most
MAX_CONNECTIONS = 16


@dataclass(frozen=True, slots=True)
class LoginBudget(Params):
    """How hard a default-credentials check may try on one device."""

    # The failure that would lock an account is never sent: at most
    # lockout_threshold - 1 - safety_margin failures per account per device. The defaults
    # assume the strictest common policy (lock at 3), so a default scan fails twice at most;
    # a profile for a device that locks at 5 might say 5 and 1 (three tries).
    lockout_threshold: int = 3
    safety_margin: int = 0
    max_pairs: int = 500  # candidates per service at most: a bound, not a selection
    delay_seconds: float = 0.0  # pause between attempts, to spread them over time
    timeout_seconds: float = 10.0  # per attempt
    #: when nothing identifies the device: how many of the generic logins (by prevalence)
    generic_top: int = 25
    #: "budget" (never a lock) or "whole-list" (every candidate, locks waited out)
    pacing: str = "budget"
    #: how long the device's lock lasts, when the profile knows; 0: learned when one shows
    lockout_seconds: float = 0.0
    #: the most whole-list pacing may wait for locks on one service
    max_wait_seconds: float = 1800.0
    #: connections trying candidates at once (the device's --per-device permits cap it):
    #: 1 by default, for small devices; a bench unit's profile may say 4, as hydra's -t 4
    connections: int = 1

    def __post_init__(self) -> None:
        if self.lockout_threshold < 1 or self.safety_margin < 0:
            raise ConfigError("lockout_threshold must be ≥ 1 and safety_margin ≥ 0")
        if self.max_pairs < 1 or self.delay_seconds < 0 or self.timeout_seconds <= 0:
            raise ConfigError("max_pairs ≥ 1, delay_seconds ≥ 0 and timeout_seconds > 0")
        if self.generic_top < 1:
            raise ConfigError("generic_top must be ≥ 1")
        if self.pacing not in PACINGS:
            raise ConfigError(f"pacing must be one of {', '.join(PACINGS)}")
        if self.lockout_seconds < 0 or self.max_wait_seconds < 0:
            raise ConfigError("lockout_seconds and max_wait_seconds must be ≥ 0")
        if not 1 <= self.connections <= MAX_CONNECTIONS:
            raise ConfigError(f"connections must be between 1 and {MAX_CONNECTIONS}")

    @property
    def per_account(self) -> int:
        """Failed attempts allowed per account per device: below the threshold, always."""
        return max(0, self.lockout_threshold - 1 - self.safety_margin)


def _method(protocol: str) -> str:
    return (
        f"Tries the factory logins published for this device's vendor (picked by fingerprint: "
        f"HTTP Server/title/realm, SSH/Telnet/FTP banners) before the generic ones, over "
        f"{protocol}, at most lockout_threshold - 1 - safety_margin failed attempts per account "
        "per device across all protocols, and stops at the first success. A dropped or "
        "throttled attempt is never counted as a rejected password."
    )


#: how the Japanese method names each protocol
_PROTOCOL_JA = {
    "ssh": "SSH",
    "telnet": "Telnet",
    "ftp": "FTP",
    "http": "Web管理画面（HTTP）",
    "mqtt": "MQTT",
    "snmp": "SNMP",
    "rtsp": "RTSP",
}


def _method_ja(protocol: str) -> str:
    return (
        f"出荷時のログイン（初期認証）を{_PROTOCOL_JA[protocol]}で試す。フィンガープリント"
        "（HTTPのServerヘッダ・title・realm、SSH・Telnet・FTPのバナー）で特定したベンダー向けに"
        "公開されているものを汎用のものより先に試し、最初に成功した時点で止める。失敗は"
        "全プロトコルの合計で、アカウントごと・機器ごとに最大lockout_threshold - 1 - "
        "safety_margin回までとする。切断された試行や速度制限を受けた試行を、パスワードの拒否として"
        "数えることはない。"
    )


def _check(
    protocol: str,
    title: str,
    title_ja: str,
    severity: Severity,
    severity_reason: str,
    severity_reason_ja: str,
    remediation: Remedy,
    *references: str,
) -> Check:
    return Check(
        f"creds.default.{protocol}",
        title,
        _method(protocol),
        LoginBudget,
        severity=severity,
        severity_reason=severity_reason,
        kind="default_credentials",
        remediation=remediation,
        references=references,
        title_ja=title_ja,
        severity_reason_ja=severity_reason_ja,
        method_ja=_method_ja(protocol),
    )


SSH = _check(
    "ssh",
    "Factory login accepted over SSH",
    "SSHで出荷時のログイン（初期認証）が受け付けられる",
    Severity.CRITICAL,
    "Anyone who reaches the port gets a shell with a password published for the product.",
    "このポートに到達できる者なら誰でも、製品向けに公開されたパスワードでシェルを得られる。",
    Remedy(
        en=(
            "Change the factory SSH password at installation, or disable password login and use "
            "per-device keys."
        ),
        ja=(
            "設置時に出荷時のSSHパスワードを変更する（初期認証の変更）。"
            "またはパスワードログインを無効にし、機器ごとの鍵で認証する。"
        ),
    ),
    "CWE-1392",
    "CWE-1393",
)
TELNET = _check(
    "telnet",
    "Factory login accepted over Telnet",
    "Telnetで出荷時のログイン（初期認証）が受け付けられる",
    Severity.CRITICAL,
    "Anyone who reaches the port gets a shell with a password published for the product.",
    "このポートに到達できる者なら誰でも、製品向けに公開されたパスワードでシェルを得られる。",
    Remedy(
        en=(
            "Turn Telnet off; if a console is needed, offer SSH with a password changed at "
            "installation."
        ),
        ja=(
            "Telnetを停止する。コンソールが必要ならSSHを使い、"
            "設置時に出荷時のパスワードを変更する（初期認証の変更）。"
        ),
    ),
    "CWE-1392",
    "CWE-1393",
    "CWE-319",
)
FTP = _check(
    "ftp",
    "Factory or anonymous login accepted over FTP",
    "FTPで出荷時のログイン（初期認証）または匿名ログインが受け付けられる",
    Severity.HIGH,
    "Anyone on the network reads, and may replace, the files the account reaches; no shell.",
    "ネットワーク上の誰もが、そのアカウントで届くファイルを読み、"
    "置き換えることもできる（シェルは得られない）。",
    Remedy(
        en=(
            "Disable anonymous FTP and change every factory login, or turn FTP off and use SFTP "
            "instead."
        ),
        ja=(
            "匿名FTPを無効にし、出荷時のログインをすべて変更する（初期認証の変更）。"
            "可能ならFTPを停止しSFTPに置き換える。"
        ),
    ),
    "CWE-1392",
    "CWE-1393",
    "CWE-306",
)
HTTP = _check(
    "http",
    "Factory login accepted by the web interface (Basic, Digest, form, JSON API)",
    "Web管理画面で出荷時のログイン（初期認証）が受け付けられる"
    "（Basic、Digest、フォーム、JSON API）",
    Severity.CRITICAL,
    "Anyone on the network administers the device with a password published for the product.",
    "ネットワーク上の誰もが、製品向けに公開されたパスワードで機器を管理できる。",
    Remedy(
        en=(
            "Force a unique password to be set at first use and remove the factory web login from "
            "the firmware."
        ),
        ja=(
            "初回利用時に固有のパスワード設定を必須にし（初期認証の変更）、"
            "出荷時のWebログインをファームウェアから削除する。"
        ),
    ),
    "CWE-1392",
    "CWE-1393",
)
MQTT = _check(
    "mqtt",
    "MQTT broker accepts anonymous clients or factory logins",
    "MQTTブローカが匿名接続または出荷時のログインを受け付ける",
    Severity.HIGH,
    "Anyone on the network reads and publishes the device's messages, commands included.",
    "ネットワーク上の誰もが、コマンドを含む機器のメッセージを読み、発行できる。",
    Remedy(
        en=(
            "Require authentication on the MQTT broker (no anonymous clients) with per-device "
            "credentials, over TLS."
        ),
        ja=("MQTTブローカで匿名接続を禁止し、機器ごとの認証情報による認証をTLS上で必須にする。"),
    ),
    "CWE-1392",
    "CWE-306",
)
SNMP = _check(
    "snmp",
    "SNMP v1/v2c agent answers a default or guessable community string",
    "SNMP v1/v2cエージェントが既定または推測可能なコミュニティ名に応答する",
    Severity.HIGH,
    "Anyone on the network reads the device's configuration and state (and writes it with a "
    "write community).",
    "ネットワーク上の誰もが機器の設定と状態を読み取れる"
    "（書き込み用のコミュニティ名なら書き換えもできる）。",
    Remedy(
        en=(
            "Disable SNMP v1/v2c or change the community strings; prefer SNMPv3 with "
            "authentication and privacy."
        ),
        ja=(
            "SNMP v1/v2cを無効にするかコミュニティ名を変更する。"
            "認証と暗号化を有効にしたSNMPv3を推奨する。"
        ),
    ),
    "CWE-1392",
    "RFC 3414",
)
RTSP = _check(
    "rtsp",
    "RTSP stream plays without a login, or with a factory one",
    "RTSPの映像がログインなし、または出荷時のログインで再生できる",
    Severity.HIGH,
    "Anyone on the network watches the camera's stream; the device's settings stay out of reach.",
    "ネットワーク上の誰もがカメラの映像を視聴できる。機器の設定には届かない。",
    Remedy(
        en=(
            "Require a login for the RTSP stream and replace the factory password with a "
            "per-device one."
        ),
        ja=(
            "RTSPストリームにログインを必須とし、"
            "出荷時のパスワードを機器固有のものに変更する（初期認証の変更）。"
        ),
    ),
    "CWE-1392",
    "CWE-306",
)


class _DefaultLogin(ServiceProbe):
    """One protocol's default-login check; subclasses name the client."""

    check: ClassVar[Check]
    family: ClassVar[str]  # the credential list's protocol key
    phase = Phase.LOGIN
    provides = frozenset({VALID_CREDENTIALS})
    max_attempts = 20
    #: a control login accepted means "no login needed" (fail) rather than "no oracle"
    control_means_open: ClassVar[bool] = False
    #: only the empty control (the service answered before any credential was sent) means
    #: "no login needed"; a random login it accepts is read as HTTP reads it: no oracle
    no_login_means_open: ClassVar[bool] = False
    #: the reason of that fail ({where}, {method}, and {detail}: the control's answer)
    open_reason: ClassVar[str] = (
        "{where} lets a client in without valid credentials: a random login (or none) was "
        "accepted ({method})."
    )
    open_reason_ja: ClassVar[str] = (
        "{where} は正しい認証情報なしでクライアントを受け入れる。無作為なログイン"
        "（またはログインなし）"
        "が受け付けられた（{method}）。"
    )
    #: agents that cannot lock (SNMP communities) ignore the per-account budget
    lockable: ClassVar[bool] = True
    #: clients without a control login of their own (SSH, Telnet, FTP, SNMP, RTSP): an
    #: acceptance is confirmed afterwards by a random login, which must not be accepted too
    #: (a server that takes anything, or asks for the real login inside the session)
    late_control: ClassVar[bool] = False

    async def login(
        self, ctx: ProbeContext, service: Service, creds: Sequence[Credential], budget: LoginBudget
    ) -> LoginRun:
        """Run the protocol client over `creds`."""
        return await _CLIENTS[self.family](
            ctx.net,
            service,
            creds,
            pace=Pace(timeout=budget.timeout_seconds, connections=budget.connections),
        )

    def time_needed(self, ctx: ProbeContext, service: Service | None) -> float:
        """Every candidate at its timeout and pause, twice over for the control logins of
        each chunk, plus the lock waits; times the device's login services, since they take
        turns and this job's clock runs while it waits for its turn."""
        budget = ctx.params(self.check, LoginBudget)
        candidates = len(
            ctx.credentials.select(
                self.family, device_text(ctx.facts), generic_top=budget.generic_top
            ).pairs
        )
        each = (
            2 * min(candidates, budget.max_pairs) * (budget.timeout_seconds + budget.delay_seconds)
        )
        if budget.pacing == "whole-list":
            each += budget.max_wait_seconds
        logins = [s for s in ctx.facts.get(SERVICES) or () if s.protocol in _LOGIN_PROTOCOLS]
        return each * max(1, len(logins))

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        budget = ctx.params(self.check, LoginBudget)
        selection = ctx.credentials.select(
            self.family, device_text(ctx.facts), generic_top=budget.generic_top
        )
        pairs = list(selection.pairs)
        about = ctx.about(service)
        if not pairs:
            return [
                about.result(
                    self.check,
                    Verdict.NOT_APPLICABLE,
                    f"The credential lists have no {self.family} logins to try on {about.where}.",
                    reason_ja=(
                        f"認証情報リストには {about.where_ja} で試す {self.family} "
                        "のログインがない。"
                    ),
                )
            ]
        plan = Plan(selection.list_name, len(pairs))
        if budget.pacing == "whole-list":
            chosen, skipped = pairs[: budget.max_pairs], pairs[budget.max_pairs :]
            async with ctx.ledger.turn:
                run = await self._whole_list(ctx, service, chosen, budget, plan)
        else:
            limit = budget.per_account if self.lockable else len(pairs)
            async with ctx.ledger.turn:
                chosen, skipped = budget_plan(pairs, ctx.ledger, limit, budget.max_pairs)
                run = LoginRun(method=self.family)
                try:
                    run = await self._spread(ctx, service, chosen, budget)
                finally:
                    self._settle(ctx, chosen, run)
        if self.late_control and run.control is None and _any_accepted(run):
            async with ctx.ledger.turn:
                run = await self._confirm(ctx, service, run, budget)
        control_open = run.control is not None and run.control.outcome is Outcome.ACCEPTED
        found = [a for a in run.attempts if a.outcome is Outcome.ACCEPTED]
        if found and not control_open:  # for the checks after a login (session, lockout)
            ctx.facts.add(
                VALID_CREDENTIALS,
                *(FoundCredential(service, a.credential, run.method) for a in found),
            )
        return [self.judge(about, run, chosen, skipped, budget, plan)]

    async def _confirm(
        self, ctx: ProbeContext, service: Service, run: LoginRun, budget: LoginBudget
    ) -> LoginRun:
        """The run with a random control login tried after its acceptances."""
        control = Credential(
            f"shinsa-{secrets.token_hex(4)}", f"shinsa-{secrets.token_hex(8)}", "random control"
        )
        checked = await self.login(ctx, service, [control], budget)
        if not checked.attempts:
            note = checked.note or "no answer"
            return replace(run, note=f"{run.note + '; ' if run.note else ''}control login: {note}")
        return replace(run, control=checked.attempts[0])

    async def _whole_list(
        self,
        ctx: ProbeContext,
        service: Service,
        chosen: Sequence[Credential],
        budget: LoginBudget,
        plan: Plan,
    ) -> LoginRun:
        """Every candidate, in chunks of at most `threshold` failures per account; each lock
        waited out (known length, or learned by polling), the last one too."""
        threshold = budget.lockout_threshold
        lock = budget.lockout_seconds
        attempts: list[Attempt] = []
        failures: Counter[str] = Counter()  # per account, since its last wait
        control: Attempt | None = None
        method = self.family
        queue = list(chosen)
        while queue:
            if lock > 0 and any(failures[c.username] >= threshold for c in queue[:1]):
                if not await self._wait(lock * LOCK_MARGIN, budget, plan):
                    return LoginRun(method, tuple(attempts), control, plan.gave_up)
                failures.clear()
            chunk = _chunk(queue, failures, threshold if lock > 0 else None)
            run = await self.login(ctx, service, chunk, budget)
            method, control = run.method, control or run.control
            if not run.attempts:
                if attempts:  # a later chunk found nothing to try: say why, keep the rest
                    return LoginRun(method, tuple(attempts), control, run.note or "stopped")
                return run
            # Connections run side by side: a lock or a throttle may show on one while
            # others were answered, and candidates still in flight were never answered.
            halt = next(
                (a for a in run.attempts if a.outcome in (Outcome.LOCKED, Outcome.THROTTLED)),
                None,
            )
            done = [a for a in run.attempts if a.outcome not in (Outcome.LOCKED, Outcome.THROTTLED)]
            attempts += done
            for a in done:
                failures[a.credential.username] += a.outcome is Outcome.REJECTED
            queue = self._unanswered(queue, done)
            if halt is not None:
                # Learn the device's lock: it showed after this many failures, and lasts
                # until a retry of the same candidate gets a real answer.
                plan.learned_threshold = max(1, failures[halt.credential.username])
                threshold = plan.learned_threshold
                held = await self._wait_out(ctx, service, halt, budget, plan, lock)
                if held is None:
                    attempts.append(halt)
                    return LoginRun(method, tuple(attempts), control, plan.gave_up)
                lock = plan.learned_seconds or lock
                failures.clear()
                attempts.append(held)
                failures[held.credential.username] += held.outcome is Outcome.REJECTED
                queue = self._unanswered(queue, [held])
                continue
            if len(done) < len(chunk) and not any(
                a.outcome is Outcome.ACCEPTED for a in done
            ):  # the client stopped on its own (errors in a row, progressive delay...)
                return LoginRun(method, tuple(attempts), control, run.note or "stopped early")
        if lock > 0 and any(n >= threshold for n in failures.values()):
            # Never leave an account locked: the last chunk may have locked one.
            await self._wait(lock * LOCK_MARGIN, budget, plan)
        return LoginRun(method, tuple(attempts), control)

    def _unanswered(self, queue: list[Credential], answered: Sequence[Attempt]) -> list[Credential]:
        """The candidates still to try once `answered` have their answers, less the other
        passwords of an account that just let us in (communities, which are not accounts,
        all stay). A candidate that met an error has had its turn: it is reported untried."""
        seen = {id(a.credential) for a in answered}
        if self.lockable:
            inside = {a.credential.username for a in answered if a.outcome is Outcome.ACCEPTED}
        else:
            inside = set()
        return [c for c in queue if id(c) not in seen and c.username not in inside]

    async def _wait(self, seconds: float, budget: LoginBudget, plan: Plan) -> bool:
        """Wait a lock out, within the budget of waiting; False when it would overrun."""
        if plan.waited + seconds > budget.max_wait_seconds:
            plan.gave_up = (
                f"waiting another {seconds:.3g} s for a lock would pass max_wait_seconds "
                f"({budget.max_wait_seconds:g} s; {plan.waited:.3g} s waited already)"
            )
            return False
        await asyncio.sleep(seconds)
        plan.waited += seconds
        return True

    async def _wait_out(
        self,
        ctx: ProbeContext,
        service: Service,
        stop: Attempt,
        budget: LoginBudget,
        plan: Plan,
        known: float,
    ) -> Attempt | None:
        """Poll a lock with growing waits, retrying the candidate it stopped; the retry's
        real answer when the lock is over, None when waiting ran out."""
        poll = known * LOCK_MARGIN if known > 0 else FIRST_LOCK_POLL
        started = plan.waited
        while True:
            if not await self._wait(poll, budget, plan):
                return None
            again = await self.login(ctx, service, [stop.credential], budget)
            if again.attempts and again.attempts[0].outcome not in (
                Outcome.LOCKED,
                Outcome.THROTTLED,
            ):
                plan.learned_seconds = plan.waited - started
                plan.locks += 1
                return again.attempts[0]
            poll = min(poll * 2, max(1.0, budget.max_wait_seconds - plan.waited))

    async def _spread(
        self, ctx: ProbeContext, service: Service, chosen: list[Credential], budget: LoginBudget
    ) -> LoginRun:
        """All at once, or one pair at a time with the profile's pause in between."""
        if not chosen or budget.delay_seconds <= 0:
            return await self.login(ctx, service, chosen, budget)
        first = await self.login(ctx, service, chosen[:1], budget)
        attempts = list(first.attempts)
        for cred in chosen[1:]:
            if not attempts or attempts[-1].outcome is not Outcome.REJECTED:
                break
            await asyncio.sleep(budget.delay_seconds)
            attempts += (await self.login(ctx, service, [cred], budget)).attempts
        return LoginRun(first.method, tuple(attempts), first.control, first.note, first.unconfirmed)

    @staticmethod
    def _settle(ctx: ProbeContext, chosen: Sequence[Credential], run: LoginRun) -> None:
        """Give back the budget of pairs never sent (or that never reached the login step),
        and of logins that succeeded."""
        sent = {id(a.credential): a for a in run.attempts}
        by_pair = {(a.credential.username, a.credential.password): a for a in run.attempts}
        unspent: list[str] = []
        for cred in chosen:
            attempt = sent.get(id(cred)) or by_pair.get((cred.username, cred.password))
            if attempt is None or attempt.outcome is Outcome.ACCEPTED or not attempt.delivered:
                unspent.append(cred.username)
        ctx.ledger.release_many(unspent)  # one transaction for all, in a stored ledger

    def judge(
        self,
        about: ServiceResults,
        run: LoginRun,
        chosen: Sequence[Credential],
        skipped: Sequence[Credential],
        budget: LoginBudget,
        plan: Plan,
    ) -> Result:
        """The verdict on one service's run (pure: reads the run, the plan and the
        probe's declarations only)."""
        where, where_ja = about.where, about.where_ja
        # A lock, a throttle or an error is no answer about the candidate: still untried.
        tried = {
            id(a.credential)
            for a in run.attempts
            if a.outcome in (Outcome.REJECTED, Outcome.ACCEPTED)
        }
        untried = [c for c in chosen if id(c) not in tried] + list(skipped)
        evidence = _evidence(run, untried, budget, plan)
        outcomes = [a.outcome for a in run.attempts]
        control = run.control
        left, left_ja = _left(untried, plan), _left_ja(untried, plan)

        def result(verdict: Verdict, reason: str, *, reason_ja: str) -> Result:
            return about.result(self.check, verdict, reason, evidence, reason_ja=reason_ja)

        if control is not None and control.outcome is Outcome.ACCEPTED:
            no_login = not control.credential.username and not control.credential.password
            if self.control_means_open or (no_login and self.no_login_means_open):
                return result(
                    Verdict.FAIL,
                    self.open_reason.format(where=where, method=run.method, detail=control.detail),
                    reason_ja=self.open_reason_ja.format(
                        where=where_ja, method=run.method, detail=control.detail
                    ),
                )
            return result(
                Verdict.INCONCLUSIVE,
                f"{where} answered a random bogus login the same way as a successful one "
                f"({control.detail}); without a success oracle no default login can be judged.",
                reason_ja=(
                    f"{where_ja} は無作為な偽のログインに成功時と同じ応答をした（"
                    f"{control.detail}）。成否を判定する手がかりがないため、"
                    "初期ログインを判定できない。"
                ),
            )
        accepted = [a for a in run.attempts if a.outcome is Outcome.ACCEPTED]
        if accepted:
            logins_ja = [
                "認証情報なし"
                if not a.credential.username and not a.credential.password
                else a.credential.masked()
                for a in accepted
            ]
            what_ja = (
                f"初期ログイン {logins_ja[0]}"
                if len(logins_ja) == 1
                else f"{len(logins_ja)} 件の初期ログイン（{', '.join(logins_ja)}）"
            )
            logins = [
                "no credentials at all"
                if not a.credential.username and not a.credential.password
                else a.credential.masked()
                for a in accepted
            ]
            what = (
                f"the factory login {logins[0]}"
                if len(logins) == 1
                else f"{len(logins)} factory logins ({', '.join(logins)})"
            )
            return result(
                Verdict.FAIL,
                f"{where} accepted {what} ({run.method}).",
                reason_ja=(
                    f"{where_ja} は{what_ja} を受け付けた（{run.method}）。"
                    "初期認証情報のままログインできる。"
                ),
            )
        if run.unconfirmed:
            return result(
                Verdict.INCONCLUSIVE,
                f"{where}: {run.unconfirmed}; no factory login was tried, and nothing here "
                "could be read as a rejection.",
                reason_ja=(
                    f"{where_ja}: {run.unconfirmed}。初期ログインは試しておらず、"
                    "拒否と読める応答もなかった。"
                ),
            )
        if not chosen and skipped:
            return result(
                Verdict.INCONCLUSIVE,
                f"No factory login could be tried on {where}: every account's attempt budget "
                f"({budget.per_account} failures per account per device, below the lockout "
                f"threshold) was already spent on other services of this device; {left}.",
                reason_ja=(
                    f"{where_ja} では初期ログインを1つも試せなかった。各アカウントの試行の予算"
                    f"（機器のアカウントごとに {budget.per_account} 回の失敗、"
                    "認証ロックのしきい値未満）はこの機器の他のサービスで使い切っていた。"
                    f"{left_ja}。"
                ),
            )
        if not run.attempts and control is not None:
            # The surface exists, but the control login already met a lock, a rate limit
            # or an error: nothing could be tried, which is not "no login surface".
            verdict = Verdict.ERROR if control.outcome is Outcome.ERROR else Verdict.INCONCLUSIVE
            return result(
                verdict,
                f"{where} answered the first (control) login with {control.outcome.value} "
                f"({control.detail}); no factory login could be tried.",
                reason_ja=(
                    f"{where_ja} は最初の（対照）ログインに「{control.outcome.ja}」（"
                    f"{control.detail}）で応答した。初期ログインは試せなかった。"
                ),
            )
        if not run.attempts:
            return result(
                Verdict.NOT_APPLICABLE,
                f"No {self.family} login surface was found on {where}"
                + (f": {run.note}." if run.note else "."),
                reason_ja=f"{where_ja} には {self.family} のログイン画面が見つからなかった"
                + (f": {run.note}。" if run.note else "。"),
            )
        for stop, word in (
            (Outcome.LOCKED, "reported a lock"),
            (Outcome.THROTTLED, "throttled or dropped the attempts"),
        ):
            word_ja = "ロックを報告した" if stop is Outcome.LOCKED else "試行を制限または切断した"
            if stop in outcomes:
                last = next(a for a in run.attempts if a.outcome is stop)
                why = f" ({plan.gave_up})" if plan.gave_up else ""
                why_ja = f"（{plan.gave_up}）" if plan.gave_up else ""
                return result(
                    Verdict.INCONCLUSIVE,
                    f"{where} {word} after {len(run.attempts)} attempt(s) ({last.detail})"
                    f"{why}; {left}, so this is not a pass.",
                    reason_ja=(
                        f"{where_ja} は {len(run.attempts)} 回の試行の後に{word_ja}（"
                        f"{last.detail}）{why_ja}。{left_ja}。そのため合格ではない。"
                    ),
                )
        errors = outcomes.count(Outcome.ERROR)
        if errors == len(outcomes):
            return result(
                Verdict.ERROR,
                f"No login attempt on {where} could complete ({run.attempts[-1].detail}).",
                reason_ja=(
                    f"{where_ja} でのログイン試行は1つも完了しなかった（"
                    f"{run.attempts[-1].detail}）。"
                ),
            )
        if errors:
            return result(
                Verdict.INCONCLUSIVE,
                f"{where} rejected {len(outcomes) - errors} factory login(s), but "
                f"{errors} attempt(s) could not complete.",
                reason_ja=(
                    f"{where_ja} は {len(outcomes) - errors} 件の初期ログインを拒否したが、"
                    f"{errors} 件の試行は完了しなかった。"
                ),
            )
        if untried:
            why = (
                run.note
                or plan.gave_up
                or (
                    f"to stay below the lockout threshold ({budget.per_account} failures per "
                    "account per device)"
                    if skipped
                    else "the run stopped early"
                )
            )
            why_ja = (
                run.note
                or plan.gave_up
                or (
                    f"認証ロックのしきい値（機器のアカウントごとに {budget.per_account} 回の失敗）"
                    "を下回るため"
                    if skipped
                    else "試行が早く止まったため"
                )
            )
            return result(
                Verdict.INCONCLUSIVE,
                f"{where} rejected the {len(outcomes)} factory login(s) tried, but {left} "
                f"({why}), so this is not a pass.",
                reason_ja=(
                    f"{where_ja} は試した {len(outcomes)} 件の初期ログインを拒否したが、{left_ja}（"
                    f"{why_ja}）。そのため合格ではない。"
                ),
            )
        waited = f"; {plan.waited:.0f} s waited for {plan.locks} lock(s)" if plan.waited else ""
        waited_ja = (
            f"。{plan.locks} 回のロックの解除を {plan.waited:.0f} 秒待った" if plan.waited else ""
        )
        return result(
            Verdict.PASS,
            f"{where} rejected every one of the {len(outcomes)} candidates "
            f"({plan.list_name}; {run.method}){waited}.",
            reason_ja=(
                f"{where_ja} は候補 {len(outcomes)} 件をすべて拒否した（{plan.list_name}; "
                f"{run.method}）{waited_ja}。"
            ),
        )


@dataclass(slots=True)
class Plan:
    """The candidate list of one service and what pacing it took."""

    list_name: str
    candidates: int
    waited: float = 0.0  # seconds spent waiting locks out
    locks: int = 0  # locks seen and waited out
    learned_threshold: int = 0  # failures after which the device showed a lock
    learned_seconds: float = 0.0  # how long that lock held
    gave_up: str = ""  # why whole-list pacing stopped waiting


def _any_accepted(run: LoginRun) -> bool:
    return any(a.outcome is Outcome.ACCEPTED for a in run.attempts)


def _chunk(
    queue: Sequence[Credential], failures: Counter[str], threshold: int | None
) -> list[Credential]:
    """The longest head of `queue` that gives no account more than `threshold` failures
    since its last wait (all of it when no lock length is known: nothing to wait for)."""
    if threshold is None:
        return list(queue)
    used = Counter(failures)
    chunk: list[Credential] = []
    for cred in queue:
        if used[cred.username] >= threshold:
            break
        used[cred.username] += 1
        chunk.append(cred)
    return chunk or list(queue[:1])


def _left(untried: Sequence[Credential], plan: Plan) -> str:
    if not untried:
        return f"every one of the {plan.candidates} candidates ({plan.list_name}) was tried"
    shown = ", ".join(c.hint() for c in untried[:UNTRIED_SHOWN])
    more = f" and {len(untried) - UNTRIED_SHOWN} more" if len(untried) > UNTRIED_SHOWN else ""
    return (
        f"{len(untried)} of the {plan.candidates} candidates ({plan.list_name}) were left "
        f"untried: {shown}{more}"
    )


def _left_ja(untried: Sequence[Credential], plan: Plan) -> str:
    """`_left` in Japanese."""
    if not untried:
        return f"候補 {plan.candidates} 件（{plan.list_name}）をすべて試した"
    shown = ", ".join(c.hint() for c in untried[:UNTRIED_SHOWN])
    more = f" ほか {len(untried) - UNTRIED_SHOWN} 件" if len(untried) > UNTRIED_SHOWN else ""
    return (
        f"候補 {plan.candidates} 件（{plan.list_name}）のうち {len(untried)} 件は試していない: "
        f"{shown}{more}"
    )


def _evidence(
    run: LoginRun, untried: Sequence[Credential], budget: LoginBudget, plan: Plan
) -> Evidence:
    details: dict[str, JSONValue] = {
        "method": run.method,
        "attempts": [a.to_json() for a in run.attempts],
        "control": run.control.to_json() if run.control else None,
        "list": {
            "name": plan.list_name,
            "candidates": plan.candidates,
            "tried": plan.candidates - len(untried),
            "untried": len(untried),
            "untried_logins": [c.hint() for c in untried],
        },
        "pacing": budget.pacing,
        "per_account_budget": budget.per_account if budget.pacing == "budget" else None,
    }
    if budget.pacing == "whole-list":
        details["lock_waits"] = {
            "waited_seconds": round(plan.waited, 1),
            "locks": plan.locks,
            "learned_threshold": plan.learned_threshold or None,
            "learned_seconds": round(plan.learned_seconds, 1) or None,
        }
    if run.note:
        details["note"] = run.note
    if run.unconfirmed:
        details["unconfirmed"] = run.unconfirmed
    counts = f"{plan.list_name}: {plan.candidates - len(untried)} tried, {len(untried)} untried"
    counts_ja = (
        f"{plan.list_name}: {plan.candidates - len(untried)} 件試行、{len(untried)} 件未試行"
    )
    if plan.waited:
        counts += f", {plan.waited:.0f} s waited for locks"
        counts_ja += f"、ロックの解除を {plan.waited:.0f} 秒待機"
    attempts = ", ".join(f"{a.credential.masked()} {a.outcome.value}" for a in run.attempts[:4])
    summary = f"{counts}; {run.method}: {attempts or 'no attempt'}"
    summary_ja = f"{counts_ja}; {run.method}: {attempts or '試行なし'}"
    return Evidence("auth_attempts", summary[:200], details, summary_ja[:200])


#: protocols whose default-login probes take turns on one device
_LOGIN_PROTOCOLS = frozenset(
    {"ssh", "telnet", "ftp", "http", "https", "mqtt", "mqtts", "snmp", "rtsp"}
)

#: the login client of each family but HTTP (whose client also takes the page facts)
_CLIENTS = {
    "ssh": ssh.try_logins,
    "telnet": telnet.try_logins,
    "ftp": ftp.try_logins,
    "mqtt": mqtt.try_logins,
    "snmp": snmp.try_logins,
    "rtsp": rtsp.try_logins,
}


class DefaultSshLogin(_DefaultLogin):
    check = SSH
    checks = (SSH,)
    family = "ssh"
    late_control = True
    protocols = frozenset({"ssh"})


class DefaultTelnetLogin(_DefaultLogin):
    check = TELNET
    checks = (TELNET,)
    family = "telnet"
    late_control = True
    protocols = frozenset({"telnet"})


class DefaultFtpLogin(_DefaultLogin):
    check = FTP
    checks = (FTP,)
    family = "ftp"
    late_control = True
    protocols = frozenset({"ftp"})


class DefaultHttpLogin(_DefaultLogin):
    check = HTTP
    checks = (HTTP,)
    family = "http"
    protocols = frozenset({"http", "https"})
    uses = frozenset({LOGIN_SURFACES})  # a JavaScript app's login, when one was recorded

    async def login(
        self, ctx: ProbeContext, service: Service, creds: Sequence[Credential], budget: LoginBudget
    ) -> LoginRun:
        # Only this service's own pages: a login reached through a redirect to another
        # service of the device (HTTP -> HTTPS) is that service's to test.
        pages = [
            p
            for p in ctx.facts.get(HTTP_PAGES) or ()
            if p.service.key == service.key and on_service(p.url, service)
        ]
        forms = [
            f
            for f in ctx.facts.get(LOGIN_FORMS) or ()
            if f.service.key == service.key and on_service(f.page_url, service)
        ]
        surfaces = [
            r
            for r in ctx.facts.get(LOGIN_SURFACES) or ()
            if r.service.key == service.key and on_service(r.page_url, service)
        ]
        moved = next(
            (
                urljoin(p.url, p.location)
                for p in pages
                if p.location and not on_service(urljoin(p.url, p.location), service)
            ),
            None,
        )
        if moved and not forms and not surfaces and not any(p.auth_scheme for p in pages):
            return LoginRun(
                "http", note=f"it redirects to {moved}, whose login is checked on that service"
            )
        return await http.try_logins(
            ctx.net,
            service,
            creds,
            pages=pages,
            forms=forms,
            surfaces=surfaces,
            pace=Pace(timeout=budget.timeout_seconds, connections=budget.connections),
        )


class DefaultMqttLogin(_DefaultLogin):
    check = MQTT
    checks = (MQTT,)
    family = "mqtt"
    protocols = frozenset({"mqtt", "mqtts"})
    control_means_open = True  # a broker that accepts a random login authenticates no one


class DefaultSnmpCommunity(_DefaultLogin):
    check = SNMP
    checks = (SNMP,)
    family = "snmp"
    protocols = frozenset({"snmp"})
    lockable = False  # communities are not accounts: nothing to lock
    late_control = True
    # An agent that answers a random community is readable by anyone: still a fail, but
    # for that reason, not for a factory community it merely did not refuse.
    control_means_open = True
    open_reason = (
        "{where} answers any community string, so anyone can read it: a random community "
        "was answered too ({detail}); no factory community is needed ({method})."
    )
    open_reason_ja = (
        "{where} はどのコミュニティ名にも応答するため、誰でも読み取れる。無作為なコミュニティ名にも"
        "応答した（{detail}）。初期設定のコミュニティ名さえ要らない（{method}）。"
    )


class DefaultRtspLogin(_DefaultLogin):
    check = RTSP
    checks = (RTSP,)
    family = "rtsp"
    protocols = frozenset({"rtsp"})
    late_control = True
    # A stream described without credentials is open (fail); one that takes any random
    # Basic/Digest login has no success oracle, as an HTTP challenge that does (inconclusive).
    no_login_means_open = True
    open_reason = (
        "{where} lets a client in without valid credentials: the stream is described with no "
        "login at all ({detail}; {method})."
    )
    open_reason_ja = (
        "{where} は正しい認証情報なしでクライアントを受け入れる。ストリームはログインなしで"
        "記述を返した（{detail}; {method}）。"
    )
