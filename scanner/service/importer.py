"""A run of the scanner's per-run SQLite store (`OUT/shinsa.sqlite`) into the service's
database: the run, each device (found again by its identity), its services, results,
requirement statuses, and the pre-aggregated summaries the dashboard reads.

Importing a run twice replaces it (its rows are deleted and written again in one
transaction), so `shinsa import OUT` can be re-run safely and a scheduled run that was
imported while going is completed by importing it again at its end.
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
from scanner.service import schema as t
from scanner.service.db import now, utc
from scanner.store import Store

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from scanner.judging.report_data import Device, ReportData
    from scanner.model import JSONValue
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
    checks = data.checks
    info = data.run
    started = utc(info.started) or now()
    with engine.begin() as conn:
        conn.execute(t.runs.delete().where(t.runs.c.id == run_id))
        conn.execute(
            t.runs.insert().values(
                id=run_id,
                site=site,
                schedule_id=schedule_id,
                trigger=trigger,
                started=started,
                finished=utc(info.finished),
                status=info.status,
                profile_id=info.profile_id,
                profile_digest=info.profile_digest,
                scanner_version=info.scanner_version,
                request=info.request,
                store_path=str(store_path),
                devices_total=len(data.devices),
                devices_done=sum(d.finished for d in data.devices),
                summary={},
                imported=now(),
            )
        )
        ids: dict[str, int] = {}
        fresh: list[int] = []
        totals: Counter[str] = Counter()
        statuses_all: dict[str, Counter[str]] = {}
        for device in data.devices:
            device_id, is_new = _device_for(conn, site, device, run_id, started)
            ids[device.address] = device_id
            if is_new:
                fresh.append(device_id)
            summary = _device_rows(conn, run_id, device_id, device, data, checks, started)
            totals.update(summary["verdicts"])
            totals.update(summary["severities"])
            for fw, counts in summary["statuses"].items():
                statuses_all.setdefault(fw, Counter()).update(counts)
        run_summary: dict[str, Any] = dict(totals)
        run_summary["statuses"] = {fw: dict(c) for fw, c in statuses_all.items()}
        run_summary["devices"] = len(data.devices)
        conn.execute(t.runs.update().where(t.runs.c.id == run_id).values(summary=run_summary))
    return Imported(run_id, ids, tuple(fresh))


def _device_for(
    conn: sa.Connection, site: str, device: Device, run_id: str, seen: Any
) -> tuple[int, bool]:
    """The device this address is, and whether it is new. By address on the site for now;
    identity keys (scanner/service/identity.py) follow a device that moved."""
    row = conn.execute(
        sa.select(t.devices.c.id).where(
            t.devices.c.site == site, t.devices.c.address == device.address
        )
    ).first()
    if row is not None:
        conn.execute(
            t.devices.update()
            .where(t.devices.c.id == row.id)
            .values(last_seen=seen, last_run_id=run_id, label=device.label)
        )
        return int(row.id), False
    new_id = conn.execute(
        t.devices.insert().values(
            site=site,
            address=device.address,
            label=device.label,
            first_seen=seen,
            last_seen=seen,
            last_run_id=run_id,
        )
    ).inserted_primary_key
    if new_id is None:  # a database that gives no key back: a bug of the dialect, not input
        raise RuntimeError("the database returned no ID for a new device")
    return int(new_id[0]), True


def _device_rows(
    conn: sa.Connection,
    run_id: str,
    device_id: int,
    device: Device,
    data: ReportData,
    checks: Mapping[str, Check],
    started: Any,
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
