"""Read models of the service: what the dashboard (pages.py) and the REST API (api.py) show,
read from the database in one place so that both say the same thing.

The fleet overview, the device page and the trend read only pre-aggregated rows
(`runs.summary`, `run_devices`) and indexed lookups: the latest run of a device is
`devices.last_run_id` (one primary-key lookup per device, never a scan of its history), a
device's timeline is the `run_devices (device_id, started)` index read newest first and cut
at `history`, its findings and drift are the `(device_id, run_id)` indexes of `results` and
`drift`. So they cost the same at 36 runs of history as at 365 (bench/service/ measures it).

Every record is a frozen dataclass; FastAPI turns them into the API's JSON and its OpenAPI
schemas, which is why this module keeps its annotations evaluated at run time (no
`from __future__ import annotations`): pydantic reads them.
"""

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from scanner.plugins import installed
from scanner.service import schema as t
from scanner.service.db import utc

#: the fleet overview's groups, worst first: a device's worst failed severity in its latest
#: run, "none" (nothing failed), "unreachable" (its latest run could not scan it)
GROUPS = ("critical", "high", "medium", "low", "info", "none", "unreachable")
#: severities, worst first (scanner.probe.Severity)
SEVERITIES = ("critical", "high", "medium", "low", "info")
#: verdicts (scanner.model.Verdict)
VERDICTS = ("pass", "fail", "inconclusive", "error", "not_applicable", "skipped")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RunRow:
    """One run in a list: the runs page, the fleet's latest runs."""

    id: str  # the scanner's run ID
    site: str
    schedule_id: int | None  # the scan definition that started it (None: import, CLI)
    schedule: str  # that definition's name ("" without one)
    trigger: str  # schedule | run-now | import | cli
    started: datetime  # UTC
    finished: datetime | None  # UTC; None while it runs
    status: str  # queued | running | complete | incomplete | interrupted | crashed | stopped
    status_reason: str
    profile_id: str
    devices_total: int  # progress: devices the run scans
    devices_done: int  # progress: devices finished so far
    severities: dict[str, int]  # failed checks by severity, over every device
    verdicts: dict[str, int]  # results by verdict, over every device
    statuses: dict[str, dict[str, int]]  # framework -> requirement status -> devices' count


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """A device in the fleet overview, as its latest run left it."""

    id: int
    site: str
    address: str  # where it was last seen
    label: str
    vendor: str
    model: str
    group: str  # one of GROUPS
    worst_severity: str  # "" when nothing failed
    state: str  # its latest run's state: done | failed | pending ("" never scanned)
    severities: dict[str, int]  # failed checks by severity in its latest run
    verdicts: dict[str, int]  # results by verdict in its latest run
    last_run_id: str  # "" never scanned
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class Fleet:
    """The fleet overview: devices by the worst severity of their latest run."""

    site: str | None  # the site shown (None: every site)
    groups: dict[str, int]  # GROUPS -> number of devices (every group present, 0 too)
    devices: tuple[DeviceRow, ...]  # worst group first, then by address
    statuses: dict[str, dict[str, int]]  # framework -> status -> requirements, summed
    latest_runs: tuple[RunRow, ...]  # newest first
    sites: tuple[str, ...]  # every site that has devices or runs, for the site filter


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One run of a device in its timeline."""

    run_id: str
    started: datetime
    address: str  # where it was in that run
    state: str  # done | failed | pending
    reason: str  # why it was not scanned to the end ("" when it was)
    worst_severity: str
    severities: dict[str, int]
    verdicts: dict[str, int]


@dataclass(frozen=True, slots=True)
class Finding:
    """A failed check of a device's latest run."""

    check_id: str
    title: str  # the check's title (the problem a fail means); "" for an unknown check
    title_ja: str  # the same in Japanese ("" when the check has none)
    severity: str
    service_key: str  # "tcp/22"; "" for a device-level check
    reason: str
    reason_ja: str  # "" when the result carries no Japanese reason


