"""Default credentials: does the device still accept a factory login?

One check per protocol. Every class is the same judgement over a different login client
(`probes/_login/`): pick the factory pairs for this device (vendor lists first, by
fingerprint), spend them within the per-account budget that keeps the device's lockout
threshold out of reach, and decide:

| what the client saw                                   | verdict        |
|-------------------------------------------------------|----------------|
| no pairs for this protocol, or no login surface       | not_applicable |
| a random bogus login "succeeded" too (HTTP control)   | inconclusive   |
| MQTT/RTSP let in a random login or none at all        | fail           |
| a factory login accepted                              | fail           |
| the device locked or throttled us before the end      | inconclusive   |
| attempts that could not complete, and no acceptance   | error / inconclusive |
| every pair tried rejected, some skipped for budget    | inconclusive   |
| every pair tried rejected                             | pass           |

IEC 62443-4-2 CR 1.5 (authenticator management), NIST SP 800-171 3.5.2, ETSI EN 303 645
5.1-1: no universal default passwords.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urljoin

from probes._login import ftp, http, mqtt, rtsp, snmp, ssh, telnet
from scanner.credential_lists import budget_plan, device_text
from scanner.credentials import FoundCredential, LoginRun, Outcome
from scanner.errors import ConfigError
from scanner.facts import HTTP_PAGES, LOGIN_FORMS, VALID_CREDENTIALS, on_service
from scanner.model import Evidence, Result, Verdict
from scanner.probe import Check, Params, ServiceProbe

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scanner.credentials import Credential
    from scanner.model import JSONValue, Service
    from scanner.probe import ProbeContext


@dataclass(frozen=True, slots=True)
class LoginBudget(Params):
    """How hard a default-credentials check may try on one device."""

    # The failure that would lock an account is never sent: at most
    # lockout_threshold - 1 - safety_margin failures per account per device. The defaults
    # assume the strictest common policy (lock at 3), so a default scan fails twice at most;
    # a profile for a device that locks at 5 might say 5 and 1 (three tries).
    lockout_threshold: int = 3
    safety_margin: int = 0
    max_pairs: int = 20  # pairs tried per service at most
    delay_seconds: float = 0.0  # pause between attempts, to spread them over time
    timeout_seconds: float = 10.0  # per attempt

    def __post_init__(self) -> None:
        if self.lockout_threshold < 1 or self.safety_margin < 0:
            raise ConfigError("lockout_threshold must be ≥ 1 and safety_margin ≥ 0")
        if self.max_pairs < 1 or self.delay_seconds < 0 or self.timeout_seconds <= 0:
            raise ConfigError("max_pairs ≥ 1, delay_seconds ≥ 0 and timeout_seconds > 0")

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


class _DefaultLogin(ServiceProbe):
    """One protocol's default-login check; subclasses name the client."""

    check: ClassVar[Check]
    family: ClassVar[str]  # the credential list's protocol key
    provides = frozenset({VALID_CREDENTIALS})
    max_attempts = 20
    #: a control login accepted means "no login needed" (fail) rather than "no oracle"
    control_means_open: ClassVar[bool] = False
    #: agents that cannot lock (SNMP communities) ignore the per-account budget
    lockable: ClassVar[bool] = True

    async def login(
        self, ctx: ProbeContext, service: Service, creds: Sequence[Credential], budget: LoginBudget
    ) -> LoginRun:
        """Run the protocol client over `creds`."""
        return await _CLIENTS[self.family](ctx.net, service, creds, timeout=budget.timeout_seconds)

    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        budget = ctx.params(self.check, LoginBudget)
        pairs = ctx.credentials.for_protocol(self.family, device_text(ctx.facts))
        where = f"{service} on {ctx.target.address}"
        if not pairs:
            return [
                self._result(
                    ctx,
                    service,
                    Verdict.NOT_APPLICABLE,
                    f"The credential lists have no {self.family} logins to try on {where}.",
                )
            ]
        limit = budget.per_account if self.lockable else len(pairs)
        async with ctx.ledger.turn:
            chosen, skipped = budget_plan(pairs, ctx.ledger, limit, budget.max_pairs)
            run = LoginRun(method=self.family)
            try:
                run = await self._spread(ctx, service, chosen, budget)
            finally:
                self._settle(ctx, chosen, run)
        return [self._judge(ctx, service, run, chosen, skipped, budget)]

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
        return LoginRun(first.method, tuple(attempts), first.control, first.note)

    @staticmethod
    def _settle(ctx: ProbeContext, chosen: Sequence[Credential], run: LoginRun) -> None:
        """Give back the budget of pairs never sent (or that never reached the login step),
        and of logins that succeeded."""
        sent = {id(a.credential): a for a in run.attempts}
        by_pair = {(a.credential.username, a.credential.password): a for a in run.attempts}
        for cred in chosen:
            attempt = sent.get(id(cred)) or by_pair.get((cred.username, cred.password))
            if attempt is None or attempt.outcome is Outcome.ACCEPTED or not attempt.delivered:
                ctx.ledger.release(cred.username)

    def _result(
        self,
        ctx: ProbeContext,
        service: Service,
        verdict: Verdict,
        reason: str,
        *evidence: Evidence,
    ) -> Result:
        return ctx.result(self.check, verdict, reason, *evidence, service=service)

    def _judge(
        self,
        ctx: ProbeContext,
        service: Service,
        run: LoginRun,
        chosen: Sequence[Credential],
        skipped: Sequence[Credential],
        budget: LoginBudget,
    ) -> Result:
        where = f"{service} on {ctx.target.address}"
        evidence = _evidence(run, skipped, budget)
        outcomes = [a.outcome for a in run.attempts]
        control = run.control

        def result(verdict: Verdict, reason: str) -> Result:
            return self._result(ctx, service, verdict, reason, evidence)

        if control is not None and control.outcome is Outcome.ACCEPTED:
            if self.control_means_open:
                return result(
                    Verdict.FAIL,
                    f"{where} lets a client in without valid credentials: a random login "
                    f"(or none) was accepted ({run.method}).",
                )
            return result(
                Verdict.INCONCLUSIVE,
                f"{where} answered a random bogus login the same way as a successful one "
                f"({control.detail}); without a success oracle no default login can be judged.",
            )
        accepted = [a for a in run.attempts if a.outcome is Outcome.ACCEPTED]
        if accepted:
            hit = accepted[0]
            ctx.facts.add(VALID_CREDENTIALS, FoundCredential(service, hit.credential, run.method))
            what = (
                "without credentials"
                if not hit.credential.username and not hit.credential.password
                else f"the factory login {hit.credential.masked()}"
            )
            return result(
                Verdict.FAIL,
                f"{where} accepted {what} ({run.method}).",
            )
        if not chosen and skipped:
            return result(
                Verdict.INCONCLUSIVE,
                f"No factory login could be tried on {where}: every account's attempt budget "
                f"({budget.per_account} failures per account per device, below the lockout "
                "threshold) was already spent on other services of this device.",
            )
        if not run.attempts and control is not None:
            # The surface exists, but the control login already met a lock, a rate limit
            # or an error: nothing could be tried, which is not "no login surface".
            verdict = Verdict.ERROR if control.outcome is Outcome.ERROR else Verdict.INCONCLUSIVE
            return result(
                verdict,
                f"{where} answered the first (control) login with {control.outcome.value} "
                f"({control.detail}); no factory login could be tried.",
            )
        if not run.attempts:
            return result(
                Verdict.NOT_APPLICABLE,
                f"No {self.family} login surface was found on {where}"
                + (f": {run.note}." if run.note else "."),
            )
        for stop, word in (
            (Outcome.LOCKED, "reported a lock"),
            (Outcome.THROTTLED, "throttled or dropped the attempts"),
        ):
            if stop in outcomes:
                last = next(a for a in run.attempts if a.outcome is stop)
                return result(
                    Verdict.INCONCLUSIVE,
                    f"{where} {word} after {len(run.attempts)} attempt(s) ({last.detail}); "
                    "the remaining factory logins were not tried, so this is not a pass.",
                )
        if len(run.attempts) < len(chosen) and run.note:
            return result(
                Verdict.INCONCLUSIVE,
                f"{where} rejected the {len(run.attempts)} factory login(s) tried, but the run "
                f"stopped before the other {len(chosen) - len(run.attempts)}: {run.note}.",
            )
        errors = outcomes.count(Outcome.ERROR)
        if errors == len(outcomes):
            return result(
                Verdict.ERROR,
                f"No login attempt on {where} could complete ({run.attempts[-1].detail}).",
            )
        if errors:
            return result(
                Verdict.INCONCLUSIVE,
                f"{where} rejected {len(outcomes) - errors} factory login(s), but "
                f"{errors} attempt(s) could not complete.",
            )
        if skipped:
            return result(
                Verdict.INCONCLUSIVE,
                f"{where} rejected the {len(outcomes)} factory login(s) tried; {len(skipped)} "
                f"more were not tried to stay below the lockout threshold "
                f"({budget.per_account} failures per account per device).",
            )
        return result(
            Verdict.PASS,
            f"{where} rejected all {len(outcomes)} factory login(s) for it ({run.method}).",
        )


