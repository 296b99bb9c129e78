"""`shinsa scan ... --db URL [--baseline NAME] [--alert CHANNEL]...`: a scheduled scan on a
single box, without the service (docs/operation.md: cron and systemd-timer recipes).

After the scan has written its reports, the run is imported into the service's database
(`shinsa import`'s importer, trigger "cli"), its drift computed against baseline NAME of the
site and the previous run of the site, stored, and each --alert channel sent what drifted
(the service's outbox: retried with back-off by the next scan or the service; never lost).

Imported by the scan command only when --db is given, so that a plain scan never loads the
service's libraries (SQLAlchemy, the alert senders)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from scanner.service import drift, migrate
from scanner.service.alerts import outbox
from scanner.service.alerts.channels import parse_channel
from scanner.service.db import open_db
from scanner.service.importer import import_run

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path


@dataclass(frozen=True, slots=True)
class Recorded:
    run_id: str
    drifts: list[drift.Drift]
    alerts: int  # alert rows written (one per channel when something drifted)
    sent: int  # alerts delivered now (the others are retried later)


def check(url: str, channels: Sequence[str]) -> None:
    """Before the scan: the database opens and has (or is given) this version's schema,
    and every channel spec is valid. A ConfigError names what is wrong."""
    for spec in channels:
        parse_channel(spec)
    engine = open_db(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()


def record(
    url: str,
    store_path: Path,
    run_id: str,
    *,
    site: str,
    baseline: str,
    channels: Sequence[str],
    persist: int = drift.DEFAULT_PERSIST,
) -> Recorded:
    """Import the finished run, store its drift and raise its alerts (module docstring)."""
    engine = open_db(url)
    try:
        import_run(engine, store_path, run_id, site=site, trigger="cli")
        found = drift.compute_and_store(engine, run_id, baseline=baseline, persist=persist)
        ids: list[int] = []
        sent = 0
        if channels:
            ids = outbox.enqueue(
                engine,
                run_id=run_id,
                schedule_id=None,
                channels=list(channels),
                drifts=found,
                kinds=[],
            )
        # alerts of earlier runs whose retry time has come go out too
        sent = outbox.deliver_due(engine)
    finally:
        engine.dispose()
    return Recorded(run_id, found, len(ids), sent)


def summary(r: Recorded, baseline: str) -> str:
    against = {"baseline": 0, "previous": 0}
    for d in r.drifts:
        against[d.against] = against.get(d.against, 0) + 1
    text = (
        f"drift of run {r.run_id}: {against['baseline']} change(s) against baseline "
        f"{baseline!r}, {against['previous']} against the previous run"
    )
    if r.alerts:
        text += f"; {r.alerts} alert(s) raised, {r.sent} sent now"
    return text
