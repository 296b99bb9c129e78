"""One run of a scan definition: the lease taken, the run's row written at once (the
dashboard shows it going), `shinsa scan` run as a child process into its own per-run store
`DATA/runs/<schedule>/<run ID>/shinsa.sqlite`, its progress followed, stopped cleanly when
the maintenance window closes, then imported (`importer.import_run`), its drift computed
(`drift.compute_and_store`) and its alerts queued and sent (`alerts.outbox`).

The run ID is chosen here, before the scan starts (`run-now` prints it at once, the
dashboard links to it): the child is `python -m scanner scan --run-id RUN_ID SCAN-ARGS...`
(a hidden option of `shinsa scan`, which also makes SIGINT end it cleanly). The scan reads no
config file (`--no-config`: a definition means the same on every machine) and never sees
the service's database (`SHINSA_DB` is left out of its environment, so a `scan --db` does
not import the run a second time).

Statuses recorded on the run (`runs.status`):
- complete / incomplete: the scan's own (incomplete: a device not scanned to the end);
- stopped: the maintenance window closed; the scan was sent SIGINT, kept its finished
  results, and those are imported;
- interrupted: the service stopped (or someone else interrupted the scan); same;
- crashed: the scan exited with an error (a bad profile, a crash), or never ran; the
  reason (the end of its standard error) is on the run. Never a pass.
A step after the scan that could not be done (drift or alerts not available, or failing)
is said in `runs.status_reason`, never skipped silently.

`python -m scanner.service.runner run ...` runs a prepared run detached from the
`shinsa schedule run-now` that prepared it (`start_detached`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from scanner import __version__
from scanner.service import drift, schedules
from scanner.service import schema as t
from scanner.service.alerts import outbox
from scanner.service.db import now as utcnow
from scanner.service.importer import import_run
from scanner.store import new_run_id

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scanner.service.schedules import Schedule

log = logging.getLogger("shinsa.runner")

#: how long a lease lasts without renewal; the runner renews it at half that
LEASE_SECONDS = 120.0
#: after SIGINT, how long the scan has to write its results and reports before SIGKILL
GRACE_SECONDS = 30.0
#: the scan is told to end by itself this long after its window closes, should the runner
#: that would stop it be gone
SELF_STOP_MARGIN = 60.0
POLL_SECONDS = 1.0
STDERR_TAIL = 2000
#: `shinsa schedule run-now --wait`'s exit code for each status
EXIT_CODES = {"complete": 0, "incomplete": 3, "stopped": 3, "interrupted": 3, "crashed": 1}
#: the environment variables a scan child must not see (the service's own settings)
HIDDEN_VARIABLES = ("SHINSA_DB", "SHINSA_BASELINE", "SHINSA_ALERT")
#: the scan's exit codes that mean it ran (0 pass, 1 requirements failed, 3 unfinished)
_SCAN_RAN = (0, 1, 3)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A run that holds its definition's lease and has its row: ready to execute."""

    schedule: Schedule
    run_id: str
    owner: str  # the lease's holder
    trigger: str  # schedule | run-now
    out_dir: Path  # the scan's --out: its per-run store and reports


@dataclass(frozen=True, slots=True)
class Outcome:
    run_id: str
    status: str  # complete | incomplete | stopped | interrupted | crashed
    reason: str  # why, when not complete ("" when complete)
    exit_code: int | None  # the scan child's (None: it never started)
    imported: bool
    drifts: int | None  # None: not computed (the reason says why)
    alerts: int  # queued
    notes: tuple[str, ...] = field(default_factory=tuple)  # the steps after the scan

    @property
    def cli_exit_code(self) -> int:
        return EXIT_CODES.get(self.status, 1)


def lease_owner(kind: str) -> str:
    """A lease holder's name: who (service, cli, api), where, which process, and a nonce."""
    return f"{kind}:{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