@dataclass(frozen=True, slots=True)
class DriftRow:
    """One change found after a run, against the baseline or the previous run."""

    id: int
    run_id: str
    device_id: int | None
    address: str  # the device's address in that run ("" when unknown)
    against: str  # baseline | previous
    against_run_id: str
    kind: str  # scanner.service.drift.KINDS
    subject: str
    before: str
    after: str
    severity: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """Who a device is and what it runs (the inventory's fields)."""

    id: int
    site: str
    address: str
    label: str
    mac: str
    vendor: str
    model: str
    firmware: str
    first_seen: datetime
    last_seen: datetime
    last_run_id: str
    services: tuple[str, ...]  # from its latest run: "tcp/22 ssh", ...
    identity: dict[str, str]  # identity signals of its latest run: kind -> value


@dataclass(frozen=True, slots=True)
class DevicePage:
    """The device page."""

    device: DeviceInfo
    group: str  # one of GROUPS, from its latest run
    history: tuple[HistoryEntry, ...]  # newest first, at most `history` entries
    findings: tuple[Finding, ...]  # worst severity first
    drift: tuple[DriftRow, ...]  # of its latest run; baseline rows first
    baseline_run_id: str  # the active default baseline's run for it ("" none)


@dataclass(frozen=True, slots=True)
class RunDeviceRow:
    """A device in a run."""

    device_id: int
    address: str
    label: str
    state: str  # done | failed | pending
    reason: str
    reason_ja: str
    worst_severity: str
    severities: dict[str, int]
    verdicts: dict[str, int]


@dataclass(frozen=True, slots=True)
class AlertRow:
    """An alert in the outbox (sent, pending a retry, or failed after the last attempt)."""

    id: int
    run_id: str
    schedule_id: int | None
    channel: str  # webhook | smtp | syslog
    target: str  # secrets masked
    state: str  # pending | sent | failed
    attempts: int
    last_error: str
    created: datetime
    next_attempt: datetime | None
    sent: datetime | None


@dataclass(frozen=True, slots=True)
class RunPage:
    """The run page: progress, its devices, what drifted, the alerts it raised."""

    run: RunRow
    devices: tuple[RunDeviceRow, ...]  # worst first, then by address
    drift: tuple[DriftRow, ...]
    alerts: tuple[AlertRow, ...]


@dataclass(frozen=True, slots=True)
class InventoryRow:
    """A device in the inventory."""

    id: int
    site: str
    address: str
    label: str
    vendor: str
    model: str
    firmware: str
    mac: str
    services: tuple[str, ...]  # from its latest run
    first_seen: datetime
    last_seen: datetime
    last_run_id: str


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One run on the trend chart."""

    run_id: str
    site: str
    started: datetime
    devices: int
    severities: dict[str, int]  # every severity present, 0 too
    verdicts: dict[str, int]  # every verdict present, 0 too


@dataclass(frozen=True, slots=True)
class UserRow:
    """A local user (never the password hash)."""

    id: int
    name: str
    role: str  # viewer | operator | admin
    created: datetime
    disabled: bool
    locked_until: datetime | None
    lang: str


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One entry of the audit log: who did what."""

    id: int
    at: datetime
    actor: str  # user:NAME, token:NAME, cli, system
    action: str
    subject: str
    outcome: str
    remote: str
    detail: dict[str, Any] = field(default_factory=dict)


# --- the views -----------------------------------------------------------------------------


def fleet(engine: sa.Engine, *, site: str | None = None, latest: int = 10) -> Fleet:
    """The fleet overview of `site` (None: every site); `latest` runs listed."""
    with engine.connect() as conn:
        rows = conn.execute(_latest_of_devices(site)).all()
        devices = sorted((_device_row(r) for r in rows), key=_worst_first)
        groups = dict.fromkeys(GROUPS, 0)
        for d in devices:
            groups[d.group] += 1
        statuses: dict[str, dict[str, int]] = {}
        for r in rows:
            _add_statuses(statuses, _summary(r.summary).get("statuses"))
        sites = tuple(sorted({*_sites(conn), *_run_sites(conn)}))
        latest_runs = _latest_runs(conn, [site] if site is not None else list(sites), latest)
        return Fleet(
            site=site,
            groups=groups,
            devices=tuple(devices),
            statuses=statuses,
            latest_runs=tuple(_run_row(r) for r in latest_runs),
            sites=sites,
        )


