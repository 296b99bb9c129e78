"""What a probe is, and what it receives.

A probe is a small stateless class that decides one or more checks by talking to a device.
It returns results; it never decides compliance (the profile and `assess` do).
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from scanner.credential_lists import AttemptLedger, CredentialCatalog
from scanner.model import Evidence, Result, Service, Target, Verdict

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from scanner.credentials import TestAccount
    from scanner.facts import FactKey, Facts
    from scanner.net import DeviceNetwork


@dataclass(frozen=True, slots=True)
class Params:
    """Base of the parameters a profile may set for a check; subclasses are frozen dataclasses."""


@dataclass(frozen=True, slots=True)
class NoParams(Params):
    pass


P = TypeVar("P", bound=Params)

#: The longest one job may claim (6 h: a bench unit's acceptance scan left running for an
#: afternoon). A probe declares what its waits need from the profile's parameters
#: (`Probe.time_needed`). One service measured with the largest limits the session and
#: lockout parameters accept stays under it; a claim above it is a profile asking more of
#: one check than a scan should wait, and its job ends as `error` at this ceiling. An
#: operator's own larger job_timeout is kept.
MAX_DECLARED_SECONDS = 6 * 3600.0


def job_deadline(job_timeout: float, declared: float) -> float:
    """The deadline of one job: the engine's job_timeout, or longer when the probe declared
    that the profile's waits need longer (at most MAX_DECLARED_SECONDS)."""
    return max(job_timeout, min(max(declared, 0.0), MAX_DECLARED_SECONDS))


class Severity(enum.StrEnum):
    """How much a failed check exposes the device, as scanners rate a finding (SARIF's
    security-severity bands, nuclei's severities): an auditor reads the worst first and a CI
    gate can stop at a level. It rates the finding, not the requirement it is evidence for."""

    INFO = "info"  # a gap an auditor records (a missing notice), no exposure by itself
    LOW = "low"  # hardening: worth fixing, not a way in by itself
    MEDIUM = "medium"  # weakens a protection an attacker must still get past
    HIGH = "high"  # exposes a login, a session or traffic to an attacker on the network
    CRITICAL = "critical"  # a way in as it stands: a factory login, an unprotected page

    @property
    def rank(self) -> int:
        """0 (info) .. 4 (critical): worst first is `sorted(..., key=rank, reverse=True)`."""
        return _SEVERITY_ORDER.index(self)


_SEVERITY_ORDER = (Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)


@dataclass(frozen=True, slots=True)
class Remedy:
    """What to do about a failed check, one short sentence in each report language. The
    Japanese follows the source guidebook's terms (対策, 初期認証, 認証ロック, セッション管理)."""

    en: str
    ja: str


@dataclass(frozen=True, slots=True)
class Check:
    """Everything the scanner says about one check, declared in one place: the probe module
    that decides it. Only the framework files that map it to requirements live elsewhere."""

    id: str  # "services.unexpected": stable forever, profiles refer to it
    title: str  # the problem a fail means, e.g. "Ports open that the profile does not allow"
    method: str  # how the probe decides, for auditors
    params: type[Params] = NoParams  # what a profile may set; validated when the profile loads
    severity: Severity = Severity.MEDIUM  # of a failed result
    severity_reason: str = ""  # why that severity, one line ("a way in as it stands")
    #: the probe kind profiles/standards/crosswalk.yaml lists its requirements under; a
    #: plugin's check, which no crosswalk knows, leaves it empty
    kind: str = ""
    remediation: Remedy = Remedy("", "")
    references: tuple[str, ...] = ()  # public weakness IDs and specifications: CWE-307, RFC 8996
    title_ja: str = ""  # the same in Japanese, for `--lang ja` (empty: a plugin without one)
    #: where the fix depends on the service a finding is about (Telnet off, HTTPS on):
    #: (protocol, remedy) pairs, tried before `remediation`
    remedies: tuple[tuple[str, Remedy], ...] = ()
    severity_reason_ja: str = ""  # severity_reason in Japanese (empty: a plugin without one)
    method_ja: str = ""  # method in Japanese, for auditors reading `--lang ja` (empty: none)

    def remedy_for(self, result: Result) -> Remedy:
        """The remedy for this finding: its service's own, else the check's."""
        protocol = result.service.protocol if result.service else ""
        return dict(self.remedies).get(protocol, self.remediation)