def run_dir(data_dir: Path, schedule: Schedule, run_id: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", schedule.name)[:100] or "schedule"
    return data_dir / "runs" / safe / run_id


def prepare(
    engine: sa.Engine,
    schedule: Schedule,
    data_dir: Path,
    *,
    trigger: str,
    owner: str | None = None,
    lease_seconds: float = LEASE_SECONDS,
) -> Prepared | None:
    """Take the lease and write the run's row (status running); None when another run of
    this definition holds the lease (nothing is written then)."""
    holder = owner or lease_owner("service")
    if not schedules.take_lease(engine, schedule.id, holder, seconds=lease_seconds):
        return None
    try:
        started = utcnow()
        run_id = new_run_id(started)
        out_dir = run_dir(data_dir, schedule, run_id)
        with engine.begin() as conn:
            conn.execute(
                t.runs.insert().values(
                    id=run_id,
                    site=schedule.site,
                    schedule_id=schedule.id,
                    trigger=trigger,
                    started=started,
                    status="running",
                    profile_id=schedule.definition.profile,
                    profile_digest="",
                    scanner_version=__version__,
                    request={**schedule.definition.to_json(), "schedule": schedule.name},
                    store_path=str(out_dir / "shinsa.sqlite"),
                    summary={},
                )
            )
            conn.execute(
                t.schedules.update()
                .where(t.schedules.c.id == schedule.id)
                .values(last_run_id=run_id)
            )
    except BaseException:
        schedules.release_lease(engine, schedule.id, holder)
        raise
    return Prepared(schedule, run_id, holder, trigger, out_dir)


#: the sites' broker (scanner/sites/): set in the service's environment (`serve --broker`
#: sets it), every scheduled run's devices are scanned by their site's workers
BROKER_VARIABLE = "SHINSA_BROKER"


def scan_command(
    prep: Prepared, deadline: datetime | None, now: datetime, broker: str | None = None
) -> list[str]:
    """The child's argv: the definition as `shinsa scan` arguments, with the run ID; with a
    broker, its devices go to the definition's site's workers (a target file's `site=`
    sends a device to another site), and no worker starts one after the window closes."""
    definition = prep.schedule.definition
    if deadline is not None:
        options = dict(definition.options)
        left = max(1.0, (deadline - now).total_seconds()) + SELF_STOP_MARGIN
        given = options.get("max_scan_time")
        options["max_scan_time"] = round(min(float(given), left) if given else left, 1)
        definition = replace(definition, options=options)
    args = [*definition.scan_arguments(), "--out", str(prep.out_dir), "-q", "--no-config"]
    if broker:
        # the URL (and its password) by the environment, never in `ps`: --broker alone
        # reads $SHINSA_BROKER, which the child inherits
        args += ["--broker", "--site", prep.schedule.site]
        if deadline is not None:
            args += ["--window-ends", f"{deadline.timestamp():.3f}"]
    return [sys.executable, "-m", "scanner", "scan", "--run-id", prep.run_id, *args]


def child_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in HIDDEN_VARIABLES}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class _Follow:
    """What happened while the child ran."""

    signalled: str = ""  # "" | window | shutdown
    killed: bool = False
    total: int = -1
    done: int = -1


def _progress(store_path: Path, run_id: str) -> tuple[int, int] | None:
    """(devices done or failed, devices) from the per-run store, read-only; None when the
    scan has not written its run yet."""
    if not store_path.is_file():
        return None
    try:
        db = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True, timeout=2)
    except sqlite3.Error:
        return None
    try:
        row = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(state != 'pending'), 0) FROM targets WHERE run_id=?",
            (run_id,),
        ).fetchone()
    except sqlite3.Error:  # not made yet, or locked for a moment: next time
        return None
    finally:
        db.close()
    return (int(row[1]), int(row[0])) if row and row[0] else None


def _store_status(store_path: Path, run_id: str) -> str | None:
    """The run's status in the per-run store (None: the store or the run is not there)."""
    if not store_path.is_file():
        return None
    try:
        db = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True, timeout=5)
        try:
            row = db.execute("SELECT status FROM runs WHERE id=?", (run_id,)).fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    return str(row[0]) if row else None


def _tail(path: Path, limit: int = STDERR_TAIL) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            text = f.read(limit).decode("utf-8", "replace")
    except OSError:
        return ""
    return " ".join(text.split())  # one line, for the run's reason


