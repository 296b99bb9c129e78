"""`shinsa schedule add|list|pause|resume|remove|run-now`: scan definitions in the service's
database (scanner/service/schedules.py), run by `shinsa serve`'s scheduler or now.

`run-now NAME` takes the definition's lease, writes the run's row and prints its run ID as
the last line of standard output. Without --wait the run goes on in a process of its own
(`python -m scanner.service.runner run ...`, logging to DATA/runs/NAME/RUN_ID/runner.log)
and the command returns at once; with --wait it runs here and returns when the scan, its
import, its drift and its alerts are done.

Exit codes of run-now:
    0  the run was started (without --wait), or it completed (with --wait)
    1  (--wait) the run crashed: its reason is on the run and on standard error
    2  usage or configuration error (no such schedule, bad --db)
    3  (--wait) the run ended incomplete, interrupted or stopped by its window: its
       finished results are imported
   75  nothing started: another run of NAME is going (its lease is held), or NAME's
       maintenance windows are all closed now (try again later)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from scanner.cli.service_parsers import db_url
from scanner.service import runner, schedules
from scanner.service.db import now, open_db

if TYPE_CHECKING:
    import argparse
    from datetime import datetime

    import sqlalchemy as sa

#: run-now refused: try again later (sysexits.h EX_TEMPFAIL)
BUSY = 75


def _engine(args: argparse.Namespace) -> sa.Engine:
    return open_db(db_url(args))


def _audit(engine: sa.Engine, action: str, subject: str) -> None:
    """Record the change in the audit log, as the dashboard does (actor `cli`)."""
    from scanner.service import audit

    with engine.begin() as conn:
        audit.record(conn, actor="cli", action=action, subject=subject)


def cmd_schedule_add(args: argparse.Namespace) -> int:
    options: dict[str, object] = {}
    if args.scan_delay is not None:
        options["scan_delay"] = args.scan_delay
    definition = schedules.Definition(
        targets=tuple(args.targets),
        ports=args.ports,
        profile=args.profile,
        formats=tuple(f.strip() for f in args.format.split(",") if f.strip()),
        options=options,
    )
    engine = _engine(args)
    try:
        made = schedules.add(
            engine,
            name=args.name,
            cron=args.cron,
            tz=args.tz,
            definition=definition,
            site=args.site,
            alerts=args.alert or (),
            drift_kinds=(args.drift_kinds or "").split(","),
            windows=[schedules.parse_window(w) for w in args.window or ()],
            jitter=args.jitter,
            baseline=args.baseline,
            drift_persist=args.drift_persist,
        )
        _audit(engine, "schedule.add", made.name)
    finally:
        engine.dispose()
    print(f"schedule {made.name}: next run {_local(made.next_run, made.tz)}")
    return 0


def _local(at: datetime | None, tz: str) -> str:
    if at is None:
        return "-"
    return at.astimezone(schedules.zone(tz)).strftime("%Y-%m-%d %H:%M %Z")


def cmd_schedule_list(args: argparse.Namespace) -> int:
    engine = _engine(args)
    try:
        found = schedules.list_all(engine)
    finally:
        engine.dispose()
    if not found:
        print("no schedules")
        return 0
    head = ("NAME", "CRON", "TZ", "NEXT RUN", "PAUSED", "LAST RUN", "WINDOWS")
    body = [
        (
            s.name,
            s.cron,
            s.tz,
            _local(s.next_run, s.tz),
            "yes" if s.paused else "no",
            s.last_run_id or "-",
            "; ".join(str(w) for w in s.windows) or "any time",
        )
        for s in found
    ]
    widths = [max(len(row[i]) for row in (head, *body)) for i in range(len(head))]
    for row in (head, *body):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_schedule_pause(args: argparse.Namespace) -> int:
    engine = _engine(args)
    try:
        schedules.pause(engine, args.name)
        _audit(engine, "schedule.pause", args.name)
    finally:
        engine.dispose()
    print(f"schedule {args.name}: paused")
    return 0


def cmd_schedule_resume(args: argparse.Namespace) -> int:
    engine = _engine(args)
    try:
        found = schedules.resume(engine, args.name)
        _audit(engine, "schedule.resume", args.name)
    finally:
        engine.dispose()
    print(f"schedule {args.name}: resumed, next run {_local(found.next_run, found.tz)}")
    return 0


def cmd_schedule_remove(args: argparse.Namespace) -> int:
    engine = _engine(args)
    try:
        schedules.remove(engine, args.name)
        _audit(engine, "schedule.remove", args.name)
    finally:
        engine.dispose()
    print(f"schedule {args.name}: removed (its runs are kept)")
    return 0


def cmd_schedule_run_now(args: argparse.Namespace) -> int:
    url = db_url(args)
    engine = open_db(url)
    try:
        found = schedules.require(engine, args.name)
        at = now()
        if not schedules.in_window(found.windows, at, found.tz):
            windows = "; ".join(str(w) for w in found.windows)
            print(
                f"shinsa: {found.name}: outside its maintenance windows ({windows}, {found.tz}); "
                "nothing started",
                file=sys.stderr,
            )
            return BUSY
        owner = runner.lease_owner("cli")
        prep = runner.prepare(engine, found, Path(args.data), trigger="run-now", owner=owner)
        if prep is None:
            holder = schedules.lease_holder(engine, found.id) or "another runner"
            print(
                f"shinsa: a run of {found.name} is going ({holder}); nothing started",
                file=sys.stderr,
            )
            return BUSY
        _audit(engine, "schedule.run-now", found.name)
        if not args.wait:
            pid = runner.start_detached(engine, url, prep)
            print(f"run {prep.run_id} started (pid {pid}); store {prep.out_dir}")
            print(prep.run_id)
            return 0
        deadline = schedules.window_close(found.windows, at, found.tz)
        outcome = runner.execute(engine, prep, deadline=deadline)
    finally:
        engine.dispose()
    print(f"run {outcome.run_id}: {outcome.status}")
    if outcome.reason or outcome.notes:
        print(f"  {'; '.join(x for x in (outcome.reason, *outcome.notes) if x)}", file=sys.stderr)
    print(outcome.run_id)
    return outcome.cli_exit_code
