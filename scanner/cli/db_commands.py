"""`shinsa db upgrade`, `shinsa db prune` and `shinsa import` (scanner/cli/service_parsers.py
holds their options). Each reads the database from --db or $SHINSA_DB.

`db upgrade` creates the schema or brings it to this version (scanner/service/migrate.py);
`prune` and `import` refuse a database that is not at this version and say to upgrade it,
rather than change a schema the operator did not ask to change.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from scanner.cli.service_parsers import DEFAULT_DATA, db_url
from scanner.errors import ConfigError
from scanner.service import migrate
from scanner.service.db import mask_url, open_db

if TYPE_CHECKING:
    import argparse


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    url = db_url(args)
    engine = open_db(url)
    try:
        before = migrate.current(engine)
        migrate.upgrade(engine)
        after = migrate.current(engine)
    finally:
        engine.dispose()
    if before == after:
        print(f"{mask_url(url)}: already at schema revision {after}")
    else:
        print(f"{mask_url(url)}: schema revision {before or '(none)'} -> {after}")
    return 0


def cmd_db_prune(args: argparse.Namespace) -> int:
    from scanner.service.retention import prune

    days = int(args.older_than)
    if days < 0:
        raise ConfigError("--older-than: give a number of days, 0 or more")
    data = Path(getattr(args, "data", None) or DEFAULT_DATA)
    if not data.is_dir() and str(data) != DEFAULT_DATA:  # a directory named, and not there
        raise ConfigError(f"--data {data}: no such directory (the service's --data)")
    engine = open_db(db_url(args))
    try:
        migrate.require_head(engine)
        pruned = prune(engine, days, data_dir=data if data.is_dir() else None)
    finally:
        engine.dispose()
    print(f"runs deleted: {pruned.runs}")
    if pruned.kept_for_baselines:
        print(f"older runs kept for baselines: {pruned.kept_for_baselines}")
    print(
        f"bytes freed: {pruned.bytes_freed} (database {pruned.database_bytes}, "
        f"run stores {pruned.files_bytes})"
    )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from scanner.cli.runs import resolve
    from scanner.service.importer import import_run
    from scanner.store import Store

    out = Path(args.out)
    store_path = out / "shinsa.sqlite"
    if not store_path.is_file():
        raise ConfigError(f"{out}: no shinsa.sqlite here (give a `shinsa scan --out` directory)")
    with Store(store_path, create=False) as store:
        known = [r.id for r in store.runs()]
        wanted = [resolve(store, r) for r in args.run] if args.run else known
    missing = [r for r in wanted if r not in known]
    if missing:
        raise ConfigError(f"{store_path} holds no run {', '.join(missing)}")
    if not wanted:
        print(f"{store_path}: no runs to import")
        return 0
    engine = open_db(db_url(args))
    try:
        migrate.require_head(engine)
        for run_id in dict.fromkeys(wanted):
            done = import_run(engine, store_path.resolve(), run_id, site=args.site)
            print(
                f"imported {run_id}: {len(done.devices)} devices "
                f"({len(done.new_devices)} new) into site {args.site}"
            )
    finally:
        engine.dispose()
    return 0