def judge(
    exit_code: int | None, store_status: str | None, follow: _Follow, stderr: str
) -> tuple[str, str]:
    """The run's (status, reason) from how the child ended and what its store says."""
    if exit_code in _SCAN_RAN and store_status in ("complete", "incomplete"):
        # it ended by itself (perhaps as the window closed): its own status stands
        if store_status == "incomplete":
            return "incomplete", "a device could not be scanned to the end (see the run)"
        return "complete", ""
    if follow.signalled:
        what = (
            "the maintenance window closed"
            if follow.signalled == "window"
            else "the service stopped"
        )
        status = "stopped" if follow.signalled == "window" else "interrupted"
        if store_status is None:
            return "crashed", f"{what} before the scan stored its run; {stderr}".strip()
        if follow.killed:
            return status, f"{what}; the scan did not stop within its grace time and was killed"
        return status, f"{what}; the scan was stopped, its finished results are kept"
    if exit_code == 130 and store_status == "interrupted":
        return "interrupted", "the scan was interrupted from outside the service"
    why = f"the scan exited with code {exit_code}" if exit_code is not None else "no scan"
    if store_status is not None and store_status != "running":
        why += f" (its store says {store_status})"
    return "crashed", f"{why}: {stderr}" if stderr else why


def execute(
    engine: sa.Engine,
    prep: Prepared,
    *,
    deadline: datetime | None = None,
    stop: threading.Event | None = None,
    lease_seconds: float = LEASE_SECONDS,
    grace: float = GRACE_SECONDS,
    poll: float = POLL_SECONDS,
) -> Outcome:
    """Run the prepared scan to its end (see the module docstring); the lease is released
    and the run's row has its final status whatever happens here."""
    status, reason, code = "crashed", "the runner failed before the scan started", None
    imported = False
    notes: list[str] = []
    drifts: int | None = None
    alerts = 0
    try:
        code, follow, stderr = _run_child(engine, prep, deadline, stop, lease_seconds, grace, poll)
        store_path = prep.out_dir / "shinsa.sqlite"
        store_status = _store_status(store_path, prep.run_id)
        status, reason = judge(code, store_status, follow, stderr)
        if store_status is not None:
            try:
                import_run(
                    engine,
                    store_path,
                    prep.run_id,
                    site=prep.schedule.site,
                    trigger=prep.trigger,
                    schedule_id=prep.schedule.id,
                )
                imported = True
            except Exception as exc:  # a store the importer cannot read: said on the run
                log.exception("run %s: import failed", prep.run_id)
                notes.append(f"import failed: {type(exc).__name__}: {exc}"[:500])
        _finish(engine, prep, status, reason, notes)  # the dashboard shows it from now
        if imported:
            drifts, found = _drift(engine, prep, notes)
            if drifts is not None:
                alerts = _alerts(engine, prep, found, notes)
        else:
            notes.append("drift and alerts: not computed, nothing was imported")
    except BaseException as exc:
        reason = f"the runner failed: {type(exc).__name__}: {exc}"[:500]
        status = "crashed"
        log.exception("run %s: the runner failed", prep.run_id)
        raise
    finally:
        with contextlib.suppress(Exception):
            _finish(engine, prep, status, reason, notes)
        schedules.release_lease(engine, prep.schedule.id, prep.owner)
    return Outcome(prep.run_id, status, reason, code, imported, drifts, alerts, tuple(notes))


