"""Baselines: the state an operator accepted, that drift (scanner/service/drift.py) is
measured against.

A baseline row names a run, a site and a name ("default" unless given). Two scopes:

- a whole run (`device_id` NULL): every device of that run, as that run found it;
- one device (`device_id` set): that device's state in that run only.

For a device, its own active baseline wins over the site's whole-run one. Accepting a
whole run deactivates every older active baseline of the same name and site (its devices'
own ones included: the newer acceptance covers them); accepting one device deactivates only
that device's older ones. Rows are never deleted, so the history of acceptances stays (and
retention keeps the runs they name).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from scanner.errors import ConfigError
from scanner.service import schema as t
from scanner.service.audit import record
from scanner.service.db import now

#: runs that are still going have no state worth accepting or comparing yet
UNFINISHED = ("queued", "running")


@dataclass(frozen=True, slots=True)
class Accepted:
    id: int  # the new baselines row
    name: str
    site: str
    run_id: str
    device_id: int | None  # None: the whole run
    address: str  # the device's address in that run ("" for the whole run)
    deactivated: int  # older active rows of the same scope now inactive


@dataclass(frozen=True, slots=True)
class Baseline:
    """The active baseline that covers one device: its run, and whether it is the device's
    own (accepted with --device) or the site's whole-run one."""

    id: int
    run_id: str
    device_id: int | None


def resolve_run(engine: sa.Engine, run_id_or_latest: str) -> str:
    """A run ID as given, checked to exist; `latest`: the most recently started run that
    is not still going. ConfigError for an unknown run or an empty database."""
    r = t.runs
    with engine.connect() as conn:
        if run_id_or_latest == "latest":
            found = conn.execute(
                sa.select(r.c.id)
                .where(r.c.status.not_in(UNFINISHED))
                .order_by(r.c.started.desc(), r.c.id.desc())
                .limit(1)
            ).scalar()
            if found is None:
                raise ConfigError("no finished run in the database yet: nothing is latest")
            return str(found)
        found = conn.execute(sa.select(r.c.id).where(r.c.id == run_id_or_latest)).scalar()
    if found is None:
        raise ConfigError(f"run {run_id_or_latest!r} is not in the database")
    return str(found)


def accept(
    engine: sa.Engine,
    run_id_or_latest: str,
    *,
    device: str | None = None,
    by: str,
    name: str = "default",
) -> Accepted:
    """Accept a run (or, with `device`, the device at that address in it) as baseline
    `name` of the run's site; the acceptance is audited as `baseline.accept` by `by`."""
    run_id = resolve_run(engine, run_id_or_latest)
    b = t.baselines
    with engine.begin() as conn:
        run = conn.execute(
            sa.select(t.runs.c.site, t.runs.c.status).where(t.runs.c.id == run_id)
        ).one()
        if run.status in UNFINISHED:
            raise ConfigError(f"run {run_id} is {run.status}: accept it when it has finished")
        device_id: int | None = None
        address = ""
        if device is not None:
            found = conn.execute(
                sa.select(t.run_devices.c.device_id).where(
                    t.run_devices.c.run_id == run_id, t.run_devices.c.address == device
                )
            ).scalar()
            if found is None:
                raise ConfigError(f"run {run_id} has no device at {device}")
            device_id, address = int(found), device
        scope = (b.c.name == name) & (b.c.site == run.site) & b.c.active.is_(True)
        if device_id is not None:
            scope = scope & (b.c.device_id == device_id)
        deactivated = conn.execute(b.update().where(scope).values(active=False)).rowcount
        new = conn.execute(
            b.insert().values(
                name=name,
                site=run.site,
                run_id=run_id,
                device_id=device_id,
                accepted=now(),
                accepted_by=by,
                active=True,
            )
        ).inserted_primary_key
        if new is None:  # a dialect that gives no key back: a bug, not input
            raise RuntimeError("the database returned no ID for the new baseline")
        record(
            conn,
            actor=by,
            action="baseline.accept",
            subject=f"{name}: {run_id}" + (f" {address}" if address else ""),
            detail={"run_id": run_id, "device": address, "site": run.site},
        )
    return Accepted(int(new[0]), name, run.site, run_id, device_id, address, deactivated)


def active(conn: sa.Connection, *, site: str, name: str = "default") -> dict[int | None, Baseline]:
    """Every active baseline of `name` on `site`: device ID -> its own, None -> the
    whole-run one (if any). When several are active for one scope (written by hand, or by
    an older version), the most recent acceptance counts."""
    b = t.baselines
    rows = conn.execute(
        sa.select(b.c.id, b.c.run_id, b.c.device_id)
        .where(b.c.name == name, b.c.site == site, b.c.active.is_(True))
        .order_by(b.c.accepted, b.c.id)
    ).all()
    found: dict[int | None, Baseline] = {}
    for row in rows:  # later rows overwrite earlier ones: the newest wins
        key = int(row.device_id) if row.device_id is not None else None
        found[key] = Baseline(int(row.id), str(row.run_id), key)
    return found
