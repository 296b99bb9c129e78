"""A run of the scanner's per-run SQLite store (`OUT/shinsa.sqlite`) into the service's
database: the run, each device (found again by its identity), its services, results,
requirement statuses, and the pre-aggregated summaries the dashboard reads.

Importing a run twice replaces what it wrote (its run_devices, services, results and
statuses are deleted and written again in one transaction; the runs row is updated, so a
baseline naming it holds), and keeps the devices the first import chose: `shinsa import
OUT` can be re-run safely, and a scheduled run imported while going is completed by
importing it again at its end.

Devices are found again by their identity (scanner/service/identity.py: the services,
results and identity rows the store keeps), which also fills the inventory's vendor, model
and firmware; each run_devices.summary carries, besides the counts: "identity" ({kind:
value} read in this run), "new_device" (this run found it first) and, when another device
took the address, "identity_changed_from" (the ID of the address's previous device).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from scanner.codec import result_to_dict, service_to_dict
from scanner.judging.profiles import load_profile
from scanner.judging.report_data import collect, own_profiles
from scanner.model import Verdict
from scanner.plugins import installed
from scanner.probe import Severity
from scanner.service import identity
from scanner.service import schema as t
from scanner.service.db import now, utc
from scanner.store import Store

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime
    from pathlib import Path

    from scanner.judging.report_data import Device, ReportData
    from scanner.model import JSONValue, Result
    from scanner.probe import Check


@dataclass(frozen=True, slots=True)
class Imported:
    run_id: str
    devices: dict[str, int]  # address -> device ID
    new_devices: tuple[int, ...]  # devices first seen in this run


def stored_level(request: Mapping[str, JSONValue]) -> int | None:
    """The --level a stored run was scanned with (None: the profile's own)."""
    level = request.get("level")
    return level if isinstance(level, int) else None


def judge_stored(store: Store, run_id: str) -> ReportData:
    """The run judged as `shinsa report` judges it: each device by the profile it was
    scanned with, at the scan's level."""
    checks = installed().checks()
    info = store.run(run_id)
    level = stored_level(info.request)
    profile = load_profile(str(info.request.get("profile") or "base"), checks, level=level)
    own = own_profiles(info.request, checks, level)
    return collect(store, run_id, profile, checks, today=date.today(), profiles=own)


def import_run(
    engine: sa.Engine,
    store_path: Path,
    run_id: str,
    *,
    site: str = "default",
    trigger: str = "import",
    schedule_id: int | None = None,
) -> Imported:
    """Import one run of the store at `store_path` (see the module's docstring)."""
    with Store(store_path, create=False) as store:
        data = judge_stored(store, run_id)
        by_address: dict[str, list[Result]] = {}
        for r in store.results(run_id):
            by_address.setdefault(r.target, []).append(r)
        said = store.identity(run_id)  # nothing from a store made before it was kept
    checks = data.checks
    info = data.run
    started = utc(info.started) or now()
    found = [
        identity.signals(
            d.address, d.services, by_address.get(d.address, ()), said.get(d.address, ())
        )
        for d in data.devices
    ]
    shared = identity.shared_keys(found)
    run_row = {
        "site": site,
        "schedule_id": schedule_id,
        "trigger": trigger,
        "started": started,
        "finished": utc(info.finished),
        "status": info.status,
        "profile_id": info.profile_id,
        "profile_digest": info.profile_digest,
        "scanner_version": info.scanner_version,
        "request": info.request,
        "store_path": str(store_path),
        "devices_total": len(data.devices),
        "devices_done": sum(d.finished for d in data.devices),
        "summary": {},
        "imported": now(),
    }
    with engine.begin() as conn:
        had = conn.execute(sa.select(t.runs.c.site).where(t.runs.c.id == run_id)).first()
        # the same site: the devices of the first import; a run moved to another site
        # finds that site's devices
        earlier = _earlier_import(conn, run_id) if had and had.site == site else {}
        if had:
            # updated in place, not deleted: a baseline may name this run (RESTRICT), and its
            # drift and alerts stay; what the import writes is replaced
            conn.execute(t.runs.update().where(t.runs.c.id == run_id).values(**run_row))
            for table in (t.run_devices, t.services, t.results, t.requirement_status):
                conn.execute(table.delete().where(table.c.run_id == run_id))
        else:
            conn.execute(t.runs.insert().values(id=run_id, **run_row))
        # a device is its own site's (a target file's site=, a run spanning sites: scanner/
        # sites/), else the run's: followed, and kept in the inventory, under that site
        sites = device_sites(info.request, site)
        matches: dict[str, identity.Match] = {}
        for one in sorted({sites.get(d.address, site) for d in data.devices}):
            group = [s for s in found if sites.get(s.address, site) == one]
            mine = {a: m for a, m in earlier.items() if sites.get(a, site) == one}
            matches.update(identity.resolve(conn, one, group, mine))
        ids: dict[str, int] = {}
        fresh: list[int] = []
        totals: Counter[str] = Counter()
        statuses_all: dict[str, Counter[str]] = {}
        for device, signals in zip(data.devices, found, strict=True):
            match = matches[device.address]
            own = sites.get(device.address, site)
            device_id, is_new = _device_for(conn, own, device, signals, match, run_id, started)
            identity.remember(conn, own, device_id, identity.usable_keys(signals, shared), started)
            ids[device.address] = device_id
            if is_new:
                fresh.append(device_id)
            extra: dict[str, Any] = {"identity": signals.summary(), "new_device": is_new}
            if match.changed_from is not None:
                extra["identity_changed_from"] = match.changed_from
            summary = _device_rows(conn, run_id, device_id, device, data, checks, started, extra)
            totals.update(summary["verdicts"])
            totals.update(summary["severities"])
            for fw, counts in summary["statuses"].items():
                statuses_all.setdefault(fw, Counter()).update(counts)
        run_summary: dict[str, Any] = dict(totals)
        run_summary["statuses"] = {fw: dict(c) for fw, c in statuses_all.items()}
        run_summary["devices"] = len(data.devices)
        run_summary["new_devices"] = len(fresh)
        conn.execute(t.runs.update().where(t.runs.c.id == run_id).values(summary=run_summary))
    return Imported(run_id, ids, tuple(fresh))


def device_sites(request: Mapping[str, Any], site: str) -> dict[str, str]:
    """address -> the site a stored run's target names ([address, label, profile, site]);
    a device naming none is the run's `site`."""
    out: dict[str, str] = {}
    targets = request.get("targets")
    for row in targets if isinstance(targets, list) else ():
        if isinstance(row, list) and len(row) > 3 and row[3]:
            out[str(row[0])] = str(row[3])
    return out


def _earlier_import(conn: sa.Connection, run_id: str) -> dict[str, identity.Match]:
    """The devices an earlier import of this run gave each address: importing it again
    keeps them (and what that import found new or changed), whatever came since."""
    rows = conn.execute(
        sa.select(
            t.run_devices.c.address, t.run_devices.c.device_id, t.run_devices.c.summary
        ).where(t.run_devices.c.run_id == run_id)
    )
    out: dict[str, identity.Match] = {}
    for row in rows:
        summary = row.summary if isinstance(row.summary, dict) else {}
        changed = summary.get("identity_changed_from")
        out[str(row.address)] = identity.Match(
            int(row.device_id),
            "new" if summary.get("new_device") else "again",
            changed_from=changed if isinstance(changed, int) else None,
        )
    return out


def _device_for(
    conn: sa.Connection,
    site: str,
    device: Device,
    signals: identity.Signals,
    match: identity.Match,
    run_id: str,
    seen: datetime,
) -> tuple[int, bool]:
    """The device's row, written or brought up to date; its ID, and whether this run
    found it first."""
    inventory = identity.inventory(signals)
    if match.device_id is None:
        new_id = conn.execute(
            t.devices.insert().values(
                site=site,
                address=device.address,
                label=device.label,
                first_seen=seen,
                last_seen=seen,
                last_run_id=run_id,
                **inventory,
            )
        ).inserted_primary_key
        if new_id is None:  # a database that gives no key back: a dialect's bug, not input
            raise RuntimeError("the database returned no ID for a new device")
        return int(new_id[0]), True
    row = conn.execute(
        sa.select(t.devices.c.first_seen, t.devices.c.last_seen).where(
            t.devices.c.id == match.device_id
        )
    ).one()
    first, last = utc(row.first_seen), utc(row.last_seen)
    values: dict[str, Any] = {}
    if first is None or seen < first:
        values["first_seen"] = seen
    if last is None or seen >= last:
        # the newest run says where the device is and what it runs; an older run imported
        # late only moves first_seen back
        values.update(
            address=device.address,
            label=device.label,
            last_seen=seen,
            last_run_id=run_id,
            **inventory,
        )
    if values:
        conn.execute(t.devices.update().where(t.devices.c.id == match.device_id).values(**values))
    return match.device_id, match.how == "new"


def _device_rows(
    conn: sa.Connection,
    run_id: str,
    device_id: int,
    device: Device,
    data: ReportData,
    checks: Mapping[str, Check],
    started: datetime,
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    """Write the device's services, results and statuses; its summary, also written."""
    if device.services:
        conn.execute(
            t.services.insert(),
            [
                {
                    "run_id": run_id,
                    "device_id": device_id,
                    "transport": s.transport,
                    "port": s.port,
                    "protocol": s.protocol,
                    "data": service_to_dict(s),
                }
                for s in device.services
            ],
        )
    verdicts: Counter[str] = Counter()
    severities: Counter[str] = Counter()
    worst = -1
    rows = []
    for judged in data.assessment.results_for(device.address):
        r = judged.result
        check = checks.get(r.check_id)
        severity = check.severity if check is not None else Severity.MEDIUM
        verdicts[r.verdict.value] += 1
        if judged.counts_as_fail:
            severities[severity.value] += 1
            worst = max(worst, severity.rank)
        rows.append(
            {
                "run_id": run_id,
                "device_id": device_id,
                "service_key": r.service.key if r.service else "",
                "check_id": r.check_id,
                "verdict": r.verdict.value,
                "severity": severity.value if r.verdict is Verdict.FAIL else "",
                "data": result_to_dict(r),
            }
        )
    if rows:
        conn.execute(t.results.insert(), rows)
    statuses: dict[str, Counter[str]] = {}
    status_rows = []
    for s in data.assessment.evidenced_for(device.address):
        statuses.setdefault(s.framework, Counter())[s.status.value] += 1
        status_rows.append(
            {
                "run_id": run_id,
                "device_id": device_id,
                "framework": s.framework,
                "requirement": s.requirement.id,
                "status": s.status.value,
            }
        )
    if status_rows:
        conn.execute(t.requirement_status.insert(), status_rows)
    worst_name = list(Severity)[worst].value if worst >= 0 else ""
    summary: dict[str, Any] = {
        "verdicts": dict(verdicts),
        "severities": dict(severities),
        "statuses": {fw: dict(c) for fw, c in statuses.items()},
        "services": [str(s) for s in device.services],
        **extra,
    }
    conn.execute(
        t.run_devices.insert().values(
            run_id=run_id,
            device_id=device_id,
            address=device.address,
            label=device.label,
            state="done"
            if device.finished
            else ("failed" if device.unfinished_reason else "pending"),
            reason=device.unfinished_reason,
            reason_ja=device.unfinished_reason_ja,
            worst_severity=worst_name,
            worst_rank=worst,
            summary=summary,
            started=started,
        )
    )
    return summary
