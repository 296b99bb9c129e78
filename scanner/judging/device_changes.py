"""What changed on one device between two scans: services, check verdicts, requirement
statuses and certificate days left.

Shared by `shinsa diff` (two stored runs, scanner/cli/diff.py) and the service's drift
(scanner/service/drift.py), so that both read a change the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.judging.assess import Status
from scanner.model import Verdict

if TYPE_CHECKING:
    from collections.abc import Iterable

    from scanner.model import Result, Service


@dataclass(frozen=True, slots=True)
class VerdictChange:
    check_id: str
    service: str  # "tcp/22", or "" for a device-level check
    before: Verdict | None  # None: the check produced no result in that run
    after: Verdict | None

    @property
    def kind(self) -> str:
        """`new failure` (now fails, did not), `fixed` (failed, now passes), or `changed`."""
        if self.after is Verdict.FAIL:
            return "new failure"
        if self.before is Verdict.FAIL and self.after is Verdict.PASS:
            return "fixed"
        return "changed"


@dataclass(frozen=True, slots=True)
class StatusChange:
    framework: str
    requirement: str
    title: str
    before: Status
    after: Status


@dataclass(frozen=True, slots=True)
class CertificateChange:
    service: str
    before: int | None  # days left; None: no certificate seen on that service then
    after: int | None


@dataclass(frozen=True, slots=True)
class DeviceDiff:
    address: str
    label: str
    opened: tuple[Service, ...]
    closed: tuple[Service, ...]
    checks: tuple[VerdictChange, ...]
    requirements: tuple[StatusChange, ...]
    certificates: tuple[CertificateChange, ...]

    @property
    def changed(self) -> bool:
        return bool(
            self.opened or self.closed or self.checks or self.requirements or self.certificates
        )


def days_left(results: Iterable[Result]) -> dict[str, int]:
    """Service key -> days the certificate had left, from the TLS checks' evidence."""
    out: dict[str, int] = {}
    for r in results:
        for e in r.evidence:
            days = e.details.get("days_left")
            if r.service and isinstance(days, int) and not isinstance(days, bool):
                out.setdefault(r.service.key, days)
    return out


def compare_device(
    address: str,
    label: str,
    services: tuple[list[Service], list[Service]],
    results: tuple[list[Result], list[Result]],
    statuses: tuple[dict[tuple[str, str], Status], dict[tuple[str, str], Status]],
    titles: dict[tuple[str, str], str],
) -> DeviceDiff:
    keys_a = {s.key: s for s in services[0]}
    keys_b = {s.key: s for s in services[1]}
    moved = keys_a.keys() ^ keys_b.keys()
    verdicts_a = {(r.service_key, r.check_id): r.verdict for r in results[0]}
    verdicts_b = {(r.service_key, r.check_id): r.verdict for r in results[1]}
    changes = (
        VerdictChange(check, svc, verdicts_a.get((svc, check)), verdicts_b.get((svc, check)))
        for svc, check in sorted(verdicts_a.keys() | verdicts_b.keys())
        if verdicts_a.get((svc, check)) != verdicts_b.get((svc, check))
    )
    # A port that opened or closed is news in itself; of its checks only new failures are.
    checks = tuple(c for c in changes if c.service not in moved or c.kind == "new failure")
    # Only statuses with evidence are given; a requirement missing from one side is
    # not_assessed there (both runs are judged by the same profile). `titles` is in profile order.
    changed: list[StatusChange] = []
    for key in titles:
        if key in statuses[0] or key in statuses[1]:
            a = statuses[0].get(key, Status.NOT_ASSESSED)
            b = statuses[1].get(key, Status.NOT_ASSESSED)
            if a != b:
                changed.append(StatusChange(key[0], key[1], titles[key], a, b))
    requirements = tuple(changed)
    days_a, days_b = days_left(results[0]), days_left(results[1])
    certificates = tuple(
        CertificateChange(svc, days_a.get(svc), days_b.get(svc))
        for svc in sorted(days_a.keys() | days_b.keys())
        if days_a.get(svc) != days_b.get(svc)
    )
    return DeviceDiff(
        address,
        label,
        opened=tuple(s for k, s in keys_b.items() if k not in keys_a),
        closed=tuple(s for k, s in keys_a.items() if k not in keys_b),
        checks=checks,
        requirements=requirements,
        certificates=certificates,
    )
