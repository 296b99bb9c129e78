"""Retention: deleting runs older than N days, except those a baseline names, and saying
how much space that freed (`shinsa db prune --older-than DAYS`).

A run's rows go with it (its run_devices, services, results, statuses, drift and alerts:
ON DELETE CASCADE). Devices stay: their identity keys and inventory outlive their old runs;
a device whose latest run went points at its newest remaining one (or none).

Space: SQLite files do not shrink by deleting rows, so the database is VACUUMed (and its
write-ahead log checkpointed) and the file's size measured before and after. PostgreSQL:
the sum of `pg_total_relation_size` over the tables that lost rows, before and after a
VACUUM FULL of those tables (which holds their lock while it rewrites them: prune is a
maintenance command, best run when no scan is being imported). Each pruned run's own store
directory under the data directory (`DATA/runs/NAME/RUN_ID`, scanner/service/runner.py) is
deleted too when it is given and no kept run's store lives there; its size counts.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from scanner.service import schema as t
from scanner.service.db import now as utc_now

#: the tables a run's deletion shrinks (the run and what cascades from it)
RUN_TABLES = (
    "runs",
    "run_devices",
    "services",
    "results",
    "requirement_status",
    "drift",
    "alerts",
)
#: run IDs deleted per statement (bind-parameter limits of SQLite and PostgreSQL)
CHUNK = 500


@dataclass(frozen=True, slots=True)
class Pruned:
    runs: int  # runs deleted
    bytes_freed: int  # database_bytes + files_bytes
    kept_for_baselines: int = 0  # old runs kept because a baseline names them
    database_bytes: int = 0  # the database's size before minus after
    files_bytes: int = 0  # per-run store directories deleted
    run_ids: tuple[str, ...] = ()


def prune(
    engine: sa.Engine,
    older_than_days: int,
    *,
    data_dir: Path | None = None,
    now: datetime | None = None,
) -> Pruned:
    """Delete the runs that started more than `older_than_days` days ago, except runs any
    baseline (active or not) names; see the module's docstring."""
    if older_than_days < 0:
        raise ValueError("older_than_days must be 0 or more")
    cutoff = (now or utc_now()) - timedelta(days=older_than_days)
    referenced = sa.select(t.baselines.c.run_id).where(t.baselines.c.run_id.is_not(None))
    with engine.connect() as conn:
        old = conn.execute(
            sa.select(t.runs.c.id, t.runs.c.store_path).where(t.runs.c.started < cutoff)
        ).all()
        baseline_runs = {str(r) for r in conn.execute(referenced).scalars()}
        doomed = [(str(r.id), str(r.store_path)) for r in old if str(r.id) not in baseline_runs]
        kept_paths = {
            str(p)
            for p in conn.execute(
                sa.select(t.runs.c.store_path).where(
                    t.runs.c.id.not_in([r for r, _ in doomed] or [""])
                )
            ).scalars()
        }
    kept_for_baselines = len(old) - len(doomed)
    if not doomed:
        return Pruned(0, 0, kept_for_baselines)
    ids = [r for r, _ in doomed]
    if engine.dialect.name == "sqlite":
        # the write-ahead log folded in first: what is measured is the data, not the log
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    before = database_size(engine)
    with engine.begin() as conn:
        touched: set[int] = set()
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            touched.update(
                int(d)
                for d in conn.execute(
                    sa.select(t.devices.c.id).where(t.devices.c.last_run_id.in_(chunk))
                ).scalars()
            )
            conn.execute(t.runs.delete().where(t.runs.c.id.in_(chunk)))
        for device_id in sorted(touched):
            _repoint(conn, device_id)
    reclaim(engine)
    database_bytes = max(0, before - database_size(engine))
    files_bytes = 0
    if data_dir is not None:
        for _, store_path in doomed:
            files_bytes += _remove_store_dir(data_dir, store_path, kept_paths)
    return Pruned(
        len(ids),
        database_bytes + files_bytes,
        kept_for_baselines,
        database_bytes,
        files_bytes,
        tuple(ids),
    )


def _repoint(conn: sa.Connection, device_id: int) -> None:
    """The device's newest remaining run (or none) as its latest."""
    latest = conn.execute(
        sa.select(t.run_devices.c.run_id)
        .where(t.run_devices.c.device_id == device_id)
        .order_by(t.run_devices.c.started.desc())
        .limit(1)
    ).scalar()
    conn.execute(t.devices.update().where(t.devices.c.id == device_id).values(last_run_id=latest))


def database_size(engine: sa.Engine) -> int:
    """Bytes the database holds on disk: the SQLite file (and its log), or the run tables'
    total relation sizes on PostgreSQL."""
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        if not path or path == ":memory:":
            return 0
        return sum(
            os.path.getsize(p)
            for p in (path, path + "-wal")
            if os.path.exists(p)  # the log exists only while connections are open
        )
    with engine.connect() as conn:
        total = conn.execute(
            sa.text(
                "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r' "
                "AND c.relname = ANY(:names)"
            ),
            {"names": list(RUN_TABLES)},
        ).scalar()
    return int(total or 0)


def reclaim(engine: sa.Engine) -> None:
    """Give the deleted rows' space back to the file system (see the module's docstring)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("VACUUM")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            # names from RUN_TABLES above, not input
            conn.exec_driver_sql("VACUUM FULL " + ", ".join(RUN_TABLES))


def _remove_store_dir(data_dir: Path, store_path: str, kept: set[str]) -> int:
    """Delete the directory of a pruned run's store when it lies inside `data_dir` and no
    kept run's store is in it; the bytes it held."""
    if not store_path:
        return 0
    store = Path(store_path)
    directory = store.parent
    root = data_dir.resolve()
    try:
        resolved = directory.resolve()
    except OSError:
        return 0
    if resolved == root or root not in resolved.parents or not resolved.is_dir():
        return 0  # outside the data directory (an imported OUT): the user's, not ours
    if any(Path(k).parent.resolve() == resolved for k in kept if k):
        return 0
    size = 0
    for dirpath, _dirs, files in os.walk(resolved):
        for name in files:
            with contextlib.suppress(OSError):
                size += os.lstat(os.path.join(dirpath, name)).st_size
    shutil.rmtree(resolved, ignore_errors=True)
    return size