def device(engine: sa.Engine, device_id: int, *, history: int = 60) -> DevicePage | None:
    """The device page; None for an unknown device. `history`: timeline entries shown."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(t.devices).where(t.devices.c.id == device_id)).first()
        if row is None:
            return None
        run_id = row.last_run_id or ""
        latest = None
        if run_id:
            latest = conn.execute(
                sa.select(t.run_devices).where(
                    t.run_devices.c.run_id == run_id, t.run_devices.c.device_id == device_id
                )
            ).first()
        summary = _summary(latest.summary) if latest is not None else {}
        info = DeviceInfo(
            id=int(row.id),
            site=row.site,
            address=row.address,
            label=row.label,
            mac=row.mac,
            vendor=row.vendor,
            model=row.model,
            firmware=row.firmware,
            first_seen=_when(row.first_seen),
            last_seen=_when(row.last_seen),
            last_run_id=run_id,
            services=_strings(summary.get("services")),
            identity=_string_map(summary.get("identity")),
        )
        timeline = conn.execute(
            sa.select(t.run_devices)
            .where(t.run_devices.c.device_id == device_id)
            .order_by(t.run_devices.c.started.desc())
            .limit(max(0, history))
        ).all()
        findings: list[Finding] = []
        drift: tuple[DriftRow, ...] = ()
        if run_id:
            failed = conn.execute(
                sa.select(t.results.c.check_id, t.results.c.severity, t.results.c.service_key)
                .add_columns(t.results.c.data)
                .where(
                    t.results.c.device_id == device_id,
                    t.results.c.run_id == run_id,
                    t.results.c.verdict == "fail",
                )
            ).all()
            findings = sorted((_finding(r) for r in failed), key=_finding_order)
            drift = tuple(
                sorted(
                    _drift_rows(
                        conn,
                        (t.drift.c.device_id == device_id) & (t.drift.c.run_id == run_id),
                    ),
                    key=lambda d: (d.against != "baseline", d.id),
                )
            )
        return DevicePage(
            device=info,
            group=_group(latest.state, latest.worst_severity) if latest is not None else "none",
            history=tuple(_history(r) for r in timeline),
            findings=tuple(findings),
            drift=drift,
            baseline_run_id=_baseline_of(conn, int(row.id), row.site),
        )


def run(engine: sa.Engine, run_id: str) -> RunPage | None:
    """The run page; None for an unknown run."""
    with engine.connect() as conn:
        row = conn.execute(_runs_query().where(t.runs.c.id == run_id)).first()
        if row is None:
            return None
        devs = conn.execute(sa.select(t.run_devices).where(t.run_devices.c.run_id == run_id)).all()
        devices = [
            RunDeviceRow(
                device_id=int(d.device_id),
                address=d.address,
                label=d.label,
                state=d.state,
                reason=d.reason,
                reason_ja=d.reason_ja,
                worst_severity=d.worst_severity,
                severities=_counts(_summary(d.summary).get("severities"), SEVERITIES),
                verdicts=_counts(_summary(d.summary).get("verdicts"), VERDICTS),
            )
            for d in devs
        ]
        devices.sort(key=lambda d: (GROUPS.index(_group(d.state, d.worst_severity)), d.address))
        alert_rows = conn.execute(
            sa.select(t.alerts).where(t.alerts.c.run_id == run_id).order_by(t.alerts.c.id)
        ).all()
        return RunPage(
            run=_run_row(row),
            devices=tuple(devices),
            drift=tuple(_drift_rows(conn, t.drift.c.run_id == run_id)),
            alerts=tuple(_alert_row(a) for a in alert_rows),
        )


def drift_of_run(engine: sa.Engine, run_id: str) -> tuple[DriftRow, ...] | None:
    """The drift rows of a run; None for an unknown run."""
    with engine.connect() as conn:
        if conn.execute(sa.select(t.runs.c.id).where(t.runs.c.id == run_id)).first() is None:
            return None
        return tuple(_drift_rows(conn, t.drift.c.run_id == run_id))


def runs(engine: sa.Engine, *, limit: int = 50, site: str | None = None) -> list[RunRow]:
    """The newest `limit` runs of `site` (None: every site), newest first."""
    with engine.connect() as conn:
        sites = [site] if site is not None else list(_run_sites(conn))
        return [_run_row(r) for r in _latest_runs(conn, sites, limit)]


def inventory(engine: sa.Engine, *, site: str | None = None) -> list[InventoryRow]:
    """Every device of `site` (None: every site) with what its latest run read."""
    with engine.connect() as conn:
        rows = conn.execute(_latest_of_devices(site)).all()
    out = [
        InventoryRow(
            id=int(r.id),
            site=r.site,
            address=r.address,
            label=r.label,
            vendor=r.vendor,
            model=r.model,
            firmware=r.firmware,
            mac=r.mac,
            services=_strings(_summary(r.summary).get("services")),
            first_seen=_when(r.first_seen),
            last_seen=_when(r.last_seen),
            last_run_id=r.last_run_id or "",
        )
        for r in rows
    ]
    out.sort(key=lambda i: (i.site, i.address, i.id))
    return out


def trend(engine: sa.Engine, *, site: str | None = None, limit: int = 60) -> list[TrendPoint]:
    """The last `limit` runs of `site` (None: every site), oldest first, for the chart."""
    with engine.connect() as conn:
        sites = [site] if site is not None else list(_run_sites(conn))
        rows = _latest_runs(conn, sites, limit)
    points = []
    for r in reversed(rows):
        summary = _summary(r.summary)
        points.append(
            TrendPoint(
                run_id=r.id,
                site=r.site,
                started=_when(r.started),
                devices=_int(summary.get("devices")),
                severities=_counts(summary, SEVERITIES),
                verdicts=_counts(summary, VERDICTS),
            )
        )
    return points


def alerts(engine: sa.Engine, *, limit: int = 100) -> list[AlertRow]:
    """The newest `limit` alerts, newest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.alerts).order_by(t.alerts.c.id.desc()).limit(max(0, limit))
        ).all()
    return [_alert_row(a) for a in rows]