def _run_child(
    engine: sa.Engine,
    prep: Prepared,
    deadline: datetime | None,
    stop: threading.Event | None,
    lease_seconds: float,
    grace: float,
    poll: float,
) -> tuple[int | None, _Follow, str]:
    follow = _Follow()
    prep.out_dir.mkdir(parents=True, exist_ok=True)
    err_path = prep.out_dir / "scan-stderr.log"
    broker = os.environ.get(BROKER_VARIABLE) or None
    argv = scan_command(prep, deadline, utcnow(), broker)
    env = child_environment()
    if broker:  # the sites' workers land results in this database, which the child reads
        env["SHINSA_DB"] = engine.url.render_as_string(hide_password=False)
    renewed = time.monotonic()
    signalled_at = 0.0
    with err_path.open("wb") as err:
        # own session: a Ctrl-C at the service's terminal reaches the service, which stops
        # the scan itself (SIGINT, bounded), rather than every process at once
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter, argv list, no shell
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
            start_new_session=True,
        )
        try:
            while True:
                try:
                    code = proc.wait(timeout=poll)
                    break
                except subprocess.TimeoutExpired:
                    pass
                _update_progress(engine, prep, follow)
                if time.monotonic() - renewed >= lease_seconds / 2:
                    if not schedules.renew_lease(
                        engine, prep.schedule.id, prep.owner, seconds=lease_seconds
                    ):
                        log.warning("run %s: the lease was lost", prep.run_id)
                    renewed = time.monotonic()
                if not follow.signalled:
                    if deadline is not None and utcnow() >= deadline:
                        follow.signalled = "window"
                    elif stop is not None and stop.is_set():
                        follow.signalled = "shutdown"
                    if follow.signalled:
                        log.info("run %s: stopping the scan (%s)", prep.run_id, follow.signalled)
                        proc.send_signal(signal.SIGINT)
                        signalled_at = time.monotonic()
                elif not follow.killed and time.monotonic() - signalled_at > grace:
                    log.warning("run %s: the scan did not stop; killing it", prep.run_id)
                    proc.kill()
                    follow.killed = True
        except BaseException:
            # the runner itself is going (cancelled, crashed): the scan must not outlive it
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
            raise
    _update_progress(engine, prep, follow)
    return code, follow, _tail(err_path)


def _update_progress(engine: sa.Engine, prep: Prepared, follow: _Follow) -> None:
    found = _progress(prep.out_dir / "shinsa.sqlite", prep.run_id)
    if found is None or (found[0], found[1]) == (follow.done, follow.total):
        return
    follow.done, follow.total = found
    with engine.begin() as conn:
        conn.execute(
            t.runs.update()
            .where(t.runs.c.id == prep.run_id)
            .values(devices_done=follow.done, devices_total=follow.total)
        )


def _finish(
    engine: sa.Engine, prep: Prepared, status: str, reason: str, notes: Sequence[str]
) -> None:
    """The run's final status, its reason and the notes of the steps after the scan."""
    text = "; ".join(x for x in (reason, *notes) if x)
    with engine.begin() as conn:
        row = conn.execute(sa.select(t.runs.c.finished).where(t.runs.c.id == prep.run_id)).first()
        values: dict[str, Any] = {"status": status, "status_reason": text[:4000]}
        if row is not None and row.finished is None:
            values["finished"] = utcnow()
        conn.execute(t.runs.update().where(t.runs.c.id == prep.run_id).values(**values))


def _drift(
    engine: sa.Engine, prep: Prepared, notes: list[str]
) -> tuple[int | None, list[drift.Drift]]:
    """The run's drift computed and stored: (how many, the Drift records), or (None, [])
    with a note saying why not."""
    try:
        found = drift.compute_and_store(
            engine,
            prep.run_id,
            persist=prep.schedule.drift_persist,
            baseline=prep.schedule.baseline,
        )
    except Exception as exc:
        log.exception("run %s: drift failed", prep.run_id)
        notes.append(f"drift: failed: {type(exc).__name__}: {exc}"[:500])
        return None, []
    return len(found), found


def _alerts(engine: sa.Engine, prep: Prepared, found: list[drift.Drift], notes: list[str]) -> int:
    channels = list(prep.schedule.alerts)
    if not channels:
        return 0
    try:
        ids = outbox.enqueue(
            engine,
            run_id=prep.run_id,
            schedule_id=prep.schedule.id,
            channels=channels,
            drifts=found,
            kinds=list(prep.schedule.drift_kinds),
        )
        if ids:
            outbox.deliver_due(engine)
    except Exception as exc:
        log.exception("run %s: alerts failed", prep.run_id)
        notes.append(f"alerts: failed: {type(exc).__name__}: {exc}"[:500])
        return 0
    return len(ids)


def run_schedule(
    engine: sa.Engine,
    schedule: Schedule,
    data_dir: Path,
    *,
    trigger: str = "schedule",
    deadline: datetime | None = None,
    stop: threading.Event | None = None,
    owner: str | None = None,
) -> Outcome | None:
    """Prepare and execute one run; None when another run of the definition is going."""
    prep = prepare(engine, schedule, data_dir, trigger=trigger, owner=owner)
    if prep is None:
        return None
    return execute(engine, prep, deadline=deadline, stop=stop)


