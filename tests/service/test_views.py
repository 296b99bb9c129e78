"""The service's read models (scanner/service/views.py): from real scans of a lab device
imported into the service's database, and from synthetic rows for the cases a lab scan
does not give (unreachable devices, several sites, drift, baselines, alerts, audit).

Each expectation is worked out from the rows themselves (results, requirement_status,
services), not from the pre-aggregated summaries the views read, so a summary the views
misread fails here."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from lab.device import LabDevice
from lab.personality import load_builtin
from scanner.service import schema as t
from scanner.service import views
from scanner.service.importer import import_run
from scanner.store import Store

if TYPE_CHECKING:
    from collections.abc import Iterator

SHINSA = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "shinsa"
LAB_ADDRESS = "127.0.95.10"  # the api block (127.0.95.0/24)
SCAN_TIMEOUT = 180.0
T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


# --- real scans ----------------------------------------------------------------------------


async def _scan_twice(out: Path) -> None:
    """Scan one lab PLC twice into the store at `out` (two runs of one device)."""
    async with LabDevice(load_builtin("legacy-plc"), LAB_ADDRESS) as device:
        ports = ",".join(
            f"U:{s.port}" if s.transport == "udp" else str(s.port) for s in device.services
        )
        for _ in range(2):
            proc = await asyncio.create_subprocess_exec(
                str(SHINSA),
                "scan",
                LAB_ADDRESS,
                "--ports",
                ports,
                "--profile",
                "base",
                "--out",
                str(out),
                "-q",
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                _, err = await asyncio.wait_for(proc.communicate(), SCAN_TIMEOUT)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                raise
            # 0: nothing failed, 1: findings; anything else is a scan that broke
            assert proc.returncode in (0, 1), err.decode(errors="replace")


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The store of two real scans and its run IDs, oldest first (scanned once per module)."""
    out = tmp_path_factory.mktemp("scans")
    asyncio.run(_scan_twice(out))
    with Store(out / "shinsa.sqlite", create=False) as store:
        ids = [r.id for r in sorted(store.runs(), key=lambda r: r.started)]
    assert len(ids) == 2
    return out / "shinsa.sqlite", ids


@pytest.fixture
def imported(engine: sa.Engine, scanned: tuple[Path, list[str]]) -> tuple[int, list[str]]:
    store, ids = scanned
    device_ids = {import_run(engine, store, rid, site="lab").devices[LAB_ADDRESS] for rid in ids}
    (device_id,) = device_ids  # one device, found again by its address in the second run
    return device_id, ids


def _fails(engine: sa.Engine, run_id: str, device_id: int) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(t.results).where(
                    t.results.c.run_id == run_id,
                    t.results.c.device_id == device_id,
                    t.results.c.verdict == "fail",
                )
            )
        )


def test_fleet_of_a_real_scan_groups_the_device_by_its_worst_failed_severity(
    engine: sa.Engine, imported: tuple[int, list[str]]
) -> None:
    device_id, ids = imported
    fails = _fails(engine, ids[-1], device_id)
    assert fails, "the lab PLC fails checks (cleartext web login)"
    worst = min(views.SEVERITIES.index(r.severity) for r in fails)
    with engine.connect() as conn:
        statuses = conn.execute(
            sa.select(t.requirement_status.c.framework, t.requirement_status.c.status).where(
                t.requirement_status.c.run_id == ids[-1]
            )
        ).all()
    expected_statuses: dict[str, Counter[str]] = {}
    for fw, status in statuses:
        expected_statuses.setdefault(fw, Counter())[status] += 1

    fleet = views.fleet(engine)

    assert fleet.groups[views.SEVERITIES[worst]] == 1
    assert sum(fleet.groups.values()) == 1
    (row,) = fleet.devices
    assert (row.id, row.address, row.last_run_id) == (device_id, LAB_ADDRESS, ids[-1])
    assert row.group == views.SEVERITIES[worst]
    assert row.severities == {s: sum(r.severity == s for r in fails) for s in views.SEVERITIES}
    # requirement statuses of the latest run only, not of both runs
    assert fleet.statuses == {fw: dict(c) for fw, c in expected_statuses.items()}
    assert [r.id for r in fleet.latest_runs] == ids[::-1]
    assert fleet.sites == ("lab",)
    assert views.fleet(engine, site="elsewhere").devices == ()