def users(engine: sa.Engine) -> list[UserRow]:
    """Every local user, by name."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.users).order_by(t.users.c.name)).all()
    return [
        UserRow(
            id=int(u.id),
            name=u.name,
            role=u.role,
            created=_when(u.created),
            disabled=bool(u.disabled),
            locked_until=utc(u.locked_until),
            lang=u.lang,
        )
        for u in rows
    ]


def audit(engine: sa.Engine, *, limit: int = 200) -> list[AuditRow]:
    """The newest `limit` audit entries, newest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.audit_log)
            .order_by(t.audit_log.c.at.desc(), t.audit_log.c.id.desc())
            .limit(max(0, limit))
        ).all()
    return [
        AuditRow(
            id=int(a.id),
            at=_when(a.at),
            actor=a.actor,
            action=a.action,
            subject=a.subject,
            outcome=a.outcome,
            remote=a.remote,
            detail=dict(a.detail) if isinstance(a.detail, dict) else {},
        )
        for a in rows
    ]


# --- queries -------------------------------------------------------------------------------


def _latest_of_devices(site: str | None) -> sa.Select[Any]:
    """Each device with its latest run's row: joined on `devices.last_run_id`, a primary-key
    lookup of run_devices per device, whatever the length of the history."""
    rd = t.run_devices
    query = sa.select(
        t.devices,
        rd.c.state,
        rd.c.worst_severity,
        rd.c.summary,
    ).select_from(
        t.devices.outerjoin(
            rd, (rd.c.run_id == t.devices.c.last_run_id) & (rd.c.device_id == t.devices.c.id)
        )
    )
    if site is not None:
        query = query.where(t.devices.c.site == site)
    return query