def execute_failed(engine: sa.Engine, prep: Prepared, reason: str) -> None:
    """A prepared run that could not be executed: recorded crashed, its lease released."""
    try:
        _finish(engine, prep, "crashed", reason, ())
    finally:
        schedules.release_lease(engine, prep.schedule.id, prep.owner)


def start_detached(
    engine: sa.Engine, db_url: str, prep: Prepared, *, log_file: Path | None = None
) -> int:
    """Execute a prepared run in a process of its own that outlives the caller (`run-now`
    without --wait); its pid. The database URL goes by the environment, not the argv
    (a password in it would show in `ps`). A process that cannot be started leaves the run
    recorded crashed and the lease free (`execute_failed`), then raises."""
    try:
        return _spawn(db_url, prep, log_file)
    except BaseException:
        execute_failed(engine, prep, "the runner process could not be started")
        raise


def _spawn(db_url: str, prep: Prepared, log_file: Path | None) -> int:
    prep.out_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "scanner.service.runner",
        "run",
        str(prep.schedule.id),
        prep.run_id,
        prep.owner,
        prep.trigger,
        str(prep.out_dir),
    ]
    env = dict(os.environ)
    env["SHINSA_DB"] = db_url
    with (log_file or prep.out_dir / "runner.log").open("ab") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter, argv list, no shell
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env=env,
            start_new_session=True,
        )
    # Still our child: waited for in a thread of its own, so that it is reaped (no zombie in
    # a long-lived `shinsa serve`) and never dropped while running (a ResourceWarning).
    threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()
    return proc.pid


def reap_orphans(engine: sa.Engine, *, older_than: float = LEASE_SECONDS) -> list[str]:
    """Runs left `running` by a runner that died (the definition's lease is free and the
    run started more than `older_than` seconds ago): recorded crashed, with the reason."""
    cutoff = utcnow() - timedelta(seconds=older_than)
    now = utcnow()
    r, s = t.runs, t.schedules
    with engine.begin() as conn:
        rows = conn.execute(
            sa.select(r.c.id)
            .select_from(r.join(s, r.c.schedule_id == s.c.id))
            .where(
                r.c.status.in_(("running", "queued")),
                r.c.trigger.in_(("schedule", "run-now")),
                r.c.started < cutoff,
                sa.or_(s.c.lease_until.is_(None), s.c.lease_until < now),
            )
        ).all()
        ids = [row.id for row in rows]
        if ids:
            conn.execute(
                r.update()
                .where(r.c.id.in_(ids))
                .values(
                    status="crashed",
                    status_reason="the runner went away while the run was going "
                    "(its lease ran out); the scan's store may hold finished results",
                    finished=now,
                )
            )
    return ids


# --- the child processes ------------------------------------------------------------------


def _run_detached(argv: list[str]) -> int:
    from scanner.service.db import open_db

    schedule_id, run_id, owner, trigger, out_dir = argv
    engine = open_db(os.environ["SHINSA_DB"])
    try:
        found = schedules.get(engine, int(schedule_id))
        if found is None:
            print(f"schedule {schedule_id} is gone", file=sys.stderr)
            schedules_gone = "the schedule was removed before its run started"
            with engine.begin() as conn:
                conn.execute(
                    t.runs.update()
                    .where(t.runs.c.id == run_id)
                    .values(status="crashed", status_reason=schedules_gone, finished=utcnow())
                )
            return 1
        prep = Prepared(found, run_id, owner, trigger, Path(out_dir))
        if not schedules.renew_lease(engine, found.id, owner, seconds=LEASE_SECONDS):
            print(f"run {run_id}: the lease is not ours any more", file=sys.stderr)
        deadline = schedules.window_close(found.windows, utcnow(), found.tz)
        outcome = execute(engine, prep, deadline=deadline)
        print(f"run {run_id}: {outcome.status} {outcome.reason}")
        return outcome.cli_exit_code
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) == 6 and args[0] == "run":
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        return _run_detached(args[1:])
    print(
        "usage: python -m scanner.service.runner run SCHEDULE_ID RUN_ID OWNER TRIGGER OUT_DIR",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
