"""`shinsa diff RUN_A RUN_B`: what changed per device between two stored runs.

For operators watching for drift: a port that opened, a check that started failing (or was
fixed), a requirement whose status moved, a certificate closer to expiry. Both runs are
judged with the same profile, so a change is the devices' doing, not the mapping's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.judging.assess import assess
from scanner.judging.device_changes import DeviceDiff, compare_device

if TYPE_CHECKING:
    from datetime import date

    from scanner.judging.profiles import Profile
    from scanner.model import JSONValue, Result, Service, Verdict
    from scanner.store import Store


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
        d = compare_device(
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
