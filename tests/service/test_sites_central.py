"""The sites' central tables (scanner/sites/central.py) on both databases a deployment may
use: the login ledger's reservations and the central store's landing, which the two
answer differently (the rowcount of an INSERT ... SELECT is -1, unknown, on
PostgreSQL: bench/sites found the ledger letting every login through there while SQLite's
tests passed)."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
import sqlalchemy as sa

from scanner.model import Result, Service, Verdict
from scanner.service import migrate, schema
from scanner.service.db import open_db
from scanner.sites import central
from tests.service.postgres import SUPERUSER, Cluster
from tests.sites.runs import landed, started_store, task_store

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def two_stores(
    any_engine: sa.Engine, tmp_path: Path
) -> Iterator[tuple[central.CentralStore, central.CentralStore]]:
    """Two workers' task stores (w1, w2) on one central database."""
    engine = central.unsynced_commits(any_engine)
    a = central.CentralStore(tmp_path / "a.sqlite", engine, "w1")
    b = central.CentralStore(tmp_path / "b.sqlite", engine, "w2")
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def test_the_central_ledger_takes_a_slot_only_under_the_limit_and_gives_back_the_runs_latest(
    two_stores: tuple[central.CentralStore, central.CentralStore],
) -> None:
    a, b = two_stores
    device = "127.0.98.5"
    assert a.reserve_login(device, "admin", "run-1", 2, 3600)
    assert a.reserve_login(device, "admin", "run-1", 2, 3600)
    # the limit holds across stores (another worker's task, another run)
    assert not b.reserve_login(device, "admin", "run-2", 2, 3600)
    assert b.reserve_login(device, "root", "run-2", 2, 3600)  # another account
    assert b.login_failures(device, "admin", 3600) == 2
    a.release_login(device, "admin", "run-1")  # a login that did not fail
    assert b.login_failures(device, "admin", 3600) == 1
    assert b.reserve_login(device, "admin", "run-2", 2, 3600)
    b.release_login(device, "admin", "run-1")  # run-1's latest held one given back
    assert a.login_failures(device, "admin", 3600) == 1
    # slots older than the window do not count
    assert a.login_failures(device, "admin", -1) == 0


def test_a_plan_is_reserved_in_one_call_against_what_every_run_holds(
    two_stores: tuple[central.CentralStore, central.CentralStore],
) -> None:
    a, b = two_stores
    device = "127.0.98.6"
    names = ["admin", "admin", "root", "admin", "root", "guest"]
    assert a.reserve_logins(device, "run-1", names, 2, 4, 3600) == [
        True, True, True, False, True, False
    ]  # fmt: skip
    assert b.reserve_logins(device, "run-2", names, 3, 10, 3600) == [
        True, False, True, False, False, True
    ]  # fmt: skip
    assert [a.login_failures(device, u, 3600) for u in ("admin", "root", "guest")] == [3, 3, 1]
    # run-1's two latest admin slots given back, not run-2's
    a.release_logins(device, "run-1", ["admin", "admin", "admin", "guest"])
    assert [a.login_failures(device, u, 3600) for u in ("admin", "root", "guest")] == [1, 3, 1]
    assert b.reserve_logins(device, "run-2", ["admin"] * 3, 3, 3, 3600) == [True, True, False]
    assert b.reserve_logins(device, "run-2", [], 3, 3, 3600) == []


def test_a_reservation_waits_for_another_runs_on_the_same_device_and_counts_its_slots(
    postgres_engine: sa.Engine, tmp_path: Path
) -> None:
    """Two runs may scan one device at once (a device's lock is per run, tasks.py). While
    another worker's reservation is between its count and its commit, holding the device's
    advisory lock as reserve_logins does, a second one waits for it and then counts the
    slots it took: without the lock it would count none and exceed the limit."""
    engine = central.unsynced_commits(postgres_engine)
    store = central.CentralStore(tmp_path / "a.sqlite", engine, "w1")
    device = "127.0.98.7"
    got: list[list[bool]] = []
    try:
        with engine.connect() as other:
            other.execute(sa.select(sa.func.pg_advisory_xact_lock(central._lock_id(device))))
            other.execute(
                schema.site_logins.insert(),
                [{"address": device, "username": "admin", "run_id": "run-2", "at": time.time(),
                  "held": True}] * 4,
            )  # fmt: skip
            waiting = threading.Thread(
                target=lambda: got.append(
                    store.reserve_logins(device, "run-1", ["admin"], 4, 1, 3600)
                )
            )
            waiting.start()
            waiting.join(timeout=1.0)
            assert waiting.is_alive()  # it waits for the other's commit
            assert not got
            other.commit()
        waiting.join(timeout=30)
        assert got == [[False]]
        assert store.login_failures(device, "admin", 3600) == 4
    finally:
        store.close()


