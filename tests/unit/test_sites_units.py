"""The sites' pieces that need no broker: the central store's keyed writes, the task
payload's checks, the broker URL's, the site names of target files, where a device goes."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from scanner.cli.app import main
from scanner.discovery.targets import parse_targets
from scanner.errors import ConfigError, ShinsaError
from scanner.model import Result, Service, Target, Verdict
from scanner.service import schema
from scanner.service.db import open_db
from scanner.sites import central, keys
from scanner.sites.tasks import Job, no_route
from tests.sites.runs import landed, task_store, wait_for

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    assert main(["db", "upgrade", "--db", url]) == 0
    return open_db(url)


def _result(verdict: Verdict, reason: str = "r") -> Result:
    return Result("web.x", "127.0.98.5", Service("tcp", 80, "http"), verdict, reason)


def test_a_final_result_is_never_overwritten_and_each_landing_is_counted(
    engine: sa.Engine, tmp_path: Path
):
    first = task_store(tmp_path / "first.sqlite", engine, "127.0.98.5")
    with first:
        first.add_result("run", _result(Verdict.ERROR, "timed out"))
        first.flush()
        first.add_result("run", _result(Verdict.PASS, "first"))
    # a redelivered task's second write of the check changes nothing
    with task_store(tmp_path / "second.sqlite", engine, "127.0.98.5") as second:
        second.add_result("run", _result(Verdict.FAIL, "second"))
    (landed,) = central.results_of(engine, "run", "127.0.98.5")
    assert landed.verdict is Verdict.PASS
    assert landed.reason == "first"
    with engine.connect() as conn:
        written = conn.execute(sa.select(schema.site_results.c.written)).scalar_one()
    assert written == 2  # the error, then the pass over it; the fail never landed


def test_a_task_claimed_after_it_ended_is_not_claimed_again(engine: sa.Engine):
    central.queue(engine, "run", {"127.0.98.5": "a"})
    assert central.claim_all(engine, "run", ["127.0.98.5"], "w1") == {"127.0.98.5": "queued"}
    assert central.settle(engine, "run", "127.0.98.5", "done")
    assert central.claim_all(engine, "run", ["127.0.98.5"], "w2") == {"127.0.98.5": "done"}
    assert central.claim_all(engine, "run", ["127.0.98.9"], "w2") == {}  # not this run's
    (row,) = central.tasks(engine, "run").values()
    assert (row.state, row.worker, row.attempts) == ("done", "w1", 1)
    # queued again (a --resume): the done device stays done, not sent again
    central.queue(engine, "run", {"127.0.98.5": "a", "127.0.98.6": "a"})
    states = {a: r.state for a, r in central.tasks(engine, "run").items()}
    assert states == {"127.0.98.5": "done", "127.0.98.6": "queued"}


def test_pending_never_replaces_an_ending(engine: sa.Engine):
    central.queue(engine, "run", {"127.0.98.5": "a"})
    central.settle(engine, "run", "127.0.98.5", "done")
    assert not central.settle(engine, "run", "127.0.98.5", "pending", reason="no worker")
    assert central.tasks(engine, "run")["127.0.98.5"].state == "done"


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {"version": "1"},
        {"version": "1", "run_id": "r", "site": "a", "targets": [], "request": {}, "digest": "d"},
        {"version": "1", "run_id": "r", "site": "a", "targets": [[]], "request": {}, "digest": "d"},
        # a payload of the one-device tasks before batches: refused, not half read
        {"version": "1", "run_id": "r", "site": "a", "target": ["127.0.98.5"], "request": {}},
    ],
)
def test_a_malformed_payload_is_refused(payload: object):
    with pytest.raises(ShinsaError, match="payload"):
        Job.from_json(payload)


def test_a_payload_round_trips_and_narrows_to_some_of_its_devices():
    rows = [["127.0.98.5", "cam", "", "a"], ["127.0.98.6", "", "", "a"]]
    job = Job("1", "r", "a", rows, {"ports": "T:80", "targets": rows}, "d", 5.0, None)
    assert Job.from_json(job.to_json()) == job
    one = job.only(["127.0.98.6"])
    assert one.addresses == ["127.0.98.6"]
    assert one.request == {"ports": "T:80", "targets": [["127.0.98.6", "", "", "a"]]}
    assert job.addresses == ["127.0.98.5", "127.0.98.6"]  # the original unchanged


def test_a_sites_devices_go_in_even_tasks_of_at_most_the_batch_never_mixing_sites():
    from scanner.sites.dispatch import batches

    sites = {f"127.0.98.{n}": "a" for n in range(10)} | {"127.0.99.1": "b"}
    sites["127.0.98.200"] = "b"
    got = batches(sites, 8)
    assert [(site, len(b)) for site, b in got] == [("a", 5), ("a", 5), ("b", 2)]
    assert [a for _, b in got for a in b] == [a for a, s in sites.items() if s == "a"] + [
        "127.0.99.1",
        "127.0.98.200",
    ]
    assert [len(b) for _, b in batches(sites, 1)] == [1] * 12
    assert [len(b) for _, b in batches({f"127.0.98.{n}": "a" for n in range(17)}, 8)] == [6, 6, 5]
    assert batches({}, 8) == []


def test_the_central_store_lands_a_devices_results_with_its_end_in_one_go(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(central, "FLUSH_SECONDS", 3600.0)  # only the ends land them
    with task_store(tmp_path / "t.sqlite", engine, "127.0.98.5", "127.0.98.6") as store:
        web = Service("tcp", 80, "http")
        store.add_result("run", Result("web.a", "127.0.98.5", web, Verdict.ERROR, "t/o"))
        store.add_result("run", Result("web.a", "127.0.98.6", web, Verdict.FAIL, "no"))
        store.add_result("run", Result("web.b", "127.0.98.5", web, Verdict.PASS, "ok"))
        # a final verdict over the error, then a later error: the final one is kept
        store.add_result("run", Result("web.a", "127.0.98.5", web, Verdict.PASS, "ok"))
        store.add_result("run", Result("web.a", "127.0.98.5", web, Verdict.ERROR, "late"))
        time.sleep(0.3)
        assert landed(engine) == {}  # nothing yet: no device has ended
        store.target_done("run", "127.0.98.5")
        # the ended device's results and its task row, together (from the writer thread);
        # the other's still held
        wait_for(
            "the end landed",
            lambda: central.tasks(engine, "run")["127.0.98.5"].state == "done",
            timeout=5,
            every=0.02,
        )
        assert landed(engine) == {("127.0.98.5", "web.a"): "pass", ("127.0.98.5", "web.b"): "pass"}
        assert central.tasks(engine, "run")["127.0.98.6"].state == "running"
    # the store closed (the task ended, or was stopped): what it held has landed
    assert landed(engine) == {
        ("127.0.98.5", "web.a"): "pass",
        ("127.0.98.5", "web.b"): "pass",
        ("127.0.98.6", "web.a"): "fail",
    }


def test_the_central_store_lands_results_every_flush_interval_and_a_failure_with_its_reason(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(central, "FLUSH_SECONDS", 0.1)
    with task_store(tmp_path / "t.sqlite", engine, "127.0.98.5") as store:
        store.add_result("run", _result(Verdict.FAIL))
        # the device still going: its result lands at the interval all the same
        wait_for(
            "the result landed",
            lambda: landed(engine) == {("127.0.98.5", "web.x"): "fail"},
            timeout=5,
            every=0.02,
        )
        assert central.tasks(engine, "run")["127.0.98.5"].state == "running"
        store.target_failed("run", "127.0.98.5", "device reset", "機器がリセットした")
    row = central.tasks(engine, "run")["127.0.98.5"]
    assert (row.state, row.reason, row.reason_ja) == (
        "failed",
        "device reset",
        "機器がリセットした",
    )


@pytest.mark.parametrize("url", ["", "http://x", "redis://", "amqp://h/"])
def test_a_broker_that_is_not_redis_is_refused(url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(keys.BROKER_VARIABLE, raising=False)
    with pytest.raises(ConfigError):
        keys.broker_url(url)


def test_the_broker_password_never_shows():
    shown = keys.masked("redis://:s3cret@127.0.98.1:6379/0")
    assert "s3cret" not in shown
    assert shown == "redis://:***@127.0.98.1:6379/0"
    assert keys.masked("rediss://shinsa:pw@h:1/0") == "rediss://shinsa:***@h:1/0"


def test_a_target_file_names_its_devices_site(tmp_path: Path):
    listing = tmp_path / "t.txt"
    listing.write_text("127.0.98.5 cam site=plant-a\n127.0.98.6\n127.0.98.7-8 site=plant-b\n")
    found = parse_targets([f"@{listing}"]).targets
    assert [(t.address, t.site) for t in found] == [
        ("127.0.98.5", "plant-a"),
        ("127.0.98.6", ""),
        ("127.0.98.7", "plant-b"),
        ("127.0.98.8", "plant-b"),
    ]
    for bad in ("127.0.98.5 site=", "127.0.98.5 site=a site=b", "127.0.98.5 site=a/b"):
        listing.write_text(bad + "\n")
        with pytest.raises(ConfigError, match="site"):
            parse_targets([f"@{listing}"])


def test_each_device_goes_to_its_own_site_else_the_runs():
    from scanner.sites.dispatch import sites_of

    class Request:
        targets = (Target("127.0.98.5", site="b"), Target("127.0.98.6"))

    assert sites_of(Request(), "a") == {"127.0.98.5": "b", "127.0.98.6": "a"}  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="no site"):
        sites_of(Request(), "")  # type: ignore[arg-type]


def test_a_loopback_device_has_a_route():
    assert no_route("127.0.98.5") == ""


def test_site_and_broker_options_need_each_other(capsys: pytest.CaptureFixture[str]):
    # --site alone needs --db (it names the service's site) unless --broker routes by it
    assert main(["scan", "127.0.98.5", "--site", "a", "--no-config"]) == 2
    assert "--db" in capsys.readouterr().err
    assert main(["scan", "127.0.98.5", "--broker", "http://x", "--no-config"]) == 2
    assert "redis://" in capsys.readouterr().err


def test_the_writer_waits_out_a_database_restart_and_says_when_it_gave_up(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    real = central.CentralStore._land
    refusals = {"left": 2}

    def restarting(self: central.CentralStore, conn: sa.Connection, item: object) -> None:
        if refusals["left"]:
            refusals["left"] -= 1
            raise sa.exc.OperationalError("INSERT", {}, Exception("the database is starting up"))
        real(self, conn, item)  # type: ignore[arg-type]

    monkeypatch.setattr(central.CentralStore, "_land", restarting)
    monkeypatch.setattr(central, "FLUSH_SECONDS", 3600.0)
    monkeypatch.setattr(time, "sleep", lambda _: None)  # the writer's pause between tries
    store = task_store(tmp_path / "t.sqlite", engine, "127.0.98.5")
    store.add_result("run", _result(Verdict.PASS))
    store.flush()  # refused twice, then landed
    assert refusals["left"] == 0
    assert landed(engine) == {("127.0.98.5", "web.x"): "pass"}
    # a database that stays away: the writer gives up, and the task hears it
    refusals["left"] = 10**6
    monkeypatch.setattr(central, "WRITE_PATIENCE", 0.0)
    store.add_result("run", Result("web.y", "127.0.98.5", None, Verdict.FAIL, "r"))
    with pytest.raises(sa.exc.OperationalError, match="starting up"):
        store.flush()
    # closing the store (the task ending) says it too, and lets its writer go
    with pytest.raises(sa.exc.OperationalError, match="starting up"):
        store.close()
    assert not store._writer.is_alive()
    assert ("127.0.98.5", "web.y") not in landed(engine)
