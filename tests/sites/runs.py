"""A `shinsa scan` in a process of its own, and reading what it and the workers wrote."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import sqlalchemy as sa

from scanner.service import schema
from scanner.service.db import open_db
from scanner.sites import central

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from lab.device import Lab

#: a closed port scanned beside the lab's (never 2024)
CLOSED_PORT = 10001


def ports(lab: Lab) -> str:
    tcp = {s.port for d in lab.devices for s in d.services if s.transport == "tcp"}
    udp = {s.port for d in lab.devices for s in d.services if s.transport == "udp"}
    tcp.add(CLOSED_PORT)
    assert 2024 not in tcp | udp
    spec = "T:" + ",".join(map(str, sorted(tcp)))
    return spec + (",U:" + ",".join(map(str, sorted(udp))) if udp else "")


def start_scan(
    targets: Sequence[str], out: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    log = out.parent / f"{out.name}.log"
    out.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as sink:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "scanner",
                "scan",
                *targets,
                "--out",
                str(out),
                "--no-browser",
                "--no-config",
                "-q",
                *extra,
            ],
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
            env={**os.environ, **(env or {})},
        )


def finish(proc: subprocess.Popen[bytes], out: Path, timeout: float = 300) -> tuple[int, str]:
    """(exit code, the run's ID) once the scan has ended (bounded)."""
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        raise AssertionError(f"the scan did not end in {timeout} s: {log_of(out)}") from None
    runs = [p.name for p in out.glob("2*") if p.is_dir() and not p.is_symlink()]
    assert len(runs) == 1, (code, runs, log_of(out))
    return code, runs[0]


def log_of(out: Path) -> str:
    path = out.parent / f"{out.name}.log"
    return path.read_text(errors="replace") if path.exists() else ""


def verdicts(out: Path) -> dict[tuple[str, str, str], str]:
    db = sqlite3.connect(out / "shinsa.sqlite")
    try:
        rows = db.execute("SELECT address, service_key, check_id, verdict FROM results")
        return {(a, s, c): v for a, s, c, v in rows}
    finally:
        db.close()


def targets_of(out: Path) -> dict[str, tuple[str, str]]:
    """address -> (state, reason) in the per-run store."""
    db = sqlite3.connect(out / "shinsa.sqlite")
    try:
        return {a: (s, r) for a, s, r in db.execute("SELECT address, state, reason FROM targets")}
    finally:
        db.close()


def report(out: Path, run_id: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((out / run_id / "report.json").read_text())
    return loaded


def tasks(db: str, run_id: str) -> dict[str, sa.Row[tuple[object, ...]]]:
    engine = open_db(db)
    try:
        with engine.connect() as conn:
            t = schema.site_tasks
            return {r.address: r for r in conn.execute(sa.select(t).where(t.c.run_id == run_id))}
    finally:
        engine.dispose()


def central_results(db: str, run_id: str) -> list[sa.Row[tuple[object, ...]]]:
    engine = open_db(db)
    try:
        with engine.connect() as conn:
            t = schema.site_results
            return list(conn.execute(sa.select(t).where(t.c.run_id == run_id)))
    finally:
        engine.dispose()


def wait_for(what: str, check: object, timeout: float = 120.0, every: float = 0.3) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(every)
    raise AssertionError(f"not seen in {timeout} s: {what}")


def task_store(path: Path, engine: sa.Engine, *addresses: str) -> central.CentralStore:
    """A worker's per-task store (w1) for run "run" of site "a", its devices queued and
    claimed as a task's are."""
    central.queue(engine, "run", dict.fromkeys(addresses, "a"))
    central.claim_all(engine, "run", list(addresses), "w1")
    return started_store(path, engine, *addresses)


def started_store(path: Path, engine: sa.Engine, *addresses: str) -> central.CentralStore:
    """A worker's per-task store (w1) for run "run", started on these devices (their task
    rows made and claimed elsewhere)."""
    store = central.CentralStore(path, engine, "w1")
    store.start_run(
        "run",
        profile_id="base",
        profile_digest="d",
        scanner_version="0",
        request={},
        targets=[(a, "") for a in addresses],
    )
    return store


def landed(engine: sa.Engine) -> dict[tuple[str, str], str]:
    """(address, check) -> verdict of every result in the central database."""
    t = schema.site_results
    with engine.connect() as conn:
        return {
            (r.address, r.check_id): r.verdict
            for r in conn.execute(sa.select(t.c.address, t.c.check_id, t.c.verdict))
        }
