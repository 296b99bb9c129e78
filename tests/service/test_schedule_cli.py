"""`shinsa schedule ...` on the command line, against a real lab (127.0.93.50-51) and a real
scan: add, list, pause, resume, remove; run-now --wait printing the run ID last with the
run imported; run-now detached, and a second run-now refused while it goes (the lease)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from lab import control
from scanner.cli.app import main
from scanner.service import schedules
from scanner.service import schema as t

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from lab.state import LabState

FIRST = "127.0.93.50"
PORTS = "22,80,502,554,8000"  # never 2024


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabState]:
    state_dir = tmp_path_factory.mktemp("lab")
    state = control.up(["ssh-camera", "legacy-plc"], 2, state_dir, FIRST)
    try:
        yield state
    finally:
        control.down(state_dir)


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'service.sqlite'}"


def _shinsa(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHINSA_")}
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
        check=False,
    )


def test_add_list_pause_resume_remove(
    engine: sa.Engine,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no config file of the machine's
    db = _url(tmp_path)
    code = main(
        [
            "schedule",
            "add",
            "nightly",
            "127.0.93.60",
            "127.0.93.61",
            "--cron",
            "30 2 * * *",
            "--tz",
            "Asia/Tokyo",
            "-p",
            "22,80",
            "--site",
            "plant-1",
            "--window",
            "daily 01:00-05:00",
            "--jitter",
            "60",
            "--drift-kinds",
            "new_failure,service_opened",
            "--db",
            db,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "next run" in out
    assert "JST" in out
    made = schedules.require(engine, "nightly")
    assert made.definition.targets == ("127.0.93.60", "127.0.93.61")
    assert made.definition.ports == "22,80"
    assert (made.tz, made.site, made.jitter) == ("Asia/Tokyo", "plant-1", 60)
    assert made.drift_kinds == ("new_failure", "service_opened")
    assert str(made.windows[0]) == "daily 01:00-05:00"

    assert main(["schedule", "list", "--db", db]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["NAME", "CRON", "TZ", "NEXT"]
    assert lines[1].startswith("nightly")
    assert "30 2 * * *" in lines[1]
    assert "02:30 JST" in lines[1]

    assert main(["schedule", "pause", "nightly", "--db", db]) == 0
    assert schedules.require(engine, "nightly").paused
    assert main(["schedule", "list", "--db", db]) == 0
    assert " yes " in capsys.readouterr().out
    assert main(["schedule", "resume", "nightly", "--db", db]) == 0
    assert not schedules.require(engine, "nightly").paused
    # a bad definition is a usage error, and nothing is written
    assert main(["schedule", "add", "bad", "x!", "--cron", "0 2 * * *", "--db", db]) == 2
    assert main(["schedule", "add", "bad2", "127.0.93.60", "--cron", "nope", "--db", db]) == 2
    assert (
        main(
            [
                "schedule",
                "add",
                "bad3",
                "127.0.93.60",
                "--cron",
                "0 2 * * *",
                "--tz",
                "X/Y",
                "--db",
                db,
            ]
        )
        == 2
    )
    assert [s.name for s in schedules.list_all(engine)] == ["nightly"]
    assert main(["schedule", "remove", "nightly", "--db", db]) == 0
    assert schedules.list_all(engine) == []
    assert main(["schedule", "remove", "nightly", "--db", db]) == 2
    with engine.connect() as conn:
        actions = [r.action for r in conn.execute(sa.select(t.audit_log.c.action))]
    assert actions == [
        "schedule.add",
        "schedule.pause",
        "schedule.resume",
        "schedule.remove",
    ]


def test_run_now_wait_prints_the_run_id_last(
    engine: sa.Engine, tmp_path: Path, lab: LabState
) -> None:
    db = _url(tmp_path)
    first, second = lab.addresses
    added = _shinsa(
        "schedule", "add", "plant", first, second, "--cron", "0 3 * * *", "-p", PORTS,
        "--db", db, cwd=tmp_path,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    done = _shinsa("schedule", "run-now", "plant", "--wait", "--db", db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip().splitlines()[-1]
    with engine.connect() as conn:
        run = conn.execute(sa.select(t.runs).where(t.runs.c.id == run_id)).one()
        devices = conn.execute(
            sa.select(t.run_devices.c.address).where(t.run_devices.c.run_id == run_id)
        ).all()
        results = conn.execute(
            sa.select(sa.func.count()).select_from(t.results).where(t.results.c.run_id == run_id)
        ).scalar_one()
    assert run.status == "complete"
    assert run.trigger == "run-now"
    assert run.imported is not None
    assert sorted(d.address for d in devices) == [first, second]
    assert results > 10
    assert (tmp_path / "shinsa-service/runs/plant" / run_id / "shinsa.sqlite").is_file()


def test_run_now_detached_and_a_second_refused(
    engine: sa.Engine, tmp_path: Path, lab: LabState
) -> None:
    db = _url(tmp_path)
    added = _shinsa(
        "schedule", "add", "slow", *lab.addresses, "--cron", "0 3 * * *", "-p", PORTS,
        "--scan-delay", "0.2", "--db", db, cwd=tmp_path,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    started = _shinsa("schedule", "run-now", "slow", "--db", db, cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    run_id = started.stdout.strip().splitlines()[-1]
    # while it goes, a second run-now of the same definition is refused: nothing started
    second = _shinsa("schedule", "run-now", "slow", "--db", db, cwd=tmp_path)
    assert second.returncode == 75, second.stderr
    assert "is going" in second.stderr
    assert second.stdout == ""
    deadline = time.monotonic() + 90
    status: str | None = "running"
    while status == "running" and time.monotonic() < deadline:
        time.sleep(1)
        with engine.connect() as conn:
            status = conn.execute(sa.select(t.runs.c.status).where(t.runs.c.id == run_id)).scalar()
    assert status == "complete"
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(t.runs)).scalar_one()
    assert count == 1  # the refused one left no row
    # the lease is free again once the runner is done
    lease_free_by = time.monotonic() + 10
    while schedules.lease_holder(engine, schedules.require(engine, "slow").id) is not None:
        assert time.monotonic() < lease_free_by
        time.sleep(0.2)
