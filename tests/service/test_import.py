"""A real scan of two lab devices (127.0.90.10-11) into a per-run store, imported into
SQLite and PostgreSQL: every device, service, result and status lands, the pre-aggregated
summaries equal the rows they summarise, identity signals and inventory are read, and
importing twice changes nothing. `shinsa db upgrade` and `shinsa import` from the command
line."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from scanner.cli.app import main
from scanner.service import migrate
from scanner.service import schema as t
from scanner.service.db import open_db
from scanner.service.importer import import_run
from scanner.store import Store
from tests.service.store_runs import camera, gateway, running, scan

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.lab

CAMERA = "127.0.90.10"
GATEWAY = "127.0.90.11"


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("import") / "out"
    with running([camera(), gateway()], CAMERA) as lab:
        assert [d.address for d in lab.devices] == [CAMERA, GATEWAY]
        run_id = scan(lab, out)
    return out, run_id


def _table(engine: sa.Engine, table: sa.Table, run_id: str) -> list[sa.Row[tuple[object, ...]]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(table).where(table.c.run_id == run_id)).all())


def _snapshot(engine: sa.Engine, run_id: str) -> dict[str, object]:
    with engine.connect() as conn:
        devices = conn.execute(sa.select(t.devices).order_by(t.devices.c.id)).all()
        keys = conn.execute(sa.select(t.identity_keys).order_by(t.identity_keys.c.value)).all()
    rows = {
        name: sorted(
            tuple(str(v) for k, v in r._mapping.items() if k != "imported")
            for r in _table(engine, table, run_id)
        )
        for name, table in (
            ("run_devices", t.run_devices),
            ("services", t.services),
            ("results", t.results),
            ("requirement_status", t.requirement_status),
        )
    }
    return {
        "devices": [(d.id, d.address, d.model, d.firmware, d.vendor) for d in devices],
        "keys": [(k.device_id, k.kind, k.value) for k in keys],
        **rows,
    }


def test_a_real_scan_is_imported_whole(db_url: str, scanned: tuple[Path, str]) -> None:
    out, run_id = scanned
    store_path = out / "shinsa.sqlite"
    with Store(store_path, create=False) as store:
        stored = store.results(run_id)
        stored_services = {a: store.services(run_id, a) for a in (CAMERA, GATEWAY)}
    engine = open_db(db_url)
    try:
        assert main(["db", "upgrade", "--db", db_url]) == 0
        done = import_run(engine, store_path, run_id, site="plant-1")
        assert set(done.devices) == {CAMERA, GATEWAY}
        assert sorted(done.new_devices) == sorted(done.devices.values())
        with engine.connect() as conn:
            run = conn.execute(sa.select(t.runs).where(t.runs.c.id == run_id)).one()
        assert run.site == "plant-1"
        assert run.trigger == "import"
        assert run.devices_total == 2
        assert run.summary["devices"] == 2

        results = _table(engine, t.results, run_id)
        # every stored result of the two devices is a row, under the device of its address
        assert len(results) == len(stored)
        by_device = {v: k for k, v in done.devices.items()}
        assert Counter((by_device[r.device_id], r.check_id) for r in results) == Counter(
            (r.target, r.check_id) for r in stored
        )
        services = _table(engine, t.services, run_id)
        assert {(by_device[s.device_id], s.transport, s.port) for s in services} == {
            (a, s.transport, s.port) for a, ss in stored_services.items() for s in ss
        }
        # the pre-aggregated summaries equal the rows
        statuses = _table(engine, t.requirement_status, run_id)
        total: Counter[str] = Counter()
        for rd in _table(engine, t.run_devices, run_id):
            mine = [r for r in results if r.device_id == rd.device_id]
            assert rd.summary["verdicts"] == dict(Counter(r.verdict for r in mine))
            assert rd.summary["new_device"] is True
            fw_counts: dict[str, Counter[str]] = {}
            for s in statuses:
                if s.device_id == rd.device_id:
                    fw_counts.setdefault(s.framework, Counter())[s.status] += 1
            assert rd.summary["statuses"] == {fw: dict(c) for fw, c in fw_counts.items()}
            total.update(rd.summary["verdicts"])
        assert {v: run.summary[v] for v in total} == dict(total)
        assert sum(total.values()) == len(stored) > 0

        # identity and inventory, as the devices answered
        camera_rd, gateway_rd = (
            next(rd for rd in _table(engine, t.run_devices, run_id) if rd.address == a)
            for a in (CAMERA, GATEWAY)
        )
        assert camera_rd.summary["identity"]["upnp-udn"].startswith("uuid:")
        assert camera_rd.summary["identity"]["snmp-sysdescr"] == "ACME Cam 200"
        certs = {
            e.details["sha256"]
            for r in stored
            if r.target == GATEWAY
            for e in r.evidence
            if e.kind == "tls_certificate"
        }
        assert len(certs) == 1
        assert gateway_rd.summary["identity"]["tls-cert"] == certs.pop()
        with engine.connect() as conn:
            cam = conn.execute(sa.select(t.devices).where(t.devices.c.address == CAMERA)).one()
            keys = conn.execute(sa.select(t.identity_keys)).all()
        # UPnP SERVER "Linux/3.10 UPnP/1.0 ACME/1.0": product/version
        assert (cam.model, cam.firmware) == ("ACME", "1.0")
        assert {(done.devices[a], k) for a, k in ((CAMERA, "upnp-udn"), (GATEWAY, "tls-cert"))} == {
            (k.device_id, k.kind) for k in keys
        }
        assert all(k.site == "plant-1" for k in keys)
    finally:
        engine.dispose()


def test_importing_twice_duplicates_nothing(db_url: str, scanned: tuple[Path, str]) -> None:
    out, run_id = scanned
    engine = open_db(db_url)
    try:
        assert main(["db", "upgrade", "--db", db_url]) == 0
        first = import_run(engine, out / "shinsa.sqlite", run_id)
        before = _snapshot(engine, run_id)
        again = import_run(engine, out / "shinsa.sqlite", run_id)
        assert again.devices == first.devices
        assert again.new_devices == first.new_devices  # still the run that found them
        assert _snapshot(engine, run_id) == before
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(t.runs)).scalar() == 1
    finally:
        engine.dispose()


def test_the_import_command(
    tmp_path: Path,
    scanned: tuple[Path, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out, run_id = scanned
    url = f"sqlite:///{tmp_path / 'service.sqlite'}"
    monkeypatch.setenv("SHINSA_DB", url)  # every db command reads it when --db is absent
    # a database never upgraded is refused, with what to run
    assert main(["import", str(out)]) == 2
    assert "shinsa db upgrade" in capsys.readouterr().err
    assert main(["db", "upgrade"]) == 0
    assert f"schema revision (none) -> {migrate.head()}" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert f"already at schema revision {migrate.head()}" in capsys.readouterr().out
    assert main(["import", str(out), "--site", "plant-2", "--run", "latest"]) == 0
    assert capsys.readouterr().out == f"imported {run_id}: 2 devices (2 new) into site plant-2\n"
    # again: the same devices, still new in the run that found them
    assert main(["import", str(out), "--site", "plant-2"]) == 0
    assert capsys.readouterr().out == f"imported {run_id}: 2 devices (2 new) into site plant-2\n"
    # the run moved to another site finds that site's devices (none yet)
    assert main(["import", str(out)]) == 0
    assert capsys.readouterr().out == f"imported {run_id}: 2 devices (2 new) into site default\n"
    assert main(["import", str(out), "--run", "nosuchrun"]) == 2
    assert "holds no run nosuchrun" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "nothing-here")]) == 2
    assert "no shinsa.sqlite here" in capsys.readouterr().err
    engine = open_db(url)
    try:
        with engine.connect() as conn:
            sites = conn.execute(
                sa.select(t.devices.c.site, sa.func.count()).group_by(t.devices.c.site)
            ).all()
        # one site's devices are not another's: the same addresses twice
        assert sorted((s, int(n)) for s, n in sites) == [("default", 2), ("plant-2", 2)]
    finally:
        engine.dispose()
