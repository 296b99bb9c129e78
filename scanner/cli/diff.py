"""`shinsa diff RUN_A RUN_B`: what changed per device between two stored runs.

For operators watching for drift: a port that opened, a check that started failing (or was
fixed), a requirement whose status moved, a certificate closer to expiry. Both runs are
judged with the same profile, so a change is the devices' doing, not the mapping's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.judging.assess import Status, assess
from scanner.model import Verdict

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import date

    from scanner.judging.profiles import Profile
    from scanner.model import JSONValue, Result, Service
    from scanner.store import Store


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


@dataclass(frozen=True, slots=True)
class Diff:
    run_a: str
    run_b: str
    profile: str
    added: tuple[tuple[str, str], ...]  # (address, label) only in run B
    removed: tuple[tuple[str, str], ...]  # only in run A
    devices: tuple[DeviceDiff, ...]  # in both runs and changed

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.devices)


def _days_left(results: Iterable[Result]) -> dict[str, int]:
    """Service key -> days the certificate had left, from the TLS checks' evidence."""
    out: dict[str, int] = {}
    for r in results:
        for e in r.evidence:
            days = e.details.get("days_left")
            if r.service and isinstance(days, int) and not isinstance(days, bool):
                out.setdefault(r.service.key, days)
    return out


def _device(
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
    days_a, days_b = _days_left(results[0]), _days_left(results[1])
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


def diff(store: Store, run_a: str, run_b: str, *, profile: Profile, today: date) -> Diff:
    """Compare two stored runs; unknown run IDs raise the store's ConfigError."""
    store.run(run_a)
    store.run(run_b)
    targets_a = {a: label for a, label, _ in store.targets(run_a)}
    targets_b = {a: label for a, label, _ in store.targets(run_b)}
    results_a, results_b = store.results(run_a), store.results(run_b)
    common = [a for a in targets_b if a in targets_a]
    # the same assessment the reports use (scanner.judging.report_data.collect), per run
    assessed = (
        assess(results_a, profile, common, today=today),
        assess(results_b, profile, common, today=today),
    )
    titles = {(fw, req.id): req.title for fw, req in assessed[1].requirements}
    by_target: tuple[dict[str, list[Result]], dict[str, list[Result]]] = ({}, {})
    for results, index in ((results_a, by_target[0]), (results_b, by_target[1])):
        for r in results:
            index.setdefault(r.target, []).append(r)
    devices: list[DeviceDiff] = []
    for address in common:
        per_run = tuple(
            {(st.framework, st.requirement.id): st.status for st in a.evidenced_for(address)}
            for a in assessed
        )
        d = _device(
            address,
            targets_b[address] or targets_a[address],
            (store.services(run_a, address), store.services(run_b, address)),
            (by_target[0].get(address, []), by_target[1].get(address, [])),
            (per_run[0], per_run[1]),
            titles,
        )
        if d.changed:
            devices.append(d)
    return Diff(
        run_a,
        run_b,
        profile.id,
        added=tuple((a, label) for a, label in targets_b.items() if a not in targets_a),
        removed=tuple((a, label) for a, label in targets_a.items() if a not in targets_b),
        devices=tuple(devices),
    )


_KINDS = ("new failure", "fixed", "changed")


def _name(address: str, label: str) -> str:
    return f"{address} ({label})" if label and label != address else address


def _v(verdict: Verdict | None) -> str:
    return verdict.value if verdict else "(none)"


def _days(days: int | None) -> str:
    return "no certificate" if days is None else f"{days} days left"


def render_text(d: Diff) -> str:
    lines = [f"shinsa diff {d.run_a} -> {d.run_b} (profile {d.profile})"]
    for address, label in d.added:
        lines.append(f"device added: {_name(address, label)}")
    for address, label in d.removed:
        lines.append(f"device removed: {_name(address, label)}")
    for dev in d.devices:
        lines.append(_name(dev.address, dev.label))
        lines += [f"  port opened: {s.key} {s.protocol}" for s in dev.opened]
        lines += [f"  port closed: {s.key} {s.protocol}" for s in dev.closed]
        for c in sorted(dev.checks, key=lambda c: _KINDS.index(c.kind)):  # worst news first
            where = f" on {c.service}" if c.service else ""
            lines.append(f"  {c.kind}: {c.check_id}{where}: {_v(c.before)} -> {_v(c.after)}")
        for s in dev.requirements:
            lines.append(
                f"  requirement {s.framework} {s.requirement}: {s.before.value} -> {s.after.value}"
            )
        for cert in dev.certificates:
            lines.append(
                f"  certificate on {cert.service}: {_days(cert.before)} -> {_days(cert.after)}"
            )
    if not d.changed:
        lines.append("no changes")
    return "\n".join(lines) + "\n"


def to_dict(d: Diff) -> dict[str, JSONValue]:
    def service(s: Service) -> JSONValue:
        return {"transport": s.transport, "port": s.port, "protocol": s.protocol}

    return {
        "run_a": d.run_a,
        "run_b": d.run_b,
        "profile": d.profile,
        "changed": d.changed,
        "added": [{"address": a, "label": label} for a, label in d.added],
        "removed": [{"address": a, "label": label} for a, label in d.removed],
        "devices": [
            {
                "address": dev.address,
                "label": dev.label,
                "opened": [service(s) for s in dev.opened],
                "closed": [service(s) for s in dev.closed],
                "checks": [
                    {
                        "check_id": c.check_id,
                        "service": c.service or None,
                        "before": c.before.value if c.before else None,
                        "after": c.after.value if c.after else None,
                        "kind": c.kind,
                    }
                    for c in dev.checks
                ],
                "requirements": [
                    {
                        "framework": s.framework,
                        "id": s.requirement,
                        "title": s.title,
                        "before": s.before.value,
                        "after": s.after.value,
                    }
                    for s in dev.requirements
                ],
                "certificates": [
                    {"service": c.service, "days_left_before": c.before, "days_left_after": c.after}
                    for c in dev.certificates
                ],
            }
            for dev in d.devices
        ],
    }


def render_json(d: Diff) -> str:
    return json.dumps(to_dict(d), indent=2, ensure_ascii=False) + "\n"