def test_device_page_of_a_real_scan_has_its_timeline_findings_and_services(
    engine: sa.Engine, imported: tuple[int, list[str]]
) -> None:
    device_id, ids = imported
    fails = _fails(engine, ids[-1], device_id)
    with engine.connect() as conn:
        services = conn.execute(
            sa.select(t.services.c.transport, t.services.c.port, t.services.c.protocol).where(
                t.services.c.run_id == ids[-1], t.services.c.device_id == device_id
            )
        ).all()

    page = views.device(engine, device_id)

    assert page is not None
    assert page.device.address == LAB_ADDRESS
    assert page.device.last_run_id == ids[-1]
    assert [h.run_id for h in page.history] == ids[::-1]  # newest first
    assert all(h.state == "done" for h in page.history)
    assert {(f.check_id, f.service_key) for f in page.findings} == {
        (r.check_id, r.service_key) for r in fails
    }
    for f in page.findings:
        assert f.title, f  # from the installed checks' catalogue
        assert f.title_ja, f
        assert f.reason, f  # the stored result's reasons, both languages
        assert f.reason_ja, f
    ranks = [views.SEVERITIES.index(f.severity) for f in page.findings]
    assert ranks == sorted(ranks)  # worst first
    assert set(page.device.services) == {f"{tr}/{p} {pr}" for tr, p, pr in services}
    assert page.history[0].verdicts["fail"] == len(fails)


def test_trend_inventory_and_run_page_of_real_scans(
    engine: sa.Engine, imported: tuple[int, list[str]]
) -> None:
    device_id, ids = imported
    with engine.connect() as conn:
        verdicts = Counter(
            conn.execute(
                sa.select(t.results.c.verdict).where(t.results.c.run_id == ids[0])
            ).scalars()
        )

    points = views.trend(engine)
    assert [p.run_id for p in points] == ids  # oldest first
    assert points[0].verdicts == {v: verdicts.get(v, 0) for v in views.VERDICTS}
    assert points[0].devices == 1

    (item,) = views.inventory(engine)
    assert (item.id, item.site, item.last_run_id) == (device_id, "lab", ids[-1])
    assert any(s.startswith("tcp/502 ") for s in item.services)

    page = views.run(engine, ids[0])
    assert page is not None
    assert page.run.status == "complete"
    assert (page.run.devices_done, page.run.devices_total) == (1, 1)
    assert [d.device_id for d in page.devices] == [device_id]
    assert views.run(engine, "no-such-run") is None
    assert views.device(engine, device_id + 1000) is None


# --- synthetic rows --------------------------------------------------------------------------


def _run(conn: sa.Connection, rid: str, day: int, *, site: str = "plant", **summary: Any) -> None:
    conn.execute(
        t.runs.insert().values(
            id=rid,
            site=site,
            trigger="schedule",
            started=T0 + timedelta(days=day),
            status="complete",
            profile_id="base",
            profile_digest="d",
            scanner_version="test",
            request={},
            devices_total=summary.pop("total", 0),
            devices_done=summary.pop("done", 0),
            summary=summary,
        )
    )


def _device(conn: sa.Connection, dev: int, address: str, *, site: str = "plant") -> None:
    conn.execute(
        t.devices.insert().values(
            id=dev, site=site, address=address, first_seen=T0, last_seen=T0, vendor="Acme"
        )
    )


