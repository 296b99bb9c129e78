"""The sites' central tables (scanner/sites/central.py) on both databases a deployment may
use: the login ledger's one-statement reservation and the central store's landing, which
the two answer differently (the rowcount of an INSERT ... SELECT is -1, unknown, on
PostgreSQL: bench/sites found the ledger letting every login through there while SQLite's
tests passed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scanner.model import Result, Service, Verdict
from scanner.sites import central
from tests.sites.runs import landed, task_store

if TYPE_CHECKING:
    from pathlib import Path

    import sqlalchemy as sa


def test_the_central_ledger_takes_a_slot_only_under_the_limit_and_gives_back_the_runs_latest(
    any_engine: sa.Engine, tmp_path: Path
) -> None:
    engine = central.unsynced_commits(any_engine)
    a = central.CentralStore(tmp_path / "a.sqlite", engine, "w1")
    b = central.CentralStore(tmp_path / "b.sqlite", engine, "w2")
    try:
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
    finally:
        a.close()
        b.close()


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
