"""The runner against real simulated devices (a lab process on 127.0.93.10-11) and a real
`shinsa scan` child: a run imported with its drift and its alert delivered to a real
webhook receiver, progress followed, the window closing mid-run, a crash, the lease."""

from __future__ import annotations

import contextlib
import http.server
import json
import sqlite3
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from lab import control
from scanner.service import drift, runner, schedules
from scanner.service import schema as t
from scanner.service.db import now
from scanner.service.schedules import Definition

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from lab.state import LabState

FIRST = "127.0.93.10"
PORTS = "22,80,502,554,8000"  # the lab's TCP ports and a closed one; never 2024


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabState]:
    state_dir = tmp_path_factory.mktemp("lab")
    state = control.up(["ssh-camera", "legacy-plc"], 2, state_dir, FIRST)
    try:
        yield state
    finally:
        control.down(state_dir)


class _Receiver(http.server.BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]]

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length", "0"))
        self.bodies.append(json.loads(self.rfile.read(size)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    bodies: list[dict[str, Any]] = []
    handler = type("Handler", (_Receiver,), {"bodies": bodies})
    server = http.server.ThreadingHTTPServer(("127.0.93.9", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("SHINSA_WEBHOOK_SECRET", "test-secret-for-the-runner")
    try:
        yield f"webhook:http://127.0.93.9:{server.server_address[1]}/hook", bodies
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _schedule(
    engine: sa.Engine, name: str, targets: tuple[str, ...], **kw: Any
) -> schedules.Schedule:
    options = kw.pop("options", {})
    profile = kw.pop("profile", "base")
    return schedules.add(
        engine,
        name=name,
        cron="0 3 * * *",
        definition=Definition(targets=targets, ports=PORTS, profile=profile, options=options),
        **kw,
    )


def _run_row(engine: sa.Engine, run_id: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.select(t.runs).where(t.runs.c.id == run_id)).one()


def _count(engine: sa.Engine, table: sa.Table, run_id: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.run_id == run_id)
            ).scalar_one()
        )


def test_run_imported_with_drift_and_alert(
    engine: sa.Engine,
    lab: LabState,
    tmp_path: Path,
    receiver: tuple[str, list[dict[str, Any]]],
) -> None:
    channel, bodies = receiver
    first, second = lab.addresses
    s = _schedule(engine, "plant", (first,), alerts=[channel], drift_kinds=["new_device"])
    one = runner.run_schedule(engine, s, tmp_path / "data", trigger="run-now")
    assert one is not None
    assert one.status == "complete", one.reason
    assert one.exit_code == 1  # the lab's planted failures: the scan ran, requirements failed
    assert one.imported
    row = _run_row(engine, one.run_id)
    assert (row.status, row.trigger, row.schedule_id, row.site) == (
        "complete",
        "run-now",
        s.id,
        "default",
    )
    assert (row.devices_total, row.devices_done) == (1, 1)
    assert row.store_path == str(tmp_path / "data/runs/plant" / one.run_id / "shinsa.sqlite")
    assert _count(engine, t.results, one.run_id) > 10
    assert _count(engine, t.run_devices, one.run_id) == 1
    assert one.drifts is not None  # computed: nothing to compare with yet
    assert schedules.lease_holder(engine, s.id) is None  # released
    assert schedules.require(engine, "plant").last_run_id == one.run_id

    # the definition grows a device: the next run drifts (new_device) and alerts
    with engine.begin() as conn:
        grown = {**s.definition.to_json(), "targets": [first, second]}
        conn.execute(t.schedules.update().where(t.schedules.c.id == s.id).values(definition=grown))
    two = runner.run_schedule(engine, schedules.require(engine, "plant"), tmp_path / "data")
    assert two is not None
    assert two.status == "complete", two.reason
    assert two.drifts is not None
    assert two.drifts >= 1
    assert two.alerts == 1
    with engine.connect() as conn:
        kinds = set(conn.execute(sa.select(t.drift.c.kind).where(t.drift.c.run_id == two.run_id)))
        alert = conn.execute(sa.select(t.alerts).where(t.alerts.c.run_id == two.run_id)).one()
    assert ("new_device",) in kinds
    assert alert.state == "sent"
    assert len(bodies) == 1
    assert bodies[0]["run_id"] == two.run_id
    assert second in json.dumps(bodies[0])


def test_window_closing_stops_the_scan_and_keeps_results(
    engine: sa.Engine, lab: LabState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # half a second between two probes to one device: the scan takes about 20 s. The
    # window closes once the first results are stored: the runner's clock jumps past the
    # deadline then (a fixed 12 s closed before any result when CI's other layers loaded
    # the machine), so the close always meets a scan with results and more to do
    s = _schedule(engine, "slow", lab.addresses, options={"scan_delay": 0.5})
    prep = runner.prepare(engine, s, tmp_path / "data", trigger="schedule")
    assert prep is not None
    assert runner.prepare(engine, s, tmp_path / "data", trigger="schedule") is None  # the lease
    deadline = now() + timedelta(seconds=600)
    store = prep.out_dir / "shinsa.sqlite"

    def clock() -> Any:
        if store.is_file():
            with (
                contextlib.closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as db,
                contextlib.suppress(sqlite3.Error),
            ):
                if db.execute("SELECT COUNT(*) FROM results").fetchone()[0]:
                    return deadline + timedelta(seconds=1)
        return now()

    monkeypatch.setattr(runner, "utcnow", clock)
    done: list[runner.Outcome] = []
    worker = threading.Thread(
        target=lambda: done.append(runner.execute(engine, prep, deadline=deadline))
    )
    started = time.monotonic()
    worker.start()
    seen_running = None
    while worker.is_alive() and time.monotonic() - started < 90:
        row = _run_row(engine, prep.run_id)
        if row.status == "running" and row.devices_total == 2:
            seen_running = row
        time.sleep(0.5)
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert seen_running is not None  # the dashboard saw it going, with its device count
    outcome = done[0]
    assert outcome.status == "stopped", outcome.reason
    assert "maintenance window closed" in outcome.reason
    assert outcome.exit_code == 130  # SIGINT: the scan stopped itself, it was not killed
    assert "killed" not in outcome.reason
    assert time.monotonic() - started < 60
    row = _run_row(engine, prep.run_id)
    assert row.status == "stopped"
    assert row.finished is not None
    assert _count(engine, t.results, prep.run_id) > 0  # finished results kept and imported
    assert schedules.lease_holder(engine, s.id) is None


def test_a_crashing_scan_is_recorded_with_its_reason(
    engine: sa.Engine, lab: LabState, tmp_path: Path
) -> None:
    profile = tmp_path / "mine.yaml"
    profile.write_text("id: mine\nextends: base\n", encoding="utf-8")
    s = _schedule(engine, "crashy", lab.addresses[:1], profile=str(profile), check=False)
    profile.unlink()  # gone by the time the run starts
    outcome = runner.run_schedule(engine, s, tmp_path / "data")
    assert outcome is not None
    assert outcome.status == "crashed"
    assert outcome.exit_code == 2
    assert "profile" in outcome.reason
    assert "not found" in outcome.reason
    assert not outcome.imported
    row = _run_row(engine, outcome.run_id)
    assert row.status == "crashed"
    assert "not found" in row.status_reason
    assert "not computed" in row.status_reason  # drift and alerts: said, not skipped silently
    assert row.finished is not None
    assert schedules.lease_holder(engine, s.id) is None


def test_a_failing_drift_step_is_recorded(
    engine: sa.Engine, lab: LabState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[dict[str, object]] = []

    def broken(engine: sa.Engine, run_id: str, **settings: object) -> Any:
        asked.append(settings)
        raise RuntimeError("drift store unreadable")

    monkeypatch.setattr(drift, "compute_and_store", broken)
    s = _schedule(engine, "nodrift", lab.addresses[1:])
    outcome = runner.run_schedule(engine, s, tmp_path / "data")
    assert outcome is not None
    assert outcome.status == "complete"
    assert outcome.imported
    assert outcome.drifts is None
    row = _run_row(engine, outcome.run_id)
    assert row.status == "complete"
    assert "drift: failed: RuntimeError: drift store unreadable" in row.status_reason
    # the definition's own drift settings were asked for
    assert asked == [{"persist": s.drift_persist, "baseline": s.baseline}]


def test_judge() -> None:
    ran = runner._Follow()
    assert runner.judge(1, "complete", ran, "") == ("complete", "")
    assert runner.judge(3, "incomplete", ran, "")[0] == "incomplete"
    assert runner.judge(5, "crashed", ran, "Boom")[0] == "crashed"
    assert runner.judge(None, None, ran, "") == ("crashed", "no scan")
    window = runner._Follow(signalled="window")
    assert runner.judge(130, "interrupted", window, "")[0] == "stopped"
    assert runner.judge(1, "complete", window, "")[0] == "complete"  # it ended first
    killed = runner._Follow(signalled="window", killed=True)
    status, reason = runner.judge(-9, "running", killed, "")
    assert status == "stopped"
    assert "killed" in reason
    assert runner.judge(130, "interrupted", runner._Follow(signalled="shutdown"), "")[0] == (
        "interrupted"
    )


def test_orphaned_run_is_reaped(engine: sa.Engine, tmp_path: Path) -> None:
    s = _schedule(engine, "orphan", ("127.0.93.12",))
    prep = runner.prepare(engine, s, tmp_path / "data", trigger="schedule", lease_seconds=0.1)
    assert prep is not None
    assert runner.reap_orphans(engine, older_than=3600) == []  # too young
    time.sleep(0.3)  # the lease runs out: its runner is gone
    assert runner.reap_orphans(engine, older_than=0) == [prep.run_id]
    row = _run_row(engine, prep.run_id)
    assert row.status == "crashed"
    assert "went away" in row.status_reason