def _seen(
    conn: sa.Connection,
    rid: str,
    dev: int,
    day: int,
    *,
    worst: str = "",
    state: str = "done",
    statuses: dict[str, dict[str, int]] | None = None,
    services: list[str] | None = None,
) -> None:
    """The device in run `rid`, as the importer writes it (and moves last_run_id)."""
    conn.execute(
        t.run_devices.insert().values(
            run_id=rid,
            device_id=dev,
            address=f"10.0.0.{dev}",
            state=state,
            reason="no answer" if state == "failed" else "",
            worst_severity=worst,
            worst_rank=views.SEVERITIES[::-1].index(worst) if worst else -1,
            summary={
                "verdicts": {"fail": 1} if worst else {"pass": 2},
                "severities": {worst: 1} if worst else {},
                "statuses": statuses or {},
                "services": services or [],
            },
            started=T0 + timedelta(days=day),
        )
    )
    conn.execute(
        t.devices.update()
        .where(t.devices.c.id == dev)
        .values(last_run_id=rid, last_seen=T0 + timedelta(days=day))
    )


@pytest.fixture
def fleet_db(engine: sa.Engine) -> sa.Engine:
    """Four devices on site "plant", one on "office"; two runs of plant, one of office.

    Device 1: critical in run 1, low in run 2 (latest). Device 2: unreachable in run 2.
    Device 3: nothing failed. Device 4: never scanned. Device 5 (office): high."""
    with engine.begin() as conn:
        _run(conn, "p1", 0, fail=3, critical=1, high=2, devices=3)
        _run(conn, "p2", 1, fail=1, low=1, devices=3, statuses={"iec": {"satisfied": 5}})
        _run(conn, "o1", 2, site="office", fail=1, high=1, devices=1)
        for dev in (1, 2, 3, 4):
            _device(conn, dev, f"10.0.0.{dev}")
        _device(conn, 5, "10.0.0.5", site="office")
        old = {"iec": {"not_satisfied": 9}}
        _seen(conn, "p1", 1, 0, worst="critical", statuses=old)
        _seen(conn, "p1", 2, 0, worst="high", statuses=old)
        _seen(conn, "p1", 3, 0, statuses=old)
        _seen(conn, "p2", 1, 1, worst="low", statuses={"iec": {"satisfied": 2, "x": 1}})
        _seen(conn, "p2", 2, 1, state="failed")
        _seen(conn, "p2", 3, 1, statuses={"iec": {"satisfied": 3}}, services=["tcp/22 ssh"])
        _seen(conn, "o1", 5, 2, worst="high", statuses={"etsi": {"not_satisfied": 1}})
    return engine


def test_fleet_counts_each_device_once_by_its_latest_run(fleet_db: sa.Engine) -> None:
    fleet = views.fleet(fleet_db)
    by_id = {d.id: d for d in fleet.devices}
    assert by_id[1].group == "low"  # its latest run, not its worse earlier one
    assert by_id[2].group == "unreachable"
    assert by_id[3].group == "none"
    assert by_id[4].group == "none"  # never scanned
    assert by_id[4].state == ""
    assert by_id[5].group == "high"
    assert fleet.groups == {
        "critical": 0,
        "high": 1,
        "medium": 0,
        "low": 1,
        "info": 0,
        "none": 2,
        "unreachable": 1,
    }
    # worst first; unreachable after every severity
    assert [d.id for d in fleet.devices] == [5, 1, 3, 4, 2]
    # statuses summed over each device's latest run (p1's not_satisfied are history)
    assert fleet.statuses == {
        "iec": {"satisfied": 5, "x": 1},
        "etsi": {"not_satisfied": 1},
    }
    assert fleet.sites == ("office", "plant")
    assert [r.id for r in fleet.latest_runs] == ["o1", "p2", "p1"]


def test_fleet_of_one_site(fleet_db: sa.Engine) -> None:
    fleet = views.fleet(fleet_db, site="plant")
    assert {d.id for d in fleet.devices} == {1, 2, 3, 4}
    assert fleet.groups["high"] == 0
    assert "etsi" not in fleet.statuses
    assert [r.id for r in fleet.latest_runs] == ["p2", "p1"]
    assert fleet.site == "plant"