@dataclass(frozen=True, slots=True)
class ProbeContext:
    """Everything a probe gets from outside: probes import no client and no global."""

    target: Target
    net: DeviceNetwork
    facts: Facts
    params_by_check: Mapping[str, Params] = field(default_factory=dict)
    credentials: CredentialCatalog = field(default_factory=CredentialCatalog)
    ledger: AttemptLedger = field(default_factory=AttemptLedger)  # one per device
    test_account: TestAccount | None = None  # the profile's account for checks after a login

    def params(self, check: Check, kind: type[P]) -> P:
        """This check's parameters, typed; the check's defaults when the profile sets none."""
        value = self.params_by_check.get(check.id)
        if value is None:
            return kind()
        if not isinstance(value, kind):
            raise TypeError(
                f"{check.id} parameters are {type(value).__name__}, not {kind.__name__}"
            )
        return value

    def result(
        self,
        check: Check,
        verdict: Verdict,
        reason: str,
        *evidence: Evidence,
        service: Service | None = None,
        reason_ja: str = "",
    ) -> Result:
        """One result; `reason_ja` is the same sentence in Japanese, with the same facts
        (device, service, what was seen). A plugin that gives none still works: reports
        fall back to the English."""
        return Result(
            check_id=check.id,
            target=self.target.address,
            service=service,
            verdict=verdict,
            reason=reason,
            evidence=tuple(evidence),
            started=datetime.now(UTC),
            reason_ja=reason_ja,
        )

    def about(self, service: Service) -> ServiceResults:
        """Results about one service: the service given once, and the reason's "where"."""
        return ServiceResults(self, service)


@dataclass(frozen=True, slots=True)
class ServiceResults:
    """A probe's results about one service of the device (`ProbeContext.about`)."""

    ctx: ProbeContext
    service: Service

    @property
    def where(self) -> str:
        """How a reason names the service: `tcp/22 ssh on 127.0.10.3`."""
        return f"{self.service} on {self.ctx.target.address}"

    @property
    def where_ja(self) -> str:
        """The same in Japanese: `127.0.10.3 の tcp/22 (ssh)`."""
        return where_ja(self.ctx.target.address, self.service)

    def result(
        self, check: Check, verdict: Verdict, reason: str, *evidence: Evidence, reason_ja: str = ""
    ) -> Result:
        return self.ctx.result(
            check, verdict, reason, *evidence, service=self.service, reason_ja=reason_ja
        )


def where_ja(address: str, service: Service | None) -> str:
    """How a Japanese reason names a device's service: `127.0.10.3 の tcp/22 (ssh)`, or
    the address alone for a device-level result."""
    if service is None:
        return address
    return f"{address} の {service.key} ({service.protocol})"


class Phase(enum.IntEnum):
    """When a probe runs on a device: every job of an earlier phase on the device ends
    before a job of a later one starts. Observation first, so that what is read is the
    device as it ships, not as our failed logins left it (a throttled or banned source, a
    locked account); logins next, since sessions need their credentials; sessions before
    the long measurements over them, so their logins and logouts never overlap (a
    one-session device would end the other's); and the intrusive last, so that a lock it
    causes spoils no other check."""

    OBSERVE = 0  # reads what the device shows anyone: services, banners, TLS, SSH offer
    LOGIN = 1  # tries logins: factory credentials
    SESSION = 2  # logs in and looks at the session: cookies, fixation, logout
    MEASURE = 3  # holds sessions open for the profile's waits: idle, absolute, keep-alive
    INTRUSIVE = 4  # may lock accounts or change device state


class Probe(abc.ABC):
    """A family of checks that talk to one device. Subclasses hold no state."""

    checks: ClassVar[tuple[Check, ...]]
    needs: ClassVar[frozenset[FactKey[Any]]] = frozenset()
    provides: ClassVar[frozenset[FactKey[Any]]] = frozenset()
    #: facts it uses when present: it runs after every probe that provides them has run
    uses: ClassVar[frozenset[FactKey[Any]]] = frozenset()
    phase: ClassVar[Phase] = Phase.OBSERVE
    intrusive: ClassVar[bool] = False  # may lock accounts or change device state

    def time_needed(self, ctx: ProbeContext, service: Service | None) -> float:
        """Seconds one job of this probe may legitimately take with the profile's
        parameters: its waits plus margins for logins. The engine's deadline for the job is
        `job_deadline(job_timeout, this)`; 0 claims nothing beyond job_timeout."""
        del ctx, service
        return 0.0


class ServiceProbe(Probe):
    """Runs once per open service whose protocol it handles."""

    #: protocols handled; "*" means every service, identified or not
    protocols: ClassVar[frozenset[str]]

    def applies_to(self, service: Service) -> bool:
        return "*" in self.protocols or service.protocol in self.protocols

    @abc.abstractmethod
    async def run(self, ctx: ProbeContext, service: Service) -> list[Result]:
        """Return exactly one result per check in `checks`.

        Use `not_applicable` for a check that does not apply to this service. Raise only for
        the unexpected: the engine turns exceptions and timeouts into `error` results.
        """


class DeviceProbe(Probe):
    """Runs once per device, over everything discovery found."""

    @abc.abstractmethod
    async def run(self, ctx: ProbeContext, services: Sequence[Service]) -> list[Result]:
        """Return exactly one result per check in `checks`."""