def _evidence(run: LoginRun, skipped: Sequence[Credential], budget: LoginBudget) -> Evidence:
    details: dict[str, JSONValue] = {
        "method": run.method,
        "attempts": [a.to_json() for a in run.attempts],
        "control": run.control.to_json() if run.control else None,
        "skipped_for_budget": [c.masked() for c in skipped],
        "per_account_budget": budget.per_account,
    }
    if run.note:
        details["note"] = run.note
    summary = f"{run.method}: " + (
        ", ".join(f"{a.credential.masked()} {a.outcome.value}" for a in run.attempts[:6])
        or "no attempt"
    )
    return Evidence("auth_attempts", summary[:200], details)


#: the login client of each family but HTTP (whose client also takes the page facts)
_CLIENTS = {
    "ssh": ssh.try_logins,
    "telnet": telnet.try_logins,
    "ftp": ftp.try_logins,
    "mqtt": mqtt.try_logins,
    "snmp": snmp.try_logins,
    "rtsp": rtsp.try_logins,
}


def _check(protocol: str, title: str) -> Check:
    return Check(f"creds.default.{protocol}", title, _method(protocol), LoginBudget)


SSH = _check("ssh", "SSH rejects the vendor's factory logins")
TELNET = _check("telnet", "Telnet rejects the vendor's factory logins")
FTP = _check("ftp", "FTP rejects factory logins and anonymous access")
HTTP = _check("http", "The web interface rejects factory logins (Basic, Digest, form, JSON API)")
MQTT = _check("mqtt", "The MQTT broker refuses anonymous clients and factory logins")
SNMP = _check("snmp", "SNMP v1/v2c agents answer no default community string")
RTSP = _check("rtsp", "The RTSP stream requires a login, and not a factory one")