def test_a_devices_results_land_with_its_end_and_a_final_one_is_never_overwritten(
    any_engine: sa.Engine, tmp_path: Path
) -> None:
    engine = central.unsynced_commits(any_engine)
    web = Service("tcp", 80, "http")
    store = task_store(tmp_path / "t.sqlite", engine, "127.0.98.5")
    try:
        # several results in one landing (one statement for all of them)
        for check in ("web.a", "web.b", "web.c"):
            store.add_result("run", Result(check, "127.0.98.5", web, Verdict.PASS, "ok"))
        store.target_done("run", "127.0.98.5")
        store.flush()
        row = central.tasks(engine, "run")["127.0.98.5"]
        assert row.state == "done"
        assert landed(engine) == {("127.0.98.5", c): "pass" for c in ("web.a", "web.b", "web.c")}
        # a later attempt's landing over them changes nothing final
        store.add_result("run", Result("web.a", "127.0.98.5", web, Verdict.FAIL, "again"))
        store.flush()
        assert landed(engine)[("127.0.98.5", "web.a")] == "pass"
    finally:
        store.close()


def test_a_sites_role_from_the_deployment_script_does_a_workers_job_and_no_more(
    postgres: Cluster, tmp_path: Path
) -> None:
    """deploy/postgres-sites.sql run by psql as docs/sites.md says, then every write and
    read of a worker made as a site's login role, and what it must not do refused."""
    owner_url = postgres.url("shinsa")  # the script grants CONNECT on the database `shinsa`
    with psycopg.connect(postgres.url(), autocommit=True, connect_timeout=10) as admin:
        admin.execute('DROP DATABASE IF EXISTS "shinsa" WITH (FORCE)')
        admin.execute('CREATE DATABASE "shinsa"')
    owner = open_db(owner_url)
    site_engine: sa.Engine | None = None
    try:
        migrate.upgrade(owner)
        psql = subprocess.run(
            [str(postgres.bin / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", owner_url,
             "-f", str(ROOT / "deploy" / "postgres-sites.sql")],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert psql.returncode == 0, psql.stderr
        with owner.begin() as conn:
            conn.execute(sa.text("DROP ROLE IF EXISTS shinsa_site_plant_a"))
            conn.execute(sa.text("CREATE ROLE shinsa_site_plant_a LOGIN IN ROLE shinsa_site"))
        central.queue(owner, "run", {"127.0.98.8": "plant-a"})
        site_url = owner_url.replace(f"{SUPERUSER}@", "shinsa_site_plant_a@")
        site_engine = central.unsynced_commits(open_db(site_url))
        # a worker's whole job
        migrate.require_head(site_engine)
        assert central.claim_all(site_engine, "run", ["127.0.98.8"], "w1") == {
            "127.0.98.8": "queued"
        }
        store = started_store(tmp_path / "t.sqlite", site_engine, "127.0.98.8")
        try:
            assert store.reserve_logins("127.0.98.8", "run", ["admin"] * 3, 2, 3, 3600) == [
                True, True, False
            ]  # fmt: skip
            store.release_logins("127.0.98.8", "run", ["admin"])
            assert store.login_failures("127.0.98.8", "admin", 3600) == 1
            web = Service("tcp", 80, "http")
            store.add_result("run", Result("web.a", "127.0.98.8", web, Verdict.PASS, "ok"))
            store.target_done("run", "127.0.98.8")
            store.flush()
        finally:
            store.close()
        assert central.tasks(site_engine, "run")["127.0.98.8"].state == "done"
        assert [r.check_id for r in central.results_of(site_engine, "run", "127.0.98.8")] == [
            "web.a"
        ]
        # and no more
        refused = [
            "SELECT * FROM runs",
            "SELECT * FROM users",
            "INSERT INTO site_tasks (run_id, address, site, state, worker, attempts, reason, "
            "reason_ja, services, identity, updated) VALUES ('run', '127.0.98.9', 'plant-a', "
            "'queued', '', 0, '', '', '[]', '[]', now())",
            "DELETE FROM site_tasks",
            "UPDATE site_tasks SET site = 'plant-b'",
            "DELETE FROM site_results",
            "DELETE FROM site_logins",
            "CREATE TABLE mine (x int)",
            "UPDATE alembic_version SET version_num = 'x'",
        ]
        for statement in refused:
            with site_engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError) as denied:
                conn.execute(sa.text(statement))
            assert "permission denied" in str(denied.value), statement
    finally:
        if site_engine is not None:
            site_engine.dispose()
        owner.dispose()
        with psycopg.connect(postgres.url(), autocommit=True, connect_timeout=10) as admin:
            admin.execute('DROP DATABASE IF EXISTS "shinsa" WITH (FORCE)')
            admin.execute("DROP ROLE IF EXISTS shinsa_site_plant_a")
