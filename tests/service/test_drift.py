"""Drift after real scans: a lab camera hardened (no telnet, no factory login, no version in
its web server header) is accepted as the baseline; then the factory firmware comes back
and its neighbour goes silent; then the hardened firmware returns. Transient flips,
certificates and identity changes are made by editing a copy of a real run in the
database (scanner/service/importer.py wrote the original)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from lab.personality import Account, Personality, load_builtin
from scanner.errors import ConfigError
from scanner.service import baselines, drift
from scanner.service import schema as t
from scanner.service.db import utc
from scanner.service.importer import import_run
from tests.service.lab_runs import running, scan
from tests.service.store_runs import Seen, write_run

if TYPE_CHECKING:
    from pathlib import Path

    from lab.personality import ServiceSpec

CAMERA, NEIGHBOUR = "127.0.94.20", "127.0.94.21"


def _harden(spec: ServiceSpec) -> ServiceSpec:
    if spec.protocol == "ftp":
        return dataclasses.replace(spec, anonymous=False)
    if spec.protocol == "http":
        return dataclasses.replace(spec, server="webserver")  # no version to disclose
    return spec


def hardened() -> Personality:
    factory = load_builtin("weak-camera")
    return dataclasses.replace(
        factory,
        services=tuple(_harden(s) for s in factory.services if s.protocol != "telnet"),
        accounts=(Account("admin", "Long-unguessable-9f2c"),),
    )


@dataclasses.dataclass(frozen=True)
class Runs:
    out: Path
    baseline: str  # hardened camera + factory neighbour
    regressed: str  # factory camera, the neighbour silent (still targeted)
    restored: str  # as the baseline


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    out = tmp_path_factory.mktemp("drift") / "out"
    factory = load_builtin("weak-camera")
    with running([hardened(), factory], CAMERA) as lab:
        first, _ = scan(lab, out)
    with running([factory], CAMERA) as lab:
        second, _ = scan(lab, out, also=[NEIGHBOUR])
    with running([hardened(), factory], CAMERA) as lab:
        third, _ = scan(lab, out)
    return Runs(out, first, second, third)


def _import(engine: sa.Engine, runs: Runs, *run_ids: str) -> None:
    for run_id in run_ids:
        import_run(engine, runs.out / "shinsa.sqlite", run_id)


def _kinds(found: list[drift.Drift]) -> set[tuple[str, str, str, str]]:
    return {(d.against, d.kind, d.address, d.subject) for d in found}


def test_two_real_scans_against_the_accepted_run(any_engine: sa.Engine, runs: Runs) -> None:
    engine = any_engine
    _import(engine, runs, runs.baseline)
    baselines.accept(engine, runs.baseline, by="cli")
    assert drift.compute(engine, runs.baseline) == []  # the baseline is as accepted
    _import(engine, runs, runs.regressed)
    found = drift.compute(engine, runs.regressed)
    kinds = _kinds(found)
    # the previous run IS the baseline: said once, against the baseline
    assert {d.against for d in found} == {"baseline"}
    assert ("baseline", "device_unreachable", NEIGHBOUR, NEIGHBOUR) in kinds
    assert ("baseline", "service_opened", CAMERA, "tcp/23 telnet") in kinds
    assert ("baseline", "new_failure", CAMERA, "creds.default.telnet on tcp/23") in kinds
    assert ("baseline", "new_failure", CAMERA, "banner.version-disclosure on tcp/80") in kinds
    assert {d.kind for d in found} <= {
        "device_unreachable",
        "service_opened",
        "new_failure",
        "status_regression",
    }
    assert any(d.kind == "status_regression" and d.after == "not_satisfied" for d in found)
    telnet = next(d for d in found if d.subject == "creds.default.telnet on tcp/23")
    assert (telnet.before, telnet.after, telnet.severity) == ("", "fail", "critical")
    banner = next(d for d in found if d.subject == "banner.version-disclosure on tcp/80")
    assert (banner.before, banner.after) == ("pass", "fail")
    silent = next(d for d in found if d.kind == "device_unreachable")
    assert silent.after == "no answer"
    assert silent.against_run_id == runs.baseline
    # worst news first, then by address: a stable order for alerts and --json
    order = [drift.KINDS.index(d.kind) for d in found]
    assert order == sorted(order)


def test_the_hardened_firmware_back_is_a_fix_against_the_previous_run(
    any_engine: sa.Engine, runs: Runs
) -> None:
    engine = any_engine
    _import(engine, runs, runs.baseline)
    baselines.accept(engine, runs.baseline, by="cli")
    _import(engine, runs, runs.regressed, runs.restored)
    found = drift.compute(engine, runs.restored)
    kinds = _kinds(found)
    assert ("previous", "service_closed", CAMERA, "tcp/23 telnet") in kinds
    assert ("previous", "fixed", CAMERA, "banner.version-disclosure on tcp/80") in kinds
    # back to the accepted state: nothing against the baseline; the silent neighbour of
    # the previous run answering again is not news (nothing was measured to compare)
    assert not [d for d in found if d.against == "baseline" or d.address == NEIGHBOUR]
    assert {d.kind for d in found} <= {"service_closed", "fixed"}
    assert all(d.against_run_id == runs.regressed for d in found)


def test_without_a_baseline_only_the_previous_run_counts(engine: sa.Engine, runs: Runs) -> None:
    _import(engine, runs, runs.baseline, runs.regressed)
    found = drift.compute(engine, runs.regressed)
    assert {d.against for d in found} == {"previous"}
    assert ("previous", "device_unreachable", NEIGHBOUR, NEIGHBOUR) in _kinds(found)
    assert drift.compute(engine, runs.baseline) == []  # the first run has nothing before it


def test_compute_and_store_replaces_the_runs_rows(any_engine: sa.Engine, runs: Runs) -> None:
    engine = any_engine
    _import(engine, runs, runs.baseline, runs.regressed)
    first = drift.compute_and_store(engine, runs.regressed)
    again = drift.compute_and_store(engine, runs.regressed)
    assert first == again
    with engine.connect() as conn:
        count = conn.execute(
            sa.select(sa.func.count()).where(t.drift.c.run_id == runs.regressed)
        ).scalar()
    assert count == len(first) > 0
    assert drift.stored(engine, runs.regressed) == first


def test_a_device_not_targeted_is_not_unreachable(engine: sa.Engine, runs: Runs) -> None:
    _import(engine, runs, runs.baseline)
    baselines.accept(engine, runs.baseline, by="cli")
    later = _clone(engine, runs.baseline, "later", minutes=10)
    neighbour = _device(engine, NEIGHBOUR)
    with engine.begin() as conn:
        for table in (t.run_devices, t.services, t.results, t.requirement_status):
            conn.execute(
                table.delete().where(table.c.run_id == later, table.c.device_id == neighbour)
            )
        conn.execute(
            t.runs.update().where(t.runs.c.id == later).values(request={"targets": [[CAMERA, ""]]})
        )
    assert drift.compute(engine, later) == []
    with engine.begin() as conn:  # the same run, targeting the neighbour: now it is missing
        conn.execute(
            t.runs.update()
            .where(t.runs.c.id == later)
            .values(request={"targets": [[CAMERA, ""], [NEIGHBOUR, ""]]})
        )
    assert _kinds(drift.compute(engine, later)) == {
        ("baseline", "device_unreachable", NEIGHBOUR, NEIGHBOUR)
    }


def test_a_failed_device_is_unreachable_and_not_compared_check_by_check(
    engine: sa.Engine, runs: Runs
) -> None:
    _import(engine, runs, runs.baseline)
    later = _clone(engine, runs.baseline, "later", minutes=10)
    camera = _device(engine, CAMERA)
    with engine.begin() as conn:
        conn.execute(
            t.run_devices.update()
            .where(t.run_devices.c.run_id == later, t.run_devices.c.device_id == camera)
            .values(state="failed", reason="the scan's time ran out")
        )
        conn.execute(  # what a half-scanned device lacks is not a closed port
            t.services.delete().where(
                t.services.c.run_id == later,
                t.services.c.device_id == camera,
                t.services.c.port == 80,
            )
        )
    (found,) = drift.compute(engine, later)
    assert (found.against, found.kind, found.address) == ("previous", "device_unreachable", CAMERA)
    assert found.after == "failed"
    assert found.detail["reason"] == "the scan's time ran out"


def test_new_device_and_identity_change(engine: sa.Engine, runs: Runs) -> None:
    _import(engine, runs, runs.baseline)
    baselines.accept(engine, runs.baseline, by="cli")
    later = _clone(engine, runs.baseline, "later", minutes=10)
    camera, neighbour = _device(engine, CAMERA), _device(engine, NEIGHBOUR)
    with engine.begin() as conn:
        # the neighbour's address now answers as another device (the store's identity
        # matching says which it replaced); a third device appears
        replacement = _move_to_new_device(conn, later, neighbour, NEIGHBOUR)
        conn.execute(
            t.run_devices.update()
            .where(t.run_devices.c.run_id == later, t.run_devices.c.device_id == replacement)
            .values(summary={"services": ["tcp/21 ftp"], "identity_changed_from": neighbour})
        )
        stranger = _move_to_new_device(conn, later, camera, "127.0.94.22", copy=True)
    found = drift.compute(engine, later)
    # the previous run is the baseline: each change is said once, against the baseline
    assert _kinds(found) == {
        ("baseline", "identity_changed", NEIGHBOUR, NEIGHBOUR),
        ("baseline", "new_device", "127.0.94.22", "127.0.94.22"),
    }
    changed = next(d for d in found if d.kind == "identity_changed")
    assert (changed.before, changed.after) == (str(neighbour), str(replacement))
    assert next(d for d in found if d.kind == "new_device").device_id == stranger


def test_a_device_baseline_wins_over_the_run_baseline(engine: sa.Engine, runs: Runs) -> None:
    _import(engine, runs, runs.baseline, runs.regressed, runs.restored)
    baselines.accept(engine, runs.baseline, by="cli")
    # the factory camera accepted as it is (a deviation signed off): no drift for it
    baselines.accept(engine, runs.regressed, device=CAMERA, by="cli")
    found = drift.compute(engine, runs.regressed)
    assert {d.address for d in found if d.against == "baseline"} == {NEIGHBOUR}
    # and against its own baseline, the hardened camera of the third run drifted back
    third = _kinds(drift.compute(engine, runs.restored))
    assert ("baseline", "service_closed", CAMERA, "tcp/23 telnet") in third
    assert ("baseline", "fixed", CAMERA, "banner.version-disclosure on tcp/80") in third


def test_a_flip_to_inconclusive_is_drift_only_once_it_persists(
    any_engine: sa.Engine, runs: Runs
) -> None:
    engine = any_engine
    _import(engine, runs, runs.baseline)
    baselines.accept(engine, runs.baseline, by="cli")
    camera = _device(engine, CAMERA)
    check = ("tcp/80", "banner.version-disclosure")  # passes on the hardened camera
    flipped = []
    for n in range(1, 4):
        run_id = _clone(engine, runs.baseline, f"flip{n}", minutes=10 * n)
        _set_verdict(engine, run_id, camera, check, "inconclusive")
        flipped.append(run_id)
    subject = "banner.version-disclosure on tcp/80"
    # persist 2: the first inconclusive run is not drift, the second is
    assert not [d for d in drift.compute(engine, flipped[0]) if d.subject == subject]
    second = [d for d in drift.compute(engine, flipped[1]) if d.subject == subject]
    assert {(d.against, d.kind, d.before, d.after) for d in second} == {
        ("baseline", "status_regression", "pass", "inconclusive"),
        ("previous", "status_regression", "pass", "inconclusive"),
    }
    previous = next(d for d in second if d.against == "previous")
    assert previous.against_run_id == runs.baseline  # the last run before the flip
    # the third: still against the baseline, no longer news against the previous run
    third = [d for d in drift.compute(engine, flipped[2]) if d.subject == subject]
    assert [d.against for d in third] == ["baseline"]
    # persist 1: at once; persist 3: only from the third
    assert [d for d in drift.compute(engine, flipped[0], persist=1) if d.subject == subject]
    assert not [d for d in drift.compute(engine, flipped[1], persist=3) if d.subject == subject]
    assert [d for d in drift.compute(engine, flipped[2], persist=3) if d.subject == subject]
    # a failure is never held back
    _set_verdict(engine, flipped[0], camera, check, "fail")
    assert [
        (d.kind, d.against)
        for d in drift.compute(engine, flipped[0], persist=3)
        if d.subject == subject
    ] == [("new_failure", "baseline")]  # its previous run is the baseline: said once


def test_a_schedules_drift_persist_counts(engine: sa.Engine, runs: Runs) -> None:
    _import(engine, runs, runs.baseline)
    camera = _device(engine, CAMERA)
    with engine.begin() as conn:
        key = conn.execute(
            t.schedules.insert().values(
                name="nightly",
                cron="0 2 * * *",
                definition={"targets": [CAMERA]},
                drift_persist=1,
                created=utc(_started(conn, runs.baseline)),
                created_by="cli",
            )
        ).inserted_primary_key
        assert key is not None
        conn.execute(t.runs.update().values(schedule_id=key[0]))
    flip = _clone(engine, runs.baseline, "flip", minutes=10)
    _set_verdict(engine, flip, camera, ("tcp/80", "banner.version-disclosure"), "error")
    found = [d for d in drift.compute(engine, flip) if d.kind == "status_regression"]
    assert ("banner.version-disclosure on tcp/80", "error") in {(d.subject, d.after) for d in found}
    # with the default (persist 2), the same single flip is not drift yet
    with engine.begin() as conn:
        conn.execute(t.schedules.update().values(drift_persist=2))
    assert not [d for d in drift.compute(engine, flip) if d.kind == "status_regression"]


def test_a_certificate_under_the_profiles_threshold(engine: sa.Engine, runs: Runs) -> None:
    _import(engine, runs, runs.baseline)
    camera = _device(engine, CAMERA)
    later = _clone(engine, runs.baseline, "later", minutes=10)
    with engine.begin() as conn:
        for run_id, days in ((runs.baseline, 40), (later, 12)):
            _add_certificate(conn, run_id, camera, days)
        # the profile the operation recipe uses: 30 days' warning
        for run_id in (runs.baseline, later):
            conn.execute(
                t.runs.update()
                .where(t.runs.c.id == run_id)
                .values(request={**_request(conn, run_id), "profile": "operation"})
            )
    found = [d for d in drift.compute(engine, later) if d.kind == "cert_expiring"]
    assert [(d.subject, d.before, d.after) for d in found] == [("tcp/80", "40", "12")]
    assert found[0].detail == {"days_left": 12, "threshold": 30}
    with engine.begin() as conn:  # the base profile warns only when expired
        conn.execute(
            t.runs.update()
            .where(t.runs.c.id == later)
            .values(request={**_request(conn, later), "profile": "base"})
        )
    assert not [d for d in drift.compute(engine, later) if d.kind == "cert_expiring"]


def test_persist_below_one_is_refused(engine: sa.Engine, runs: Runs) -> None:
    _import(engine, runs, runs.baseline)
    with pytest.raises(ConfigError, match="at least 1"):
        drift.compute(engine, runs.baseline, persist=0)


# --- editing a copy of a real run -----------------------------------------------------------


def _device(engine: sa.Engine, address: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(t.devices.c.id).where(t.devices.c.address == address)
            ).scalar_one()
        )


def _started(conn: sa.Connection, run_id: str) -> Any:
    return conn.execute(sa.select(t.runs.c.started).where(t.runs.c.id == run_id)).scalar()


def _request(conn: sa.Connection, run_id: str) -> dict[str, Any]:
    return dict(conn.execute(sa.select(t.runs.c.request).where(t.runs.c.id == run_id)).scalar_one())


def _clone(engine: sa.Engine, source: str, new_id: str, *, minutes: int) -> str:
    """A copy of run `source` started `minutes` later (as if scanned again unchanged)."""
    with engine.begin() as conn:
        run = conn.execute(sa.select(t.runs).where(t.runs.c.id == source)).one()._asdict()
        started = run["started"] + timedelta(minutes=minutes)
        conn.execute(t.runs.insert().values({**run, "id": new_id, "started": started}))
        for table in (t.run_devices, t.services, t.results, t.requirement_status):
            rows = [
                r._asdict() for r in conn.execute(table.select().where(table.c.run_id == source))
            ]
            for r in rows:
                r["run_id"] = new_id
                if "started" in r:
                    r["started"] = started
            if rows:
                conn.execute(table.insert(), rows)
    return new_id


def _set_verdict(
    engine: sa.Engine, run_id: str, device_id: int, check: tuple[str, str], verdict: str
) -> None:
    r = t.results
    where = (
        (r.c.run_id == run_id)
        & (r.c.device_id == device_id)
        & (r.c.service_key == check[0])
        & (r.c.check_id == check[1])
    )
    with engine.begin() as conn:
        data = dict(conn.execute(sa.select(r.c.data).where(where)).scalar_one())
        severity = "low" if verdict == "fail" else ""
        conn.execute(
            r.update()
            .where(where)
            .values(verdict=verdict, severity=severity, data={**data, "verdict": verdict})
        )


def _add_certificate(conn: sa.Connection, run_id: str, device_id: int, days: int) -> None:
    r = t.results
    where = (r.c.run_id == run_id) & (r.c.device_id == device_id) & (r.c.service_key == "tcp/80")
    row = conn.execute(sa.select(r.c.data).where(where).limit(1)).scalar_one()
    data = dict(row)
    data["check_id"] = "tls.cert.validity"
    data["verdict"] = "pass"
    data["evidence"] = [{"kind": "certificate", "summary": "leaf", "details": {"days_left": days}}]
    conn.execute(
        r.insert().values(
            run_id=run_id,
            device_id=device_id,
            service_key="tcp/80",
            check_id="tls.cert.validity",
            verdict="pass",
            data=data,
        )
    )


def _move_to_new_device(
    conn: sa.Connection, run_id: str, device_id: int, address: str, *, copy: bool = False
) -> int:
    """The device's rows of the run given to a new device at `address` (copied, or moved)."""
    started = _started(conn, run_id)
    key = conn.execute(
        t.devices.insert().values(address=address, first_seen=started, last_seen=started)
    ).inserted_primary_key
    assert key is not None
    new_id = key[0]
    for table in (t.run_devices, t.services, t.results, t.requirement_status):
        where = (table.c.run_id == run_id) & (table.c.device_id == device_id)
        rows = [r._asdict() for r in conn.execute(table.select().where(where))]
        if not copy:
            conn.execute(table.delete().where(where))
        for r in rows:
            r["device_id"] = new_id
            if "address" in r:
                r["address"] = address
        if rows:
            conn.execute(table.insert(), rows)
    targets = _request(conn, run_id).get("targets") or []
    conn.execute(
        t.runs.update()
        .where(t.runs.c.id == run_id)
        .values(request={**_request(conn, run_id), "targets": [*targets, [address, ""]]})
    )
    return int(new_id)