class DefaultSshLogin(_DefaultLogin):
    check = SSH
    checks = (SSH,)
    family = "ssh"
    protocols = frozenset({"ssh"})


class DefaultTelnetLogin(_DefaultLogin):
    check = TELNET
    checks = (TELNET,)
    family = "telnet"
    protocols = frozenset({"telnet"})


class DefaultFtpLogin(_DefaultLogin):
    check = FTP
    checks = (FTP,)
    family = "ftp"
    protocols = frozenset({"ftp"})


class DefaultHttpLogin(_DefaultLogin):
    check = HTTP
    checks = (HTTP,)
    family = "http"
    protocols = frozenset({"http", "https"})

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
        moved = next(
            (
                urljoin(p.url, p.location)
                for p in pages
                if p.location and not on_service(urljoin(p.url, p.location), service)
            ),
            None,
        )
        if moved and not forms and not any(p.auth_scheme for p in pages):
            return LoginRun(
                "http", note=f"it redirects to {moved}, whose login is checked on that service"
            )
        return await http.try_logins(
            ctx.net, service, creds, pages=pages, forms=forms, timeout=budget.timeout_seconds
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


class DefaultRtspLogin(_DefaultLogin):
    check = RTSP
    checks = (RTSP,)
    family = "rtsp"
    protocols = frozenset({"rtsp"})
    control_means_open = True  # a stream served to a client without credentials