def test_runs_and_trend_newest_runs_by_site(fleet_db: sa.Engine) -> None:
    assert [r.id for r in views.runs(fleet_db)] == ["o1", "p2", "p1"]
    assert [r.id for r in views.runs(fleet_db, limit=2)] == ["o1", "p2"]
    assert [r.id for r in views.runs(fleet_db, site="plant", limit=1)] == ["p2"]
    points = views.trend(fleet_db, site="plant")
    assert [p.run_id for p in points] == ["p1", "p2"]  # oldest first, for the chart
    assert points[0].severities == {"critical": 1, "high": 2, "medium": 0, "low": 0, "info": 0}
    assert points[1].verdicts["fail"] == 1
    assert points[1].devices == 3
    assert [p.run_id for p in views.trend(fleet_db, limit=2)] == ["p2", "o1"]


def test_device_history_is_newest_first_and_cut_at_its_limit(fleet_db: sa.Engine) -> None:
    with fleet_db.begin() as conn:
        for day in range(2, 12):
            _run(conn, f"p{day + 1}", day)
            _seen(conn, f"p{day + 1}", 1, day, worst="medium")
    page = views.device(fleet_db, 1, history=5)
    assert page is not None
    assert [h.run_id for h in page.history] == ["p12", "p11", "p10", "p9", "p8"]
    assert page.group == "medium"
    assert len(views.device(fleet_db, 1).history) == 12  # type: ignore[union-attr]


def test_unreachable_device_page_and_never_scanned_device(fleet_db: sa.Engine) -> None:
    page = views.device(fleet_db, 2)
    assert page is not None
    assert page.group == "unreachable"
    assert page.history[0].reason == "no answer"
    never = views.device(fleet_db, 4)
    assert never is not None
    assert (never.history, never.findings, never.group) == ((), (), "none")


def test_findings_titles_japanese_reasons_and_order(fleet_db: sa.Engine) -> None:
    rows = [
        ("tcp/80", "web.hsts", "fail", "low", {"reason": "no HSTS", "reason_ja": "HSTS なし"}),
        ("tcp/22", "creds.default.ssh", "fail", "critical", {"reason": "admin/admin"}),
        ("tcp/22", "ssh.kex", "pass", "", {"reason": "fine"}),
        ("", "vendor.custom", "fail", "medium", {"reason": "x", "title": "Stored title"}),
    ]
    with fleet_db.begin() as conn:
        conn.execute(
            t.results.insert(),
            [
                {
                    "run_id": "p2",
                    "device_id": 1,
                    "service_key": key,
                    "check_id": check,
                    "verdict": verdict,
                    "severity": severity,
                    "data": data,
                }
                for key, check, verdict, severity, data in rows
            ]
            # an older run's failure is not a current finding
            + [
                {
                    "run_id": "p1",
                    "device_id": 1,
                    "service_key": "tcp/23",
                    "check_id": "creds.default.telnet",
                    "verdict": "fail",
                    "severity": "critical",
                    "data": {},
                }
            ],
        )
    page = views.device(fleet_db, 1)
    assert page is not None
    assert [f.check_id for f in page.findings] == [
        "creds.default.ssh",
        "vendor.custom",
        "web.hsts",
    ]
    ssh, custom, hsts = page.findings
    assert ssh.title  # the catalogue's
    assert ssh.title_ja
    assert ssh.reason_ja == ""
    assert (hsts.reason, hsts.reason_ja) == ("no HSTS", "HSTS なし")
    assert (custom.title, custom.service_key) == ("Stored title", "")


def _drift(conn: sa.Connection, rid: str, dev: int, against: str, kind: str) -> None:
    conn.execute(
        t.drift.insert().values(
            run_id=rid,
            device_id=dev,
            against=against,
            against_run_id="p1",
            kind=kind,
            subject="tcp/23",
            before="closed",
            after="open",
            detail={"why": "test"},
        )
    )