def _runs_query() -> sa.Select[Any]:
    return sa.select(t.runs, t.schedules.c.name.label("schedule_name")).select_from(
        t.runs.outerjoin(t.schedules, t.schedules.c.id == t.runs.c.schedule_id)
    )


def _latest_runs(conn: sa.Connection, sites: Iterable[str], limit: int) -> list[Any]:
    """The newest `limit` runs over `sites`, newest first: one `(site, started)` index read
    per site, merged (ordering every run by start would read them all)."""
    found: list[Any] = []
    for site in sites:
        found.extend(
            conn.execute(
                _runs_query()
                .where(t.runs.c.site == site)
                .order_by(t.runs.c.started.desc())
                .limit(max(0, limit))
            ).all()
        )
    found.sort(key=lambda r: (_when(r.started), r.id), reverse=True)
    return found[: max(0, limit)]


def _sites(conn: sa.Connection) -> tuple[str, ...]:
    """The sites that have devices (the devices table is the fleet, not the history)."""
    rows = conn.execute(sa.select(t.devices.c.site).distinct().order_by(t.devices.c.site))
    return tuple(r.site for r in rows)


def _run_sites(conn: sa.Connection) -> tuple[str, ...]:
    """The sites that have runs: read from the `(site, started)` index, one entry per run
    (a run covers a whole site, so there are few: 365 a year per daily definition)."""
    rows = conn.execute(sa.select(t.runs.c.site).distinct()).scalars().all()
    return tuple(sorted(rows))


def _baseline_of(conn: sa.Connection, device_id: int, site: str) -> str:
    """The run of the active "default" baseline that covers the device: its own, else the
    site's whole-run baseline."""
    b = t.baselines
    rows = conn.execute(
        sa.select(b.c.run_id, b.c.device_id)
        .where(
            b.c.name == "default",
            b.c.site == site,
            b.c.active.is_(True),
            (b.c.device_id == device_id) | b.c.device_id.is_(None),
        )
        .order_by(b.c.accepted.desc())
    ).all()
    own = [r for r in rows if r.device_id is not None]
    chosen = own[0] if own else (rows[0] if rows else None)
    return str(chosen.run_id or "") if chosen is not None else ""


def _drift_rows(conn: sa.Connection, where: sa.ColumnElement[bool]) -> list[DriftRow]:
    d, rd = t.drift, t.run_devices
    rows = conn.execute(
        sa.select(d, rd.c.address)
        .select_from(
            d.outerjoin(rd, (rd.c.run_id == d.c.run_id) & (rd.c.device_id == d.c.device_id))
        )
        .where(where)
        .order_by(d.c.id)
    ).all()
    return [
        DriftRow(
            id=int(r.id),
            run_id=r.run_id or "",
            device_id=int(r.device_id) if r.device_id is not None else None,
            address=r.address or "",
            against=r.against,
            against_run_id=r.against_run_id or "",
            kind=r.kind,
            subject=r.subject,
            before=r.before,
            after=r.after,
            severity=r.severity,
            detail=dict(r.detail) if isinstance(r.detail, dict) else {},
        )
        for r in rows
    ]


# --- rows into records ---------------------------------------------------------------------


def _run_row(r: Any) -> RunRow:
    summary = _summary(r.summary)
    statuses: dict[str, dict[str, int]] = {}
    _add_statuses(statuses, summary.get("statuses"))
    return RunRow(
        id=r.id,
        site=r.site,
        schedule_id=r.schedule_id,
        schedule=r.schedule_name or "",
        trigger=r.trigger,
        started=_when(r.started),
        finished=utc(r.finished),
        status=r.status,
        status_reason=r.status_reason,
        profile_id=r.profile_id,
        devices_total=int(r.devices_total),
        devices_done=int(r.devices_done),
        severities=_counts(summary, SEVERITIES),
        verdicts=_counts(summary, VERDICTS),
        statuses=statuses,
    )


