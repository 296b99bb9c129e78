"""The scheduler with a real lab (127.0.93.30-31) and real scans: a definition missed for a
week runs once, a due run outside its window is not started, two schedulers on one
database start one run between them, and stopping the service stops the scan cleanly."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from lab import control
from scanner.service import scheduler, schedules
from scanner.service import schema as t
from scanner.service.db import now
from scanner.service.schedules import Definition

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from lab.state import LabState

FIRST = "127.0.93.30"
PORTS = "22,80,502,554,8000"  # never 2024


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabState]:
    state_dir = tmp_path_factory.mktemp("lab")
    state = control.up(["ssh-camera", "legacy-plc"], 2, state_dir, FIRST)
    try:
        yield state
    finally:
        control.down(state_dir)


def _add(engine: sa.Engine, name: str, lab: LabState, **kw: object) -> schedules.Schedule:
    options = kw.pop("options", {})
    week_ago = now() - timedelta(days=7)
    return schedules.add(
        engine,
        name=name,
        cron="0 * * * *",  # hourly: 168 times missed in a week
        definition=Definition(targets=lab.addresses[:1], ports=PORTS, options=options),  # type: ignore[arg-type]
        now=week_ago,
        **kw,  # type: ignore[arg-type]
    )


def _runs(engine: sa.Engine) -> list[sa.Row[tuple[str, str, str]]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(t.runs.c.id, t.runs.c.status, t.runs.c.trigger)))


async def test_missed_week_runs_once(engine: sa.Engine, lab: LabState, tmp_path: Path) -> None:
    s = _add(engine, "hourly", lab)
    sched = scheduler.Scheduler(engine, tmp_path / "data")
    try:
        assert await sched.tick() == ["hourly"]
        assert await sched.tick() == []  # its next time is in the future now
        await sched.wait_idle(60)
    finally:
        await sched.shutdown()
    runs = _runs(engine)
    assert [(r.status, r.trigger) for r in runs] == [("complete", "schedule")]
    after = schedules.require(engine, "hourly")
    assert after.next_run is not None
    assert after.next_run > now()
    assert after.next_run - now() <= timedelta(hours=1)
    assert after.last_run_id == runs[0].id
    assert schedules.lease_holder(engine, s.id) is None


async def test_outside_the_window_not_started(
    engine: sa.Engine, lab: LabState, tmp_path: Path
) -> None:
    # a window of one minute, twelve hours away from now in UTC
    opens = (now() + timedelta(hours=12)).time().replace(second=0, microsecond=0)
    closes = (datetime.combine(datetime.now(UTC).date(), opens) + timedelta(minutes=1)).time()
    window = schedules.Window(frozenset(range(7)), opens, closes)
    _add(engine, "nightly", lab, windows=[window])
    sched = scheduler.Scheduler(engine, tmp_path / "data")
    try:
        assert await sched.tick() == []
    finally:
        await sched.shutdown()
    assert _runs(engine) == []
    found = schedules.require(engine, "nightly")
    assert found.next_run is not None
    assert found.next_run > now()  # waits for its next time, does not pile up


async def test_two_schedulers_one_run(engine: sa.Engine, lab: LabState, tmp_path: Path) -> None:
    _add(engine, "shared", lab)
    one = scheduler.Scheduler(engine, tmp_path / "a")
    two = scheduler.Scheduler(engine, tmp_path / "b")
    # both saw it due before either advanced it (two services started at once)
    due = schedules.due(engine, now())
    assert [d.name for d in due] == ["shared"]
    try:
        results = await asyncio.gather(one._one(due[0]), two._one(due[0]))
    finally:
        await one.shutdown()
        await two.shutdown()
    assert sorted(r is None for r in results) == [False, True]  # one ran, one was refused
    assert [r.status for r in _runs(engine)] == ["complete"]


async def test_stopping_the_service_stops_the_scan(
    engine: sa.Engine, lab: LabState, tmp_path: Path
) -> None:
    _add(engine, "slow", lab, options={"scan_delay": 0.5})
    sched = scheduler.Scheduler(engine, tmp_path / "data", tick_seconds=0.2)
    loop_task = asyncio.create_task(sched.loop())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        runs = _runs(engine)
        if runs and runs[0].status == "running" and (tmp_path / "data/runs/slow").is_dir():
            break
    await asyncio.sleep(3)  # the child is scanning
    stopped_at = time.monotonic()
    loop_task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(loop_task, timeout=60)
    assert time.monotonic() - stopped_at < 40
    runs = _runs(engine)
    assert len(runs) == 1
    assert runs[0].status == "interrupted"
    with engine.connect() as conn:
        reason = conn.execute(
            sa.select(t.runs.c.status_reason).where(t.runs.c.id == runs[0].id)
        ).scalar_one()
    assert "the service stopped" in reason
    assert "killed" not in reason