def test_drift_baseline_and_run_page(fleet_db: sa.Engine) -> None:
    with fleet_db.begin() as conn:
        _drift(conn, "p2", 1, "previous", "fixed")
        _drift(conn, "p2", 1, "baseline", "service_opened")
        _drift(conn, "p1", 1, "baseline", "new_failure")  # an older run's: not current
        _drift(conn, "p2", 3, "previous", "service_closed")
        for run_id, dev in (("p1", None), ("p2", 3)):
            conn.execute(
                t.baselines.insert().values(
                    site="plant", run_id=run_id, device_id=dev, accepted=T0, accepted_by="op"
                )
            )
        conn.execute(
            t.alerts.insert().values(
                run_id="p2",
                channel="webhook",
                target="https://example.test/hook",
                payload={},
                state="failed",
                attempts=5,
                last_error="refused",
                created=T0,
            )
        )
    page = views.device(fleet_db, 1)
    assert page is not None
    assert [(d.against, d.kind) for d in page.drift] == [
        ("baseline", "service_opened"),
        ("previous", "fixed"),
    ]
    assert page.drift[0].address == "10.0.0.1"
    assert page.drift[0].detail == {"why": "test"}
    assert page.baseline_run_id == "p1"  # the site's whole-run baseline
    assert views.device(fleet_db, 3).baseline_run_id == "p2"  # type: ignore[union-attr]

    run = views.run(fleet_db, "p2")
    assert run is not None
    assert {d.kind for d in run.drift} == {"fixed", "service_opened", "service_closed"}
    assert [(a.channel, a.state, a.attempts) for a in run.alerts] == [("webhook", "failed", 5)]
    assert [d.device_id for d in run.devices] == [1, 3, 2]  # worst first, unreachable last
    assert [a.id for a in views.alerts(fleet_db)] == [run.alerts[0].id]
    assert {d.kind for d in views.drift_of_run(fleet_db, "p2") or ()} == {
        "fixed",
        "service_opened",
        "service_closed",
    }
    assert views.drift_of_run(fleet_db, "nope") is None


def test_inventory_reads_the_latest_run(fleet_db: sa.Engine) -> None:
    rows = {r.id: r for r in views.inventory(fleet_db)}
    assert rows[3].services == ("tcp/22 ssh",)
    assert rows[3].vendor == "Acme"
    assert rows[4].last_run_id == ""
    assert [r.id for r in views.inventory(fleet_db, site="office")] == [5]


def test_users_never_show_hashes_and_audit_is_newest_first(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            t.users.insert().values(
                name="ops", role="operator", password_hash="$argon2id$secret", created=T0
            )
        )
        for i in range(5):
            conn.execute(
                t.audit_log.insert().values(
                    at=T0 + timedelta(minutes=i), actor="cli", action=f"a{i}", detail={"i": i}
                )
            )
    (user,) = views.users(engine)
    assert (user.name, user.role, user.disabled) == ("ops", "operator", False)
    assert "argon2" not in repr(user)
    entries = views.audit(engine, limit=3)
    assert [e.action for e in entries] == ["a4", "a3", "a2"]
    assert entries[0].detail == {"i": 4}


# --- the pre-aggregated rule: no read of a device's whole history -----------------------------


@pytest.fixture
def statements(fleet_db: sa.Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def listen(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        seen.append((sql, params))

    sa.event.listen(fleet_db, "before_cursor_execute", listen)
    yield seen
    sa.event.remove(fleet_db, "before_cursor_execute", listen)


HISTORY_TABLES = ("run_devices", "results", "drift", "requirement_status", "services")


def test_fleet_and_device_page_search_history_tables_by_index_never_scan_them(
    fleet_db: sa.Engine, statements: list[tuple[str, Any]]
) -> None:
    views.fleet(fleet_db)
    views.device(fleet_db, 1)
    views.trend(fleet_db)
    assert statements
    raw = fleet_db.raw_connection()  # a DBAPI cursor: not recorded by the listener
    try:
        cursor = raw.cursor()
        plans = [
            detail
            for sql, params in statements
            for *_, detail in cursor.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        ]
        cursor.close()
    finally:
        raw.close()
    scans = [p for p in plans if p.startswith("SCAN") and p.split()[1] in HISTORY_TABLES]
    assert not scans, plans
    # the latest run of each device is a primary-key search, through devices.last_run_id
    assert any(p.startswith("SEARCH run_devices USING INDEX sqlite_autoindex") for p in plans)