def test_another_device_at_the_address_is_an_identity_change(
    any_engine: sa.Engine, tmp_path: Path
) -> None:
    """Through the importer's identity matching (a new certificate and UDN at the address):
    identity_changed, and neither the old device unreachable nor the new one new."""
    address, t0 = "127.0.94.60", datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
    udn = "uuid:2f0c8a4e-1b7d-5d7e-9d43-6a0f7c1e3b21"
    for n, seen in enumerate(
        (Seen(address, cert="a1" * 32, udn=udn), Seen(address, cert="b2" * 32, udn=udn[:-2]))
    ):
        store = tmp_path / f"r{n}.sqlite"
        write_run(store, f"r{n}", [seen], started=t0 + timedelta(days=n))
        imported = import_run(any_engine, store, f"r{n}")
        if n == 0:
            old = imported.devices[address]
            baselines.accept(any_engine, "r0", by="cli")
    new = imported.devices[address]
    assert new != old
    found = drift.compute(any_engine, "r1")
    assert [(d.against, d.kind, d.address, d.before, d.after) for d in found] == [
        ("baseline", "identity_changed", address, str(old), str(new))
    ]


def test_a_crashed_run_is_never_the_previous_run(engine: sa.Engine, runs: Runs) -> None:
    _import(engine, runs, runs.baseline)
    crashed = _clone(engine, runs.baseline, "crashed", minutes=5)
    with engine.begin() as conn:  # what the crash left: the run, no device rows
        conn.execute(t.runs.update().where(t.runs.c.id == crashed).values(status="crashed"))
        conn.execute(t.run_devices.delete().where(t.run_devices.c.run_id == crashed))
    later = _clone(engine, runs.baseline, "later", minutes=10)
    assert drift.compute(engine, later) == []  # compared with the baseline run, unchanged
    with engine.begin() as conn:  # taken as previous, every device would read as new
        conn.execute(t.runs.update().where(t.runs.c.id == crashed).values(status="complete"))
    assert {d.kind for d in drift.compute(engine, later)} == {"new_device"}