def _device_row(r: Any) -> DeviceRow:
    summary = _summary(r.summary)
    state = r.state or ""
    worst = r.worst_severity or ""
    return DeviceRow(
        id=int(r.id),
        site=r.site,
        address=r.address,
        label=r.label,
        vendor=r.vendor,
        model=r.model,
        group=_group(state, worst),
        worst_severity=worst,
        state=state,
        severities=_counts(summary.get("severities"), SEVERITIES),
        verdicts=_counts(summary.get("verdicts"), VERDICTS),
        last_run_id=r.last_run_id or "",
        last_seen=_when(r.last_seen),
    )


def _history(r: Any) -> HistoryEntry:
    summary = _summary(r.summary)
    return HistoryEntry(
        run_id=r.run_id,
        started=_when(r.started),
        address=r.address,
        state=r.state,
        reason=r.reason,
        worst_severity=r.worst_severity,
        severities=_counts(summary.get("severities"), SEVERITIES),
        verdicts=_counts(summary.get("verdicts"), VERDICTS),
    )


def _finding(r: Any) -> Finding:
    data = r.data if isinstance(r.data, dict) else {}
    title, title_ja = _titles().get(r.check_id, ("", ""))
    return Finding(
        check_id=r.check_id,
        title=str(data.get("title") or title),
        title_ja=str(data.get("title_ja") or title_ja),
        severity=r.severity,
        service_key=r.service_key,
        reason=str(data.get("reason") or ""),
        reason_ja=str(data.get("reason_ja") or ""),
    )


def _finding_order(f: Finding) -> tuple[int, str, str]:
    rank = SEVERITIES.index(f.severity) if f.severity in SEVERITIES else len(SEVERITIES)
    return rank, f.service_key, f.check_id


def _alert_row(a: Any) -> AlertRow:
    return AlertRow(
        id=int(a.id),
        run_id=a.run_id or "",
        schedule_id=a.schedule_id,
        channel=a.channel,
        target=a.target,
        state=a.state,
        attempts=int(a.attempts),
        last_error=a.last_error,
        created=_when(a.created),
        next_attempt=utc(a.next_attempt),
        sent=utc(a.sent),
    )


@functools.cache
def _titles() -> dict[str, tuple[str, str]]:
    """Check ID -> (title, Japanese title), from the installed checks (loaded once)."""
    return {cid: (c.title, c.title_ja) for cid, c in installed().checks().items()}


def _group(state: str, worst: str) -> str:
    if state == "failed":
        return "unreachable"
    return worst if worst in SEVERITIES else "none"


def _worst_first(d: DeviceRow) -> tuple[int, str, int]:
    return GROUPS.index(d.group), d.address, d.id


def _summary(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _counts(value: Any, keys: tuple[str, ...]) -> dict[str, int]:
    """`keys` -> count from a stored summary (every key present; what is missing is 0)."""
    source = value if isinstance(value, Mapping) else {}
    return {k: _int(source.get(k)) for k in keys}


def _add_statuses(into: dict[str, dict[str, int]], value: Any) -> None:
    """Add a stored {framework: {status: n}} into `into`."""
    if not isinstance(value, Mapping):
        return
    for fw, counts in value.items():
        if not isinstance(counts, Mapping):
            continue
        target = into.setdefault(str(fw), {})
        for status, n in counts.items():
            target[str(status)] = target.get(str(status), 0) + _int(n)


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _string_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _when(value: datetime | None) -> datetime:
    """A NOT NULL time, aware UTC (the epoch stands in for a row that lacks one)."""
    return utc(value) or _EPOCH
